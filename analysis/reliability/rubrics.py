"""Rubric breakdowns: per-criterion scores by model and judge, criterion redundancy, judge-minus-human
offsets per criterion."""

from __future__ import annotations

import numpy as np
import polars as pl

from .common import half_width_sql
from .context import AuditContext

REDUNDANT_RHO = 0.9


def criteria_breakdown(ctx: AuditContext, by: str = "model") -> pl.DataFrame:
    """Mean normalised score per criterion × model (or judge), with a normal 95% interval over judgments."""
    group = {"model": "model", "judge": "jkey"}.get(by)
    if group is None:
        raise ValueError("by must be 'model' or 'judge'")
    half = half_width_sql("score_norm")
    return ctx.frame(f"""
        SELECT coalesce(criterion, 'overall') AS criterion, {group} AS "{by}", count(*) AS n,
               avg(score_norm) AS mean_score, stddev_samp(score_norm) AS sd,
               avg(score_norm) - {half} AS ci_low,
               avg(score_norm) + {half} AS ci_high
        FROM aj WHERE protocol = 'pointwise' AND probe IS NULL AND score_norm IS NOT NULL AND {group} IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2""")


def criterion_correlation(ctx: AuditContext, min_shared: int = 10) -> pl.DataFrame:
    """Spearman between every two criteria over responses scored on both by the same judge; `redundant`
    flags |rho| ≥ 0.9 (the two criteria measure nearly the same thing)."""
    scores = ctx.frame("""
        SELECT jkey || '|' || response_id AS unit, criterion, avg(score_norm) AS s FROM aj
        WHERE protocol = 'pointwise' AND probe IS NULL AND score_norm IS NOT NULL AND criterion IS NOT NULL
        GROUP BY 1, 2""")
    schema = {
        "criterion_a": pl.String,
        "criterion_b": pl.String,
        "spearman": pl.Float64,
        "n": pl.Int64,
        "redundant": pl.Boolean,
    }
    if scores.height == 0:
        return pl.DataFrame(schema=schema)
    wide = scores.pivot(on="criterion", index="unit", values="s")
    crits = sorted(c for c in wide.columns if c != "unit")
    rows = []
    ranked = {c: wide[c] for c in crits}
    for i, a in enumerate(crits):
        for b in crits[i + 1 :]:
            both = pl.DataFrame({"a": ranked[a], "b": ranked[b]}).drop_nulls()
            if both.height < min_shared:
                continue
            ra, rb = both["a"].rank().to_numpy(), both["b"].rank().to_numpy()
            if ra.std() == 0 or rb.std() == 0:
                continue
            rho = float(np.corrcoef(ra, rb)[0, 1])
            rows.append(
                {
                    "criterion_a": a,
                    "criterion_b": b,
                    "spearman": rho,
                    "n": both.height,
                    "redundant": abs(rho) >= REDUNDANT_RHO,
                }
            )
    return pl.DataFrame(rows, schema=schema)


def criterion_offsets(ctx: AuditContext) -> pl.DataFrame:
    """Per judge and criterion: mean normalised judge score minus the human score of the same response."""
    return ctx.frame(f"""
        WITH h AS (SELECT response_id, criterion, avg(score_norm) AS human FROM labels
                   WHERE kind = 'human' AND response_id IS NOT NULL AND score_norm IS NOT NULL GROUP BY ALL)
        SELECT a.jkey AS judge, coalesce(a.criterion, 'overall') AS criterion, count(*) AS n,
               avg(a.score_norm - h.human) AS offset,
               {half_width_sql("a.score_norm - h.human")} AS ci_half_width
        FROM aj a JOIN h ON h.response_id = a.response_id AND h.criterion IS NOT DISTINCT FROM a.criterion
        WHERE a.protocol = 'pointwise' AND a.score_norm IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2""")
