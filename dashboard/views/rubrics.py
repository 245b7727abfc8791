"""Rubrics: criterion × model and × judge (click a cell for its instances), score distributions per criterion,
criterion redundancy, judge-minus-human offsets."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import Workspace

from .. import state
from ..state import md_escape
from .common import choose, open_clicked, table_click


def render(ws: Workspace) -> None:
    flt = state.selection()
    st.header("Rubrics")
    st.caption(md_escape(f"Per-criterion scores on {flt.describe()}."))
    tables = state.cached(_summary, flt)  # every per-criterion table from one copy of the selection
    crit = tables["by_model"]
    if crit.height == 0 or set(crit["criterion"]) == {"overall"}:
        st.info("These judgments carry no rubric criteria (every score is an overall one).")
        return
    by = choose("Criterion by", {"model": "model", "judge": "judge"}, "model", key="by")
    ranked = _ranked(tables[f"by_{by}"], by)
    st.subheader("Criteria, lowest mean score first")
    query = st.text_input("Search criteria", key="w_crit_search", placeholder="words of a criterion")
    shown = (
        ranked.filter(pl.col("criterion").str.to_lowercase().str.contains(query.strip().lower(), literal=True))
        if query.strip()
        else ranked
    )
    st.caption(
        md_escape(
            f"{shown.height:,} of {ranked.height:,} criteria. Click a column header to sort, a row to "
            f"open that criterion's judgments and critiques."
        )
    )
    table_click(
        shown,
        "w_crit_table",
        lambda r: ("instances", state.narrowed(criterion=[r["criterion"]]), {"sort": "score"}),
        column_config={
            "criterion": st.column_config.TextColumn("Criterion", width="large", help="The criterion's full text"),
            "n": st.column_config.NumberColumn("Judgments"),
            "mean_score": st.column_config.NumberColumn("Mean score (0–1)", format="%.2f"),
            "lowest": st.column_config.TextColumn(f"Lowest {by}"),
            "highest": st.column_config.TextColumn(f"Highest {by}"),
        },
    )

    def heatmap():
        event = st.plotly_chart(
            ws.rubrics.heatmap(by, breakdown=tables[f"by_{by}"]),  # drawn from the table's numbers
            width="stretch",
            key="crit_heat",
            on_select="rerun",
            selection_mode="points",
        )
        open_clicked(event, lambda cell: state.narrowed(criterion=[cell[0]], **{by: [cell[1]]}))
        st.caption("Click a cell to open its judgments.")

    if ranked.height > HEATMAP_MAX:
        with st.expander(f"Heatmap of all {ranked.height:,} criteria by {by}"):
            heatmap()
    else:
        heatmap()
    st.plotly_chart(state.cached(_distribution, flt), width="stretch", key="crit_dist")
    corr = tables["correlation"]
    st.subheader("Criterion redundancy")
    if corr.height == 0:
        st.caption("No two criteria were scored on the same ten or more responses.")
    else:
        red = corr.filter(pl.col("redundant"))
        if red.height:
            st.warning(md_escape(f"{red.height} pair(s) of criteria are near-redundant (|Spearman| ≥ 0.9)"))
        st.plotly_chart(ws.rubrics.correlation_heatmap(correlation=corr), width="stretch", key="crit_corr")
        st.dataframe(corr, hide_index=True, width="stretch")
    offsets = tables["offsets"]
    if offsets.height:
        st.subheader("Judge minus human, per criterion")
        st.dataframe(offsets, hide_index=True, width="stretch")


HEATMAP_MAX = 30  # more criteria than this: the heatmap is one click away, the ranked table first


def _ranked(breakdown: pl.DataFrame, by: str) -> pl.DataFrame:
    """One row per criterion (from the per-group breakdown): judgments, mean score, the lowest and highest group."""
    if breakdown.height == 0:
        return pl.DataFrame(
            schema={
                "criterion": pl.String,
                "n": pl.Int64,
                "mean_score": pl.Float64,
                "lowest": pl.String,
                "highest": pl.String,
            }
        )
    label = pl.format("{} ({})", pl.col(by).cast(pl.String), pl.col("mean_score").round(2).cast(pl.String))
    per = (
        breakdown.sort("mean_score", by)
        .group_by("criterion", maintain_order=True)
        .agg(
            pl.col("n").sum().alias("n"),
            ((pl.col("mean_score") * pl.col("n")).sum() / pl.col("n").sum()).alias("mean_score"),
            label.first().alias("lowest"),
            label.last().alias("highest"),
        )
    )
    return per.sort("mean_score", "criterion")


def _summary(ws, flt):
    return ws.rubrics.summary(flt)


def _distribution(ws, flt):
    return ws.scores.distribution("criterion", flt)
