"""Compare: two models (or two judges) on the selection: issue prevalence difference with intervals (click a row:
the instances of A with that issue), and the items where their scores differ most (click: the two judgments)."""

from __future__ import annotations

import streamlit as st

from analysis import UserError, Workspace

from .. import state
from ..state import md_escape
from .common import choose, table_click


def render(ws: Workspace) -> None:
    flt = state.selection()
    st.header("Compare")
    st.caption(md_escape(f"Two models or judges within {flt.describe()}."))
    by = choose("Compare two", {"model": "models", "judge": "judges"}, state.view("compare_by", "model"),
                key="compare_by")
    options = state.cached(_values, by, flt)
    if len(options) < 2:
        st.info(md_escape(f"Fewer than two {by}s match {flt.describe()}."))
        return
    a0 = state.view("compare_a") if state.view("compare_a") in options else options[0]
    b0 = state.view("compare_b") if state.view("compare_b") in options and state.view("compare_b") != a0 else \
        next(o for o in options if o != a0)
    c1, c2 = st.columns(2)
    a = c1.selectbox("A", options, index=options.index(a0), key="w_cmp_a")
    b = c2.selectbox("B", options, index=options.index(b0), key="w_cmp_b")
    state.set_view(compare_a=a, compare_b=b)
    if a == b:
        st.warning("Pick two different ones.")
        return
    sets = state.cached(_sets)
    if sets.height:
        set_id = flt.issue_set if flt.issue_set in sets["issue_set_id"].to_list() else sets["issue_set_id"][0]
        try:
            diff = state.cached(_diff, set_id, a, b, by, flt)
            st.subheader("Issue prevalence, A minus B")
            st.caption(md_escape(f"Issue set {set_id}, within {flt.describe()}. Click a row to open A's instances "
                                 "with that issue."))
            table_click(diff.select("issue_id", "title", "category_title", "share_a", "share_b", "difference",
                                    "ci_low", "ci_high"), "w_cmp_diff",
                        lambda r: ("instances", state.narrowed(issue_set=set_id, issue=[r["issue_id"]], **{by: [a]}), {}),
                        column_config={c: st.column_config.NumberColumn(format="percent")
                                       for c in ("share_a", "share_b", "difference", "ci_low", "ci_high")})
        except UserError as exc:
            st.caption(md_escape(str(exc)))
    else:
        st.caption("No issue set yet: issue prevalence appears here once one is discovered.")
    st.subheader("Items where their scores differ most")
    items = state.cached(_items, a, b, by, flt)
    table_click(items, "w_cmp_items", lambda r: ("instances", flt, {"instance": r["judgment_a"]}),
                column_config={"judgment_a": None, "judgment_b": None, "item_id": None})


def _values(ws, by, flt):
    return ws.values(by, flt)


def _sets(ws):
    return ws.issue_sets()


def _diff(ws, set_id, a, b, by, flt):
    return ws.compare(a, b, by, issue_set=set_id, filter=flt)


def _items(ws, a, b, by, flt):
    return ws.compare_instances(a, b, by, flt)
