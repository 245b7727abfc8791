"""Overview: what is in the workspace, score distributions, pairwise verdicts by position, rejects."""

from __future__ import annotations

import streamlit as st

from analysis import Filter, Workspace

from ..state import md_escape


def render(ws: Workspace, flt: Filter) -> None:
    st.header("Overview")
    st.caption(md_escape(f"Workspace {ws.path} · filter: {flt}"))
    counts = ws._counts()
    n = ws.count(flt)
    cols = st.columns(6)
    cols[0].metric("Judgments", f"{n:,}", help=f"{counts['judgments']:,} in the workspace")
    cols[1].metric("Items", f"{counts['items']:,}")
    cols[2].metric("Models", f"{len(ws.values('model', flt)):,}")
    cols[3].metric("Judges", f"{len(ws.values('judge', flt)):,}")
    cols[4].metric("Human/gold labels", f"{counts['labels']:,}")
    cols[5].metric("Rejected rows", f"{counts['rejects']:,}")
    if n == 0:
        st.info("No judgments match these filters.")
        return

    tabs = st.tabs(["Scores by model", "Scores by judge", "Scores by criterion", "Pairwise verdicts by judge"])
    for tab, by in zip(tabs[:3], ("model", "judge", "criterion")):
        with tab:
            st.plotly_chart(ws.score_distribution(by, flt), width="stretch", key=f"dist_{by}")
            st.dataframe(ws.score_stats(by, flt), hide_index=True, width="stretch")
    with tabs[3]:
        st.plotly_chart(ws.verdict_distribution("judge", flt), width="stretch", key="verdicts")
        st.caption("Verdicts are stored about the responses; this chart re-reads them by the position each "
                   "response was shown in. An unbiased judge shown both orders wins about half with each slot.")

    st.subheader("Runs")
    st.dataframe(ws.runs(), hide_index=True, width="stretch")
    reasons = ws.reject_reasons()
    st.subheader(f"Rejected rows ({counts['rejects']:,})")
    if reasons.height == 0:
        st.caption("Every source row was ingested.")
    else:
        st.dataframe(reasons, hide_index=True, width="stretch")
        st.dataframe(ws.rejects(limit=200), hide_index=True, width="stretch")
