"""The whole audit: every reliability metric for every judge, as one tidy frame."""

from __future__ import annotations

import dataclasses
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
    rows, judges = _rows(q, flt, by, family_map, identities)
    log.info("audit of %r by %s: %d judges in %.2f s", flt.to_query(), by, len(judges), time.perf_counter() - start)
    return _frame(rows, judges)


def _rows(
    q, flt: Filter, by: str, family_map: dict[str, str] | None, identities, ceiling: bool = True
) -> tuple[list[AuditRow], list[str]]:
    """Every metric's rows for the selection (ceiling: with the annotators' among themselves), and its judges
    (before _complete)."""
    with AuditContext(q, flt, by) as ctx:
        rows = []
        rows += position.position_metrics(ctx)
        rows += length.length_metrics(ctx)
        rows += self_preference.self_preference_metrics(ctx, family_map, identities)
        rows += agreement.pairwise_reference_metrics(ctx, "human", "human_majority")
        rows += agreement.pairwise_reference_metrics(ctx, "gold", "gold")
        rows += agreement.annotator_metrics(ctx, ceiling)
        rows += agreement.score_metrics(ctx)
        rows += consistency.score_pairwise(ctx)
        rows += consistency.transitivity(ctx)
        rows += consistency.sample_agreement(ctx)
        rows += consistency.corrected_accuracy(ctx)
        rows += probes.probe_metrics(ctx)
        return rows, ctx.judges()


def _frame(rows: list[AuditRow], judges: list[str]) -> pl.DataFrame:
    return rows_frame(_complete(rows, judges)).sort("judge", "metric", nulls_last=True)


# why _complete adds a row (no metric writes these): a finished audit's own rows are told apart by their notes
NO_POINTWISE = "this judge gave no pointwise scores here"
NO_PAIRWISE = "this judge made no pairwise comparisons here"
NO_DATA = "no data for this judge"
FILLED = {unavailable(None, "", why)["note"] for why in (NO_POINTWISE, NO_PAIRWISE, NO_DATA)}


def narrowed(
    q, flt: Filter, wider: Filter, audit: pl.DataFrame, family_map: dict[str, str] | None = None, identities=None
) -> pl.DataFrame:
    """The audit of `flt` (by judge) from `audit`, the kept audit of `wider`, a selection that holds every judgment
    `flt` holds. Every metric but the annotators' ceiling is a function of one judge's judgments alone (and the
    labels on them), so a judge whose judgments the narrowing leaves as they were (the same count of each protocol:
    the same rows, `flt` being inside `wider`) keeps its rows; only the judges it changed are audited again, and the
    ceiling ("(humans)"), which depends on the items the selection holds. Picking judges changes none; picking a
    dataset changes only the judges that also judged others. The same frame run_audit gives
    (tests/test_reliability.py), in a fraction of the time."""
    start = time.perf_counter()
    inside, outside = (_counts(q, f) for f in (flt, wider))
    judges = sorted({j for j, _ in inside})
    if not judges:  # nothing selected: the audit says so per metric, at no cost
        return run_audit(q, flt, "judge", family_map, identities)
    kept = {j for j in judges if all(inside.get((j, p), 0) == n for (k, p), n in outside.items() if k == j)}
    again = [j for j in judges if j not in kept]
    rows = [
        cast(AuditRow, r)
        for r in audit.filter(pl.col("judge").is_in(list(kept))).to_dicts()
        if not (r["value"] is None and r["note"] in FILLED)
    ]
    if again:
        changed, _ = _rows(q, dataclasses.replace(flt, judge=tuple(again)), "judge", family_map, identities, False)
        rows += [r for r in changed if r["judge"] in again]
    where, params = AuditContext.where(flt)
    items = f"AND item_id IN (SELECT j.item_id FROM judgment_view j WHERE {where})"
    rows += agreement.human_ceiling(q.frame(AuditContext.annotator_labels_sql("human", items), params))
    log.info(
        "audit of %r from the kept audit of %r: %d judge(s) kept, %d audited again, in %.2f s",
        flt.to_query(),
        wider.to_query(),
        len(kept),
        len(again),
        time.perf_counter() - start,
    )
    return _frame(rows, judges)


def _counts(q, flt: Filter) -> dict[tuple[str, str], int]:
    """(judge, protocol) -> judgments the audit of `flt` reads."""
    where, params = AuditContext.where(flt)
    sql = f"SELECT j.judge, j.protocol, count(*) FROM judgment_view j WHERE {where} GROUP BY ALL"
    return {(j, p): n for j, p, n in q.rows(sql, params)}


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
            why = NO_POINTWISE if m in POINTWISE_ONLY else NO_PAIRWISE if m in PAIRWISE_ONLY else NO_DATA
            rows.append(unavailable(j, m, why))
    if not any(r["metric"] == "alpha_humans" for r in rows):
        rows.append(unavailable("(humans)", "alpha_humans", "no human labels"))
    return rows
