"""What failing looks like, from the judgments themselves.

An issue set's *units* are the responses its judgments judged: one per pointwise judgment, two per pairwise
one. Each unit gets an outcome in [0, 1] and, where the outcome can say so, whether it is *failing*:

- pointwise: the normalised score; failing = below the threshold that splits the judge's scores (per judge,
  dataset and criterion) closest to half and half (a lenient judge's failures are its lower scores);
- pairwise: 1 for the response the judge preferred, 0 for the other (failing), 0.5 for a tie (neither);
- no score and no verdict: the human or gold label of the response or pair, when there is one.

An issue is a group of critique statements over-represented among failing units: its lift is its prevalence
among failing units over its prevalence among passing ones.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from ..verdicts import winner_sql

Z95 = 1.959963984540054

SIGNALS = ("score", "verdict", "label", "cues")  # what decided failing, strongest first


def units_sql(where: str) -> str:
    """SQL (over judgment_view j, filtered by `where`) for every unit of the selected judgments that have a
    critique: judgment_id, item_id, response_id, model, judge, dataset, criterion, outcome, signal."""
    return f"""
        WITH sel AS (
            SELECT j.judgment_id, j.item_id, j.protocol, j.response_id, j.response_a, j.response_b, j.model,
                   j.model_a, j.model_b, j.verdict, j.score_norm, j.judge, j.dataset, j.criterion
            FROM judgment_view j
            WHERE {where} AND j.critique IS NOT NULL AND length(trim(j.critique)) > 0),
        point_label AS (
            SELECT l.response_id, l.criterion, avg(l.score_norm) AS s FROM labels l
            WHERE l.response_id IN (SELECT response_id FROM sel) AND l.score_norm IS NOT NULL GROUP BY ALL),
        pair_label AS (
            SELECT l.item_id, least(l.response_a, l.response_b) AS lo, greatest(l.response_a, l.response_b) AS hi,
                   mode({winner_sql("l.")}) AS winner
            FROM labels l WHERE l.verdict IS NOT NULL AND l.item_id IN (SELECT item_id FROM sel) GROUP BY ALL),
        pw AS (
            SELECT s.*, {winner_sql("s.")} AS judged_winner, pl.winner AS label_winner
            FROM sel s LEFT JOIN pair_label pl ON pl.item_id = s.item_id
                 AND pl.lo = least(s.response_a, s.response_b) AND pl.hi = greatest(s.response_a, s.response_b)
            WHERE s.protocol = 'pairwise'),
        sides AS (
            SELECT judgment_id, item_id, response_a AS response_id, model_a AS model, judge, dataset, criterion,
                   coalesce(judged_winner, label_winner) AS winner, judged_winner IS NOT NULL AS judged FROM pw
            UNION ALL
            SELECT judgment_id, item_id, response_b, model_b, judge, dataset, criterion,
                   coalesce(judged_winner, label_winner), judged_winner IS NOT NULL FROM pw)
        SELECT s.judgment_id, s.item_id, s.response_id, s.model, s.judge, s.dataset, s.criterion,
               coalesce(s.score_norm, p.s) AS outcome,
               CASE WHEN s.score_norm IS NOT NULL THEN 'score' WHEN p.s IS NOT NULL THEN 'label' END AS signal
        FROM sel s LEFT JOIN point_label p ON p.response_id = s.response_id
             AND p.criterion IS NOT DISTINCT FROM s.criterion
        WHERE s.protocol = 'pointwise'
        UNION ALL
        SELECT judgment_id, item_id, response_id, model, judge, dataset, criterion,
               CASE WHEN winner = 'tie' THEN 0.5 WHEN winner = response_id THEN 1.0 WHEN winner IS NOT NULL THEN 0.0 END,
               CASE WHEN winner IS NULL THEN NULL WHEN judged THEN 'verdict' ELSE 'label' END
        FROM sides"""


MIN_GROUP = 50  # a criterion with fewer scored units shares its judge's and dataset's threshold


def mark_failing(units: pl.DataFrame) -> pl.DataFrame:
    """Add `failing` (bool, null where the outcome cannot say): pairwise and labelled units by their outcome,
    scored units below their group's balanced threshold (per judge, dataset and criterion; a criterion with
    few scores, such as a per-item rubric, is pooled with its judge and dataset)."""
    if units.height == 0:
        return units.with_columns(pl.lit(None, dtype=pl.Boolean).alias("failing"))
    sizes = units.filter(pl.col("signal") == "score").group_by(["judge", "dataset", "criterion"]).len()
    small = sizes.filter(pl.col("len") < MIN_GROUP).select("judge", "dataset", "criterion", pl.lit(True).alias("_pool"))
    units = units.join(small, on=["judge", "dataset", "criterion"], how="left", nulls_equal=True)
    units = units.with_columns(
        pl.when(pl.col("_pool")).then(pl.lit("(pooled)")).otherwise(pl.col("criterion")).alias("_group")
    ).drop("_pool")
    out = _failing(units.rename({"criterion": "_criterion"}).rename({"_group": "criterion"}))
    return out.rename({"criterion": "_group"}).rename({"_criterion": "criterion"}).drop("_group")


def _failing(units: pl.DataFrame) -> pl.DataFrame:
    scored = units.filter(pl.col("signal") == "score")
    thresholds = {}
    for key, g in scored.group_by(["judge", "dataset", "criterion"], maintain_order=True):
        thresholds[key] = balanced_threshold(g["outcome"].to_numpy())
    t = pl.DataFrame(
        [{"judge": k[0], "dataset": k[1], "criterion": k[2], "_t": v} for k, v in thresholds.items()],
        schema={"judge": pl.String, "dataset": pl.String, "criterion": pl.String, "_t": pl.Float64},
    )
    out = units.join(t, on=["judge", "dataset", "criterion"], how="left", nulls_equal=True)
    failing = (
        pl.when(pl.col("outcome").is_null())
        .then(None)
        .when(pl.col("signal") == "score")
        .then(pl.when(pl.col("_t").is_null()).then(None).otherwise(pl.col("outcome") < pl.col("_t")))
        .when(pl.col("outcome") == 0.5)
        .then(None)
        .otherwise(pl.col("outcome") < 0.5)
    )
    return out.with_columns(failing.alias("failing")).drop("_t")


def balanced_threshold(values: np.ndarray) -> float | None:
    """The score t for which `value < t` marks the share of values closest to one half (None: no split)."""
    v = np.sort(np.asarray(values, dtype=np.float64)[~np.isnan(np.asarray(values, dtype=np.float64))])
    if len(v) < 2 or v[0] == v[-1]:
        return None
    candidates = np.unique(v)[1:]
    below = np.searchsorted(v, candidates, side="left") / len(v)
    off = np.abs(below - 0.5)
    # near ties (a share of a third below either of two thresholds) go to the lower one: failing is what is
    # clearly low, not what a lenient judge merely did not give full marks
    return float(candidates[int(np.flatnonzero(off <= off.min() + 0.02)[0])])


def lift(
    k_fail: int, n_fail: int, k_pass: int, n_pass: int, z: float = Z95
) -> tuple[float | None, float | None, float | None]:
    """Prevalence among failing units over prevalence among passing ones, with an interval (95% by default;
    log scale, Katz; a half is added to every cell when one is empty)."""
    if not n_fail or not n_pass:
        return None, None, None
    a, b, c, d = float(k_fail), float(n_fail - k_fail), float(k_pass), float(n_pass - k_pass)
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    ratio = (a / (a + b)) / (c / (c + d))
    se = math.sqrt(max(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d), 0.0))
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se)


def z_for(alpha: float, tests: int) -> float:
    """The two-sided normal quantile for `alpha` shared by `tests` tests (Bonferroni)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / (2 * max(tests, 1)))
