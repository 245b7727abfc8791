"""Overview: what is in the workspace, score distributions, pairwise verdicts by position, rejects."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from analysis import Filter, Workspace

from ..state import md_escape


def render(ws: Workspace, flt: Filter) -> None:
    st.header("Overview")
    st.caption(md_escape(f"Workspace {ws.path} · showing {flt.describe()}"))
    counts = ws._counts()
    f = ws.filtered_counts(flt)
    n = f["judgments"]
    cols = st.columns(6)
    cols[0].metric("Judgments", f"{n:,}", help=f"{counts['judgments']:,} in the workspace")
    cols[1].metric("Items", f"{f['items']:,}", help=f"{counts['items']:,} in the workspace")
    cols[2].metric("Models", f"{f['models']:,}", help="models named on the judged responses")
    cols[3].metric("Judges", f"{f['judges']:,}")
    cols[4].metric("Human/gold labels", f"{f['labels']:,}", help="labels on the items these judgments cover")
    cols[5].metric("Rejected rows", f"{counts['rejects']:,}", help="source rows that could not be ingested")
    if n == 0:
        st.info("No judgments match these filters.")
        return

    n_scored = ws.count(replace(flt, protocol=("pointwise",)))
    score_tabs = [("Scores by model", "model"), ("Scores by judge", "judge"), ("Scores by criterion", "criterion")]
    verdict_tab = ("Pairwise verdicts by judge", None)
    order = score_tabs + [verdict_tab] if n_scored else [verdict_tab] + score_tabs
    for tab, (_, by) in zip(st.tabs([label for label, _ in order]), order):
        with tab:
            if by is None:
                st.plotly_chart(ws.verdict_distribution("judge", flt), width="stretch", key="verdicts")
                st.caption("Verdicts are stored about the responses; this chart re-reads them by the position each "
                           "response was shown in. An unbiased judge shown both orders wins about half with each slot.")
            else:
                st.plotly_chart(ws.score_distribution(by, flt), width="stretch", key=f"dist_{by}")
                st.dataframe(ws.score_stats(by, flt), hide_index=True, width="stretch")

    st.subheader("Runs")
    st.dataframe(ws.runs(), hide_index=True, width="stretch")
    reasons = ws.reject_reasons()
    st.subheader(f"Rejected rows ({counts['rejects']:,})")
    if reasons.height == 0:
        st.caption("Every source row was ingested.")
    else:
        st.dataframe(reasons, hide_index=True, width="stretch")
        st.dataframe(ws.rejects(limit=200), hide_index=True, width="stretch")
