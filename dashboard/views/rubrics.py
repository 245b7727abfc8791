"""Rubrics: criterion × model and × judge (click a cell for its instances), score distributions per criterion,
criterion redundancy, judge-minus-human offsets."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import Workspace

from .. import state
from ..state import md_escape
from .common import choose, open_clicked


def render(ws: Workspace) -> None:
    flt = state.selection()
    st.header("Rubrics")
    st.caption(md_escape(f"Per-criterion scores on {flt.describe()}."))
    crit = state.cached(_breakdown, "model", flt)
    if crit.height == 0 or set(crit["criterion"]) == {"overall"}:
        st.info("These judgments carry no rubric criteria (every score is an overall one).")
        return
    by = choose("Criterion by", {"model": "model", "judge": "judge"}, "model", key="by")
    event = st.plotly_chart(state.cached(_heatmap, by, flt), width="stretch", key="crit_heat", on_select="rerun",
                            selection_mode="points")
    open_clicked(event, lambda cell: state.narrowed(criterion=[cell[0]], **{by: [cell[1]]}))
    st.caption("Click a cell to open its judgments.")
    st.plotly_chart(state.cached(_distribution, flt), width="stretch", key="crit_dist")
    corr = state.cached(_correlation, flt)
    st.subheader("Criterion redundancy")
    if corr.height == 0:
        st.caption("No two criteria were scored on the same ten or more responses.")
    else:
        red = corr.filter(pl.col("redundant"))
        if red.height:
            st.warning(md_escape(f"{red.height} pair(s) of criteria are near-redundant (|Spearman| ≥ 0.9)"))
        st.plotly_chart(state.cached(_corr_heatmap, flt), width="stretch", key="crit_corr")
        st.dataframe(corr, hide_index=True, width="stretch")
    offsets = state.cached(_offsets, flt)
    if offsets.height:
        st.subheader("Judge minus human, per criterion")
        st.dataframe(offsets, hide_index=True, width="stretch")


def _breakdown(ws, by, flt):
    return ws.criteria_breakdown(by, flt)


def _heatmap(ws, by, flt):
    return ws.criteria_heatmap(by, flt)


def _distribution(ws, flt):
    return ws.score_distribution("criterion", flt)


def _correlation(ws, flt):
    return ws.criterion_correlation(flt)


def _corr_heatmap(ws, flt):
    return ws.criterion_correlation_heatmap(flt)


def _offsets(ws, flt):
    return ws.criterion_offsets(flt)
