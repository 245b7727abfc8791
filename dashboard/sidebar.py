"""The sidebar: one widget per kind of Filter field (their state in dashboard/state.py), the conditions that
came from a link or a click as removable chips, and the link to this view."""

from __future__ import annotations

import dataclasses
import zlib

import polars as pl
import streamlit as st

from analysis import Filter, Workspace

from . import state
from .state import md_escape

ISSUE_MODES = {
    "issue": "has any of",
    "issue_all": "has all of",
    "issue_none": "has none of",
    "issue_only": "has only these",
}
LABELS = {
    "": "(no condition)",
    "any": "has a label",
    "none": "has no label",
    "disagree": "a label disagrees with the judge",
}


def render(ws: Workspace, page_path: str) -> None:
    flt = state.selection()
    with st.sidebar:
        st.subheader("Selection")
        for field, label in state.LIST_WIDGETS.items():
            options = state.values(ws, field)
            if not options:
                continue
            st.multiselect(
                label, options, key=f"w_{field}", on_change=state.from_widget, args=(field,), format_func=str
            )
        c1, c2 = st.columns(2)
        c1.number_input(
            "Score ≥", value=None, key="w_score_min", step=1.0, on_change=state.from_widget, args=("score_min",)
        )
        c2.number_input(
            "Score ≤", value=None, key="w_score_max", step=1.0, on_change=state.from_widget, args=("score_max",)
        )
        st.text_input("Search critiques, prompts, responses", key="w_q", on_change=state.from_widget, args=("q",))
        st.selectbox(
            "Human or gold label",
            list(LABELS),
            format_func=lambda v: LABELS.get(v, ""),  # the options are its keys (none other gets a label)
            key="w_label",
            on_change=state.from_widget,
            args=("label",),
        )
        probes = state.values(ws, "probe")
        if probes or flt.probe:
            st.multiselect(
                "Bias-probe variants (left out unless chosen)",
                ["any", *probes],
                key="w_probe",
                on_change=state.from_widget,
                args=("probe",),
            )
        _issue_conditions(ws, flt)
        _meta_facets(ws, flt)
        _chips(flt)
        if not flt.is_empty():
            st.button("Clear the selection", on_click=state.clear_selection, key="w_clear")


def _issue_conditions(ws: Workspace, flt: Filter) -> None:
    sets = state.cached(_sets)
    if sets.height == 0:
        return
    set_id = flt.issue_set if flt.issue_set in sets["issue_set_id"].to_list() else sets["issue_set_id"][0]
    table = state.cached(_titles, set_id)
    titles = dict(zip(table["issue_id"], table["title"]))
    st.session_state["w_issue_ids"] = [i for i in st.session_state.get("w_issue_ids", []) if i in titles]
    n = len(st.session_state["w_issue_ids"])
    with st.expander("Issues" + (f" ({n})" if n else "")):
        st.radio(
            "Judgments that",
            list(ISSUE_MODES),
            format_func=ISSUE_MODES.get,
            key="w_issue_mode",
            on_change=state.from_widget,
            args=("issue_mode",),
        )
        st.multiselect(
            "Issues",
            list(titles),
            format_func=lambda i: f"{i}. {titles[i][:50]}",
            key="w_issue_ids",
            on_change=state.from_widget,
            args=("issue_ids",),
        )
        st.caption(md_escape(f"of issue set {set_id}"))


def _sets(ws: Workspace) -> pl.DataFrame:
    return ws.issues.sets()


def _titles(ws: Workspace, set_id: str) -> pl.DataFrame:
    return ws.issues.get(set_id).table(kind=None).select("issue_id", "title")


def _meta_facets(ws: Workspace, flt: Filter) -> None:
    meta = dict(flt.meta)
    with st.expander("Metadata facets" + (f" ({len(meta)})" if meta else "")):
        keys = state.cached(_meta_keys)
        if not st.session_state.get("w_meta_key") and meta and next(iter(meta)) in keys:
            st.session_state["w_meta_key"] = next(iter(meta))  # open on the facet the selection already uses
        key = st.selectbox("Facet", [""] + keys, format_func=lambda k: k or "(choose a facet)", key="w_meta_key")
        if key:
            options = state.cached(_meta_values, key)
            widget = f"w_meta_{zlib.crc32(key.encode())}"
            st.multiselect(
                md_escape(f"{key} is any of"),
                options,
                default=[v for v in meta.get(key, ()) if v in options],
                key=widget,
                on_change=_meta_changed,
                args=(key, widget),
            )


def _meta_changed(key: str, widget: str) -> None:
    """The facet's values into the selection, on a change by the user only (a value of the link that is not
    among the options stays in the selection until the user changes this facet)."""
    chosen = tuple(st.session_state.get(widget) or ())
    flt = state.selection()
    state.set_selection(state.narrowed(meta={key: chosen}) if chosen else _without_meta(flt, key))


def _without_meta(flt: Filter, key: str) -> Filter:
    return dataclasses.replace(flt, meta=tuple((k, v) for k, v in flt.meta if k != key))


def _meta_keys(ws: Workspace) -> list[str]:
    return ws.meta_keys()


def _meta_values(ws: Workspace, key: str) -> list[str]:
    return ws.meta_values(key)


def _chips(flt: Filter) -> None:
    """Conditions without a widget of their own (from a link or a click: protocol, swap, won, item, …)."""
    chips = [(f, v) for f in state.CHIP_FIELDS for v in getattr(flt, f)]
    chips += [("meta", k) for k, _ in flt.meta]
    chips += [(f, getattr(flt, f)) for f in ("norm_min", "norm_max") if getattr(flt, f) is not None]
    if flt.issue_set:
        chips.append(("issue_set", flt.issue_set))
    if not chips:
        return
    st.caption("Also selected")
    for i, (field, value) in enumerate(chips):
        shown = (
            f"{value} = {', '.join(dict(flt.meta)[value])}"
            if field == "meta"
            else f"issue set {value}"
            if field == "issue_set"
            else f"normalised score {'≥' if field == 'norm_min' else '≤'} {value:.3g}"
            if field.startswith("norm_")
            else f"{field} = {value}"
        )
        st.button(
            md_escape(f"✕ {shown}"),
            key=f"w_chip_{i}_{field}",
            on_click=state.drop_condition,
            args=(field, value),
            help="remove this condition",
        )
