"""Score and verdict distributions of a selection: per group (model, judge, criterion, template, dataset,
meta.<key>), aggregated in DuckDB. `Scores` is the workspace's `ws.scores` namespace."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from . import plots
from .errors import UserError
from .filters import Filter, as_filter
from .query import Query
from .reliability.common import half_width_sql, wilson
from .verdicts import outcome_sql

FilterLike = Filter | str | dict | None
RAW_BUCKETS = 20  # a scale with at most this many points is shown score by score


class Scores:
    def __init__(self, q: Query):
        self.q = q

    def stats(self, by: str = "model", filter: FilterLike = None) -> pl.DataFrame:
        """Per group: judgments, scored, unparsed (a reply with no score the parser could read), missing (no score
        given at all), mean raw score with its 95% interval (normal approximation, 1.96 standard errors:
        common.half_width_sql; none under two scores), mean normalised score."""
        g = self.q.group(by)
        where, params = as_filter(filter).where("j")
        half = half_width_sql("j.score", "count(j.score)")
        return self.q.frame(
            f"""
            SELECT {g.scalar} AS {g.alias}, count(*) AS judgments, count(j.score) AS scored,
                   count(*) FILTER (WHERE j.parse_status = 'unparsed') AS unparsed,
                   count(*) FILTER (WHERE j.parse_status = 'missing') AS missing,
                   avg(j.score) AS mean_score,
                   CASE WHEN count(j.score) >= 2 THEN avg(j.score) - {half} END AS mean_score_ci_low,
                   CASE WHEN count(j.score) >= 2 THEN avg(j.score) + {half} END AS mean_score_ci_high,
                   avg(j.score_norm) AS mean_score_norm,
                   min(j.scale_min) AS scale_min, max(j.scale_max) AS scale_max
            FROM judgment_view j
            WHERE {where} AND j.protocol = 'pointwise' AND {g.scalar} IS NOT NULL
            GROUP BY 1 ORDER BY mean_score_norm DESC NULLS LAST""",
            [*g.params, *params, *g.params],
        )

    def scales(self, filter: FilterLike = None) -> pl.DataFrame:
        """The score scales in the selection: scale_min, scale_max, scored judgments, judges — largest first."""
        where, params = as_filter(filter).where("j")
        return self.q.frame(
            f"""
            SELECT j.scale_min, j.scale_max, count(*) AS n, count(DISTINCT j.judge) AS judges
            FROM judgment_view j WHERE {where} AND j.score IS NOT NULL
            GROUP BY 1, 2 ORDER BY n DESC, 1, 2""",
            params,
        )

    def distribution_table(
        self, by: str = "model", filter: FilterLike = None, scale: tuple[float, float] | None = None
    ) -> pl.DataFrame:
        """Counts of scores per group and score value. With `scale` (lo, hi), only judgments on that scale, score by
        score; without, score by score when the selection has one short scale, else per tenth of the normalised
        score. Columns: group, bucket, label, n, share, group_n, group_mean, raw_scale, score_min, score_max (the
        bucket's bounds in the column the `score_*` filter keys read)."""
        g = self.q.group(by)
        flt = as_filter(filter)
        where, params = flt.where("j")
        cond, cparams = "", []
        if scale is not None:
            lo, hi = _scale(scale)
            cond, cparams = " AND j.scale_min = ? AND j.scale_max = ?", [lo, hi]
        base = (
            f"WITH d AS (SELECT {g.scalar} AS grp, j.score, j.score_norm, j.scale_min, j.scale_max "
            f"FROM judgment_view j WHERE {where} AND j.score IS NOT NULL{cond}) "
        )
        params = [*g.params, *params, *cparams]
        scales = self.q.rows(base + "SELECT DISTINCT scale_min, scale_max FROM d WHERE grp IS NOT NULL", params)
        raw = len(scales) == 1 and None not in scales[0] and scales[0][1] - scales[0][0] <= RAW_BUCKETS
        if raw:
            bucket, label, mean = "score", "CAST(score AS VARCHAR)", "avg(score)"
            bounds = "min(score) AS lo, max(score) AS hi"
        else:
            bucket = "least(floor(score_norm * 10), 9)"
            label = f"printf('%.1f–%.1f', {bucket} / 10, {bucket} / 10 + 0.1)"
            mean = "avg(score_norm)"
            bounds = "min(score_norm) AS lo, max(score_norm) AS hi"
        frame = self.q.frame(
            base
            + f"""
            SELECT grp AS "group", {bucket} AS bucket, any_value({label}) AS label, count(*) AS n, {bounds}
            FROM d WHERE grp IS NOT NULL GROUP BY 1, 2""",
            params,
        )
        if frame.height == 0:
            return frame
        means = self.q.frame(
            base + f'SELECT grp AS "group", count(*) AS group_n, {mean} AS group_mean FROM d '
            f"WHERE grp IS NOT NULL GROUP BY 1",
            params,
        )
        frame = frame.join(means, on="group").with_columns((pl.col("n") / pl.col("group_n")).alias("share"))
        return frame.with_columns(pl.col("label").str.replace(r"\.0$", ""), pl.lit(raw).alias("raw_scale"))

    def distribution(
        self, by: str = "model", filter: FilterLike = None, scale: tuple[float, float] | None = None
    ) -> go.Figure:
        """Heatmap of score distributions per group (one scale, or normalised scores when scales differ)."""
        dist = self.distribution_table(by, filter, scale)
        raw = dist.height > 0 and dist["raw_scale"][0]
        x_title = "score" if raw else "normalised score (scales differ)"
        n = int(dist["n"].sum()) if dist.height else 0
        on = f" on the {_fmt(scale[0])}–{_fmt(scale[1])} scale" if scale is not None else ""
        return plots.score_heatmap(dist, by, x_title, f"Score distribution by {by}{on} ({n:,} scored judgments)")

    def verdict_outcomes(self, by: str = "judge", filter: FilterLike = None) -> pl.DataFrame:
        """Pairwise outcomes per group: first-shown won, second-shown won, tie, order unknown, no verdict."""
        g = self.q.group(by)
        where, params = as_filter(filter).where("j")
        frame = self.q.frame(
            f"""
            WITH d AS (SELECT unnest({g.values}) AS grp, j.verdict, j.shown_first FROM judgment_view j
                       WHERE {where} AND j.protocol = 'pairwise')
            SELECT grp AS "group",
                CASE WHEN verdict IS NULL THEN 'no verdict'
                     WHEN verdict = 'tie' THEN 'tie'
                     WHEN shown_first IS NULL THEN 'order unknown'
                     WHEN verdict = shown_first THEN 'first shown won'
                     ELSE 'second shown won' END AS outcome,
                count(*) AS n
            FROM d WHERE grp IS NOT NULL GROUP BY ALL""",
            [*g.params, *params],
        )
        if frame.height == 0:
            return frame
        return frame.with_columns((pl.col("n") / pl.col("n").sum().over("group")).alias("share")).sort(
            "group", "outcome"
        )

    def win_rates(self, filter: FilterLike = None) -> pl.DataFrame:
        """Pairwise, per model: comparisons, wins, ties, losses, no verdict, and the win rate (a tie counts as half a
        win, over the comparisons with a verdict) with a Wilson 95% interval. A pair of a model with itself is no
        comparison and is left out (n_self counts them)."""
        where, params = as_filter(filter).where("j")
        frame = self.q.frame(
            f"""
            WITH d AS (SELECT j.verdict, j.model_a, j.model_b, j.model_a IS NOT DISTINCT FROM j.model_b AS self
                       FROM judgment_view j WHERE {where} AND j.protocol = 'pairwise'),
            u AS (SELECT model_a AS model, self, {outcome_sql("", "a")} AS outcome FROM d
                  UNION ALL
                  SELECT model_b, self, {outcome_sql("", "b")} FROM d WHERE NOT self)
            SELECT model, count(*) FILTER (WHERE NOT self) AS comparisons,
                   count(*) FILTER (WHERE NOT self AND outcome = 1) AS wins,
                   count(*) FILTER (WHERE NOT self AND outcome = 0.5) AS ties,
                   count(*) FILTER (WHERE NOT self AND outcome = 0) AS losses,
                   count(*) FILTER (WHERE NOT self AND outcome IS NULL) AS no_verdict,
                   count(*) FILTER (WHERE self) AS n_self,
                   round(avg(outcome) FILTER (WHERE NOT self), 12) AS win_rate
            FROM u WHERE model IS NOT NULL GROUP BY 1
            ORDER BY win_rate DESC NULLS LAST, model""",
            params,
        )
        cis = [wilson(w + t / 2, w + t + lo) for w, t, lo in zip(frame["wins"], frame["ties"], frame["losses"])]
        return frame.with_columns(
            pl.Series("ci_low", [c[0] for c in cis], dtype=pl.Float64),
            pl.Series("ci_high", [c[1] for c in cis], dtype=pl.Float64),
        )

    def verdict_distribution(self, by: str = "judge", filter: FilterLike = None) -> go.Figure:
        frame = self.verdict_outcomes(by, filter)
        n = int(frame["n"].sum()) if frame.height else 0
        return plots.verdict_bars(frame, by, f"Pairwise verdicts by {by}, by the position shown ({n:,} judgments)")

    def model_judge(self, filter: FilterLike = None) -> pl.DataFrame:
        """Mean normalised score of each model by each judge."""
        where, params = as_filter(filter).where("j")
        return self.q.frame(
            f"""
            SELECT j.model, j.judge, avg(j.score_norm) AS mean_score, count(*) AS n FROM judgment_view j
            WHERE {where} AND j.protocol = 'pointwise' AND j.score_norm IS NOT NULL AND j.model IS NOT NULL
            GROUP BY 1, 2""",
            params,
        )

    def model_judge_heatmap(self, filter: FilterLike = None) -> go.Figure:
        """Mean normalised score of each model by each judge (self-preference shows on the diagonal of families)."""
        return plots.matrix_heatmap(
            self.model_judge(filter),
            "model",
            "judge",
            "mean_score",
            "Mean normalised score: model × judge",
            value_label="mean score",
        )


def _scale(scale) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise UserError(f"scale must be (low, high), not {scale!r}") from None
    if not lo < hi:
        raise UserError(f"scale must be (low, high) with low < high, not {scale!r}")
    return lo, hi


def _fmt(v: float) -> str:
    return f"{v:g}"
