"""Pieces the pages share: a sub-view chooser that computes only what is shown, and clicks (a chart point, a
heatmap cell, a table row) that open the instances behind them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
import streamlit as st

from analysis import Filter
from analysis.plots import keys_of

from .. import state

if TYPE_CHECKING:  # for annotations only: streamlit.typing is newer than the oldest Streamlit this supports
    from streamlit.typing import PlotlyState


def choose(label: str, options: dict[str, str], default: str, key: str = "view") -> str:
    """One of several sub-views (a segmented control); only the chosen one is computed. It rides in the URL."""
    if default not in options:
        default = next(iter(options))
    current = state.view(key, default)
    if current not in options:  # a link with a value this control does not offer: its default
        current = default
    widget = f"w_choose_{key}"
    if st.session_state.get(f"{widget}_from") != current:  # a link set it: the control follows
        st.session_state[widget] = current
        st.session_state[f"{widget}_from"] = current
    picked = (
        st.segmented_control(
            label,
            list(options),
            format_func=lambda o: options.get(o, ""),  # the options are its keys (none other gets a label)
            key=widget,
            selection_mode="single",
        )
        or current
    )
    if picked != current:
        state.set_view(**{key: picked})
        st.session_state[f"{widget}_from"] = picked
    return picked


def clicked(event: PlotlyState) -> list[list]:
    """The keys of the points a plotly click selected (our charts put them in customdata; see
    analysis/plots.click_layer)."""
    try:
        points = event.selection.points if event and event.selection else []
    except AttributeError:
        return []
    out = []
    for p in points:
        keys = keys_of(p.get("customdata"))
        if keys:
            out.append(keys)
    return out


def open_clicked(
    event: PlotlyState, to_filter: Callable[[list], Filter], page: str = "instances", **view_params: object
) -> None:
    """A click on a chart opens `page` with the filter made from the clicked cell's keys."""
    cells = clicked(event)
    if cells:
        state.go(page, to_filter(cells[0]), **view_params)


def table_click(
    frame: pl.DataFrame,
    key: str,
    to_target: Callable[[dict[str, Any]], tuple[str, Filter, dict[str, Any]]],
    column_config: dict | None = None,
    height: int | Literal["auto", "stretch", "content"] = "auto",
) -> None:
    """A table whose rows open their evidence: to_target(row) -> (page, filter, view params)."""
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        column_config=column_config,
        height=height,
    )
    rows = event.selection.rows if event and event.selection else []
    if rows:
        page, flt, params = to_target(frame.row(rows[0], named=True))
        state.go(page, flt, **params)
