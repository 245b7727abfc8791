"""Compare: two models (or two judges) side by side: issue prevalence difference with intervals, and
the items where their scores differ most."""

from __future__ import annotations

import streamlit as st

from analysis import Filter, UserError, Workspace

from ..state import md_escape, set_compare


def render(ws: Workspace, flt: Filter, pair: tuple[str | None, str | None] = (None, None), by: str = "model") -> None:
    st.header("Compare")
    by_url = by
    by = st.radio("Compare two", ["model", "judge"], index=["model", "judge"].index(by), horizontal=True,
                  key="js_cmp_by")
    options = ws.values(by, flt)
    if len(options) < 2:
        st.info(md_escape(f"Fewer than two {by}s match {flt.describe()}."))
        return
    a0 = pair[0] if pair[0] in options else options[0]
    b0 = pair[1] if pair[1] in options and pair[1] != a0 else next(o for o in options if o != a0)
    c1, c2 = st.columns(2)
    a = c1.selectbox("A", options, index=options.index(a0), key="js_cmp_a")
    b = c2.selectbox("B", options, index=options.index(b0), key="js_cmp_b")
    if (a, b, by) != (pair[0], pair[1], by_url):
        set_compare(a, b, by)  # into the link, then redraw with it
        st.rerun()
    if a == b:
        st.warning("Pick two different ones.")
        return
    if ws.issue_sets().height:
        try:
            diff = ws.compare(a, b, by, flt.issue_set)
            st.subheader("Issue prevalence, A minus B")
            st.dataframe(diff.select("issue_id", "title", "share_a", "share_b", "difference", "ci_low", "ci_high"),
                         hide_index=True, width="stretch",
                         column_config={c: st.column_config.NumberColumn(format="percent")
                                        for c in ("share_a", "share_b", "difference", "ci_low", "ci_high")})
        except UserError as exc:
            st.caption(md_escape(str(exc)))
    else:
        st.caption("No issue set yet: issue prevalence appears here once one is discovered.")
    st.subheader("Items where their scores differ most")
    st.dataframe(ws.compare_instances(a, b, by, flt), hide_index=True, width="stretch")
