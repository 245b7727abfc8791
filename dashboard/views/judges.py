"""Judges: the bias heatmap, agreement with humans and between judges, length versus score, model × judge."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import Filter, Workspace

from ..state import cached_audit, md_escape


POINTWISE = {"length_score_spearman", "length_score_spearman_within", "leniency", "false_positive_rate",
             "spearman_human", "kendall_human", "weighted_kappa_human"}


def _cell_to_instances(audit: pl.DataFrame, flt: Filter) -> None:
    """Open the instances behind a heatmap cell: that judge's judgments of the kind the metric reads."""
    judges = sorted(j for j in set(audit["judge"].drop_nulls()) if j != "(humans)")
    metrics = sorted(set(audit.filter(pl.col("value").is_not_null())["metric"]))
    if not judges or not metrics:
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    c1.selectbox("Judge", judges, key="js_cell_judge")
    c2.selectbox("Metric", metrics, key="js_cell_metric")
    c3.button("Show its instances", key="js_cell_go", on_click=_open_instances)


def _open_instances() -> None:
    """A button callback (it runs before the rerun, so it may set the sidebar's widgets)."""
    judge, metric = st.session_state["js_cell_judge"], st.session_state["js_cell_metric"]
    extra = st.session_state.setdefault("js_extra", {})
    extra["protocol"] = ("pointwise",) if metric in POINTWISE else ("pairwise",)
    st.session_state["js_judge"] = [judge.split(" / ")[0]]
    if " / " in judge:
        st.session_state["js_template"] = [judge.split(" / ", 1)[1]]
    st.session_state["js_page"] = "instances"


def render(ws: Workspace, flt: Filter) -> None:
    st.header("Judges")
    st.caption(md_escape(f"Reliability of each judge on {flt.describe()}. Intervals are 95%; hover a cell for "
                         "its interval, n and how it was computed."))
    by = st.radio("One row per", ["judge", "judge_template"], horizontal=True, key="js_audit_by",
                  format_func=lambda v: {"judge": "judge", "judge_template": "judge and template"}[v])
    with st.spinner("Auditing judges…"):
        audit = cached_audit(str(ws.path), ws.q.version(), flt.to_query(), by)
    if audit.filter(pl.col("value").is_not_null()).height == 0:
        st.info("No reliability metric can be computed for these judgments.")
        return
    st.plotly_chart(ws.bias_heatmap(audit=audit), width="stretch", key="bias_heatmap")
    _cell_to_instances(audit, flt)
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(ws.agreement_chart("human", audit=audit), width="stretch", key="agree_human")
    with c2:
        st.plotly_chart(ws.agreement_chart("gold", audit=audit), width="stretch", key="agree_gold")
    tabs = st.tabs(["All metrics", "Judge × judge", "Length versus score", "Model × judge"])
    with tabs[0]:
        st.dataframe(audit, hide_index=True, width="stretch")
    with tabs[1]:
        st.plotly_chart(ws.agreement_heatmap(flt), width="stretch", key="agree_matrix")
    with tabs[2]:
        st.plotly_chart(ws.length_score_chart(flt), width="stretch", key="length")
        st.dataframe(ws.length_correlation("model", flt), hide_index=True, width="stretch")
    with tabs[3]:
        st.plotly_chart(ws.model_judge_heatmap(flt), width="stretch", key="model_judge")
