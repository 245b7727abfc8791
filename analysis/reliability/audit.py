"""The whole audit: every reliability metric for every judge, as one tidy frame."""

from __future__ import annotations

import logging
import time
from typing import cast

import polars as pl

from ..filters import Filter
from . import agreement, consistency, length, position, probes, self_preference
from .common import AuditRow, rows_frame, unavailable
from .context import AuditContext
from .metrics import PAIRWISE_ONLY, POINTWISE_ONLY

log = logging.getLogger(__name__)


def run_audit(
    q, flt: Filter, by: str = "judge", family_map: dict[str, str] | None = None, identities=None
) -> pl.DataFrame:
    """judge, metric, value, ci_low, ci_high, n, note — one row per judge and metric (see docs/reliability.md)."""
    start = time.perf_counter()
    with AuditContext(q, flt, by) as ctx:
        rows = []
        rows += position.position_metrics(ctx)
        rows += length.length_metrics(ctx)
        rows += self_preference.self_preference_metrics(ctx, family_map, identities)
        rows += agreement.pairwise_reference_metrics(ctx, "human", "human_majority")
        rows += agreement.pairwise_reference_metrics(ctx, "gold", "gold")
        rows += agreement.annotator_metrics(ctx)
        rows += agreement.score_metrics(ctx)
        rows += consistency.score_pairwise(ctx)
        rows += consistency.transitivity(ctx)
        rows += consistency.sample_agreement(ctx)
        rows += consistency.corrected_accuracy(ctx)
        rows += probes.probe_metrics(ctx)
        judges = ctx.judges()
    log.info("audit of %r by %s: %d judges in %.2f s", flt.to_query(), by, len(judges), time.perf_counter() - start)
    return rows_frame(_complete(rows, judges)).sort("judge", "metric", nulls_last=True)


# the notes _complete gives the rows it adds (no metric writes them): how a finished audit's own rows are told apart
FILLED = (
    "this judge gave no pointwise scores here",
    "this judge made no pairwise comparisons here",
    "no data for this judge",
)


def judges_of(q, flt: Filter, whole: pl.DataFrame) -> pl.DataFrame:
    """The audit of `flt`, a selection that is some judges of an audited one (`whole`: flt without its judge
    condition, by judge): every metric but the annotators' ceiling is a function of one judge's judgments alone, so
    its rows are the whole audit's rows for those judges; the ceiling ("(humans)") depends on which items the judges
    saw and is computed again. The same frame run_audit gives (tests/test_reliability.py), in a fraction of the time."""
    start = time.perf_counter()
    chosen = set(flt.judge)
    own = [
        cast(AuditRow, r)
        for r in whole.filter(pl.col("judge").is_in(list(chosen))).to_dicts()
        if not (r["value"] is None and r["note"] in FILLED)
    ]
    where, params = AuditContext.where(flt)
    items = f"AND item_id IN (SELECT j.item_id FROM judgment_view j WHERE {where})"
    labels = q.frame(AuditContext.annotator_labels_sql("human", items), params)
    rows = own + agreement.human_ceiling(labels)
    judges = sorted(set(whole["judge"].to_list()) & chosen)  # the judges of the selection: those chosen it has
    log.info("audit of %r from the audit without its judges in %.2f s", flt.to_query(), time.perf_counter() - start)
    return rows_frame(_complete(rows, judges)).sort("judge", "metric", nulls_last=True)


def _complete(rows: list[AuditRow], judges: list[str]) -> list[AuditRow]:
    """Every judge gets a row for every metric: metrics that do not apply to its judgments say so.
    Rows about no judge at all (an empty protocol) are dropped when there are judges."""
    if judges:
        rows = [r for r in rows if r["judge"] is not None]
    have = {(r["judge"], r["metric"]) for r in rows}
    metrics = sorted(
        {r["metric"] for r in rows if r["judge"] != "(humans)"}
        | POINTWISE_ONLY
        | PAIRWISE_ONLY
        | {"self_preference_offset", "sample_agreement", "corrected_accuracy"}
    )
    for j in judges:
        for m in metrics:
            if (j, m) in have or m.startswith("agreement_with:"):
                continue
            why = (
                "this judge gave no pointwise scores here"
                if m in POINTWISE_ONLY
                else "this judge made no pairwise comparisons here"
                if m in PAIRWISE_ONLY
                else "no data for this judge"
            )
            rows.append(unavailable(j, m, why))
    if not any(r["metric"] == "alpha_humans" for r in rows):
        rows.append(unavailable("(humans)", "alpha_humans", "no human labels"))
    return rows
