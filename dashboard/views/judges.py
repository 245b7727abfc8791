"""Judges: the bias heatmap (click a cell: the instances behind it, e.g. the flipped pairs behind a first-slot
rate), agreement with humans and gold beside the human ceiling, judge × judge agreement one protocol at a
time, length versus score, model × judge."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import Workspace
from analysis.reliability.metrics import evidence

from .. import state
from ..state import md_escape
from .common import choose, open_clicked, table_click

VIEWS = {
    "metrics": "All metrics",
    "matrix": "Judge × judge",
    "length": "Length versus score",
    "model_judge": "Model × judge",
}


METRIC_COLUMNS = {
    "judge": st.column_config.TextColumn("Judge"),
    "metric": st.column_config.TextColumn("Metric", help="docs/reliability.md lists every metric"),
    "value": st.column_config.NumberColumn("Value", format="%.3f"),
    "ci_low": st.column_config.NumberColumn("95% CI low", format="%.3f"),
    "ci_high": st.column_config.NumberColumn("95% CI high", format="%.3f"),
    "n": st.column_config.NumberColumn("n", help="judgments (or pairs, or items) the value is computed on"),
    "note": st.column_config.TextColumn("How it is computed", width="large"),
}


def render(ws: Workspace) -> None:
    flt = state.selection()
    st.header("Judges")
    st.caption(
        md_escape(
            f"Reliability of each judge on {flt.describe()}. Intervals are 95%; hover a cell for its "
            "interval and n, click it for the instances behind it."
        )
    )
    by = choose("One row per", {"judge": "judge", "judge_template": "judge and template"}, "judge", key="audit_by")
    audit = state.cached(_audit, flt, by)
    if audit.filter(pl.col("value").is_not_null()).height == 0:
        st.info("No reliability metric can be computed for these judgments.")
        return
    event = st.plotly_chart(
        state.cached(_heatmap, flt, by), width="stretch", key="bias_heatmap", on_select="rerun", selection_mode="points"
    )
    open_clicked(event, lambda cell: state.narrowed(**evidence(cell[1], cell[0])))
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(state.cached(_agreement_chart, "human", flt, by), width="stretch", key="agree_human")
    with c2:
        st.plotly_chart(state.cached(_agreement_chart, "gold", flt, by), width="stretch", key="agree_gold")
    view = choose("Show", VIEWS, "metrics", key="view")
    if view == "metrics":
        computed = audit.filter(pl.col("value").is_not_null())
        st.caption("Click a row to open the instances behind it.")
        table_click(
            computed,
            "w_audit_table",
            lambda r: ("instances", state.narrowed(**evidence(r["metric"], r["judge"])), {}),
            column_config=METRIC_COLUMNS,
        )
        missing = audit.filter(pl.col("value").is_null()).select("judge", "metric", "note")
        if missing.height:
            with st.expander(f"{missing.height:,} metrics cannot be computed on this selection: why"):
                st.dataframe(missing, hide_index=True, width="stretch")
    elif view == "matrix":
        matrix = state.cached(_matrix, flt)
        protocols = sorted(set(matrix["protocol"])) if matrix.height else []
        if not protocols:
            st.caption("No two judges judged the same responses or pairs here.")
        else:
            protocol = st.radio(
                "Agreement on",
                protocols,
                horizontal=True,
                key="w_matrix_protocol",
                format_func=lambda p: {
                    "pairwise": "the same pairs in the same order (same verdict)",
                    "pointwise": "the same responses (same normalised score)",
                }[p],
            )
            event = st.plotly_chart(
                ws.audit.agreement_heatmap(protocol=protocol, matrix=matrix),  # drawn from the matrix above
                width="stretch",
                key="agree_matrix",
                on_select="rerun",
                selection_mode="points",
            )
            st.caption("One protocol per chart. Click a cell to open both judges' judgments of that kind.")
            open_clicked(event, lambda cell: state.narrowed(judge=[cell[0], cell[1]], protocol=[protocol]))
    elif view == "length":
        st.plotly_chart(state.cached(_length_chart, flt), width="stretch", key="length")
        st.dataframe(state.cached(_length_corr, flt), hide_index=True, width="stretch")
    else:
        event = st.plotly_chart(
            state.cached(_model_judge, flt),
            width="stretch",
            key="model_judge",
            on_select="rerun",
            selection_mode="points",
        )
        open_clicked(event, lambda cell: state.narrowed(model=[cell[0]], judge=[cell[1]], protocol=["pointwise"]))


def _audit(ws, flt, by):
    return ws.audit(flt, by=by)


def _heatmap(ws, flt, by):
    return ws.audit.bias_heatmap(audit=ws.audit(flt, by=by))


def _agreement_chart(ws, against, flt, by):
    return ws.audit.agreement_chart(against, audit=ws.audit(flt, by=by))


def _matrix(ws, flt):
    return ws.audit.agreement_matrix(flt)


def _length_chart(ws, flt):
    return ws.audit.length_score_chart(flt)


def _length_corr(ws, flt):
    return ws.audit.length_correlation("model", flt)


def _model_judge(ws, flt):
    return ws.scores.model_judge_heatmap(flt)
