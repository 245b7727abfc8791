"""Rubrics: criterion × model and × judge, score distributions per criterion, criterion redundancy."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import Filter, Workspace

from ..state import md_escape


def render(ws: Workspace, flt: Filter) -> None:
    st.header("Rubrics")
    st.caption(md_escape(f"Per-criterion scores on {flt.describe()}."))
    crit = ws.criteria_breakdown("model", flt)
    if crit.height == 0 or crit["criterion"].n_unique() == 1 and crit["criterion"][0] == "overall":
        st.info("These judgments carry no rubric criteria.")
    by = st.radio("Criterion by", ["model", "judge"], horizontal=True, key="js_rubric_by")
    st.plotly_chart(ws.criteria_heatmap(by, flt), width="stretch", key="crit_heat")
    st.plotly_chart(ws.score_distribution("criterion", flt), width="stretch", key="crit_dist")
    corr = ws.criterion_correlation(flt)
    st.subheader("Criterion redundancy")
    if corr.height == 0:
        st.caption("No two criteria were scored on the same ten or more responses.")
    else:
        red = corr.filter(pl.col("redundant"))
        if red.height:
            st.warning(md_escape(f"{red.height} pair(s) of criteria are near-redundant (|Spearman| ≥ 0.9)"))
        st.plotly_chart(ws.criterion_correlation_heatmap(flt), width="stretch", key="crit_corr")
        st.dataframe(corr, hide_index=True, width="stretch")
    offsets = ws.criterion_offsets(flt)
    if offsets.height:
        st.subheader("Judge minus human, per criterion")
        st.dataframe(offsets, hide_index=True, width="stretch")
