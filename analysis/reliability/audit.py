"""The whole audit: every reliability metric for every judge, as one tidy frame."""

from __future__ import annotations

import duckdb
import polars as pl

from ..filters import Filter
from . import agreement, consistency, length, position, probes, self_preference
from .common import rows_frame, unavailable
from .context import AuditContext

# metric -> (the value of an unbiased / ideal judge, what it measures); the bias heatmap's columns
BIAS_METRICS: dict[str, tuple[float, str]] = {
    "swap_consistency": (1.0, "same verdict in both orders"),
    "p_first_shown_wins": (0.5, "first-shown response wins"),
    "first_slot_rate": (0.5, "first slot wins among flipped swaps"),
    "p_longer_wins": (0.5, "longer response wins"),
    "length_score_spearman": (0.0, "score rises with length"),
    "self_preference_offset": (0.0, "favours its own model family"),
    "leniency": (0.0, "scores above humans"),
    "score_pairwise_inconsistency": (0.0, "scores contradict verdicts"),
    "transitivity_violation_rate": (0.0, "cyclic preferences"),
    "sample_agreement": (1.0, "repeated samples agree"),
    **probes.METRIC_HELP,               # bias probes: columns appear when probe judgments exist
}


def run_audit(con: duckdb.DuckDBPyConnection, flt: Filter, by: str = "judge",
              family_map: dict[str, str] | None = None, identities=None) -> pl.DataFrame:
    """judge, metric, value, ci_low, ci_high, n, note — one row per judge and metric (see docs/reliability.md)."""
    with AuditContext(con, flt, by) as ctx:
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
    return rows_frame(_complete(rows, judges)).sort("judge", "metric", nulls_last=True)


POINTWISE_ONLY = {"length_score_spearman", "length_score_spearman_within", "leniency", "false_positive_rate",
                  "spearman_human", "kendall_human", "weighted_kappa_human"}
PAIRWISE_ONLY = {"swap_consistency", "first_slot_rate", "p_first_shown_wins", "p_longer_wins",
                 "error_rate_gold_shorter", "error_rate_gold_longer", "agreement_human_majority",
                 "kappa_human_majority", "agreement_gold", "kappa_gold", "score_pairwise_inconsistency",
                 "transitivity_violation_rate", "self_preference_win_rate"}


def _complete(rows: list[dict], judges: list[str]) -> list[dict]:
    """Every judge gets a row for every metric: metrics that do not apply to its judgments say so.
    Rows about no judge at all (an empty protocol) are dropped when there are judges."""
    if judges:
        rows = [r for r in rows if r["judge"] is not None]
    have = {(r["judge"], r["metric"]) for r in rows}
    metrics = sorted({r["metric"] for r in rows if r["judge"] != "(humans)"} | POINTWISE_ONLY | PAIRWISE_ONLY
                     | {"self_preference_offset", "sample_agreement", "corrected_accuracy"})
    for j in judges:
        for m in metrics:
            if (j, m) in have or m.startswith("agreement_with:"):
                continue
            why = ("this judge gave no pointwise scores here" if m in POINTWISE_ONLY else
                   "this judge made no pairwise comparisons here" if m in PAIRWISE_ONLY else "no data for this judge")
            rows.append(unavailable(j, m, why))
    if not any(r["metric"] == "alpha_humans" for r in rows):
        rows.append(unavailable("(humans)", "alpha_humans", "no human labels"))
    return rows
