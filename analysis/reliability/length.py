"""Length / verbosity bias: does the longer response win, do scores rise with length."""

from __future__ import annotations

import polars as pl

from .common import ratio_rows, row, unavailable
from .context import AuditContext
from .stats import fisher_ci

NOTE = "95% CI: bootstrap over items"


def avg_rank(partition: str, column: str) -> str:
    """SQL: the rank of `column` within `partition`, ties sharing their average rank (as Spearman wants)."""
    return (
        f"(rank() OVER (PARTITION BY {partition} ORDER BY {column}) "
        f"+ (count(*) OVER (PARTITION BY {partition}, {column}) - 1) / 2.0)"
    )


def length_metrics(ctx: AuditContext) -> list[dict]:
    out = []
    judges = ctx.pairwise_judges()
    longer = ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()})
        SELECT jkey, item_id, count(*) AS n, count(*) FILTER (WHERE winner = longer_rid) AS longer_wins
        FROM pw WHERE longer_rid IS NOT NULL AND winner IS NOT NULL AND winner <> 'tie'
        GROUP BY jkey, item_id""")
    out += ratio_rows(
        longer,
        "p_longer_wins",
        "longer_wins",
        "n",
        f"{NOTE}; parsed verdicts on pairs of different lengths, ties left out; 0.5 = no length preference",
        judges,
        "no parsed pairwise verdict on responses of known, different lengths",
    )
    # with a reference (gold, else human majority): error rates when the better response is the shorter / longer one
    for kind in ("gold", "human"):
        ref = ctx.frame(f"""
            WITH pw AS ({ctx.pairwise_sql()}), ref AS ({ctx.pair_labels_sql(kind)})
            SELECT pw.jkey, pw.item_id,
                   count(*) FILTER (WHERE ref.ref <> pw.longer_rid) AS n_short,
                   count(*) FILTER (WHERE ref.ref <> pw.longer_rid AND pw.winner IS DISTINCT FROM ref.ref) AS err_short,
                   count(*) FILTER (WHERE ref.ref = pw.longer_rid) AS n_long,
                   count(*) FILTER (WHERE ref.ref = pw.longer_rid AND pw.winner IS DISTINCT FROM ref.ref) AS err_long
            FROM pw JOIN ref USING (item_id, r_lo, r_hi)
            WHERE pw.longer_rid IS NOT NULL AND ref.ref <> 'tie'
            GROUP BY 1, 2""")
        if ref.height:
            label = "gold label" if kind == "gold" else "human majority"
            out += ratio_rows(
                ref,
                "error_rate_gold_shorter",
                "err_short",
                "n_short",
                f"{NOTE}; share of verdicts that miss the {label} when the better response is the shorter",
                judges,
                "no labelled pair whose better response is the shorter",
            )
            out += ratio_rows(
                ref,
                "error_rate_gold_longer",
                "err_long",
                "n_long",
                f"{NOTE}; share of verdicts that miss the {label} when the better response is the longer",
                judges,
                "no labelled pair whose better response is the longer",
            )
            break
    else:
        out += [
            unavailable(j, m, "no gold or human labels on pairs")
            for j in judges
            for m in ("error_rate_gold_shorter", "error_rate_gold_longer")
        ]
    # pointwise: Spearman of score with length, overall and within items
    pj = ctx.pointwise_judges()
    overall = {
        r[0]: r[1:]
        for r in ctx.rows(f"""
        WITH p AS (SELECT jkey, {avg_rank("jkey", "n_chars")} AS rl, {avg_rank("jkey", "score")} AS rs
                   FROM aj WHERE protocol = 'pointwise' AND probe IS NULL AND score IS NOT NULL AND n_chars IS NOT NULL)
        SELECT jkey, corr(rl, rs), count(*) FROM p GROUP BY jkey""")
    }
    within = {
        r[0]: r[1:]
        for r in ctx.rows(f"""
        WITH p AS (SELECT jkey, item_id,
                          {avg_rank("jkey, item_id", "n_chars")} AS rl,
                          {avg_rank("jkey, item_id", "score")} AS rs,
                          count(*) OVER (PARTITION BY jkey, item_id) AS k
                   FROM aj WHERE protocol = 'pointwise' AND probe IS NULL AND score IS NOT NULL AND n_chars IS NOT NULL),
        c AS (SELECT jkey, item_id, rl - avg(rl) OVER (PARTITION BY jkey, item_id) AS dl,
                     rs - avg(rs) OVER (PARTITION BY jkey, item_id) AS ds FROM p WHERE k >= 3)
        SELECT jkey, sum(dl * ds) / sqrt(sum(dl * dl) * sum(ds * ds)), count(*), count(DISTINCT item_id) FROM c GROUP BY jkey""")
    }
    for j in pj:
        rho, n = overall.get(j, (None, 0))
        if rho is None:
            out.append(unavailable(j, "length_score_spearman", "no scored response of known length", n))
        else:
            out.append(
                row(
                    j,
                    "length_score_spearman",
                    rho,
                    fisher_ci(rho, n, 1.06),
                    n,
                    "Spearman of score with response length over all scored responses; 95% CI: Fisher z",
                )
            )
        rho_w, n_w, n_items = within.get(j, (None, 0, 0))
        if rho_w is None:
            out.append(
                unavailable(j, "length_score_spearman_within", "no item with three or more scored responses", n_w)
            )
        else:
            out.append(
                row(
                    j,
                    "length_score_spearman_within",
                    rho_w,
                    fisher_ci(rho_w, n_w - n_items, 1.06),
                    n_w,
                    f"rank correlation within items ({n_items} items with ≥3 responses), pooled; 95% CI: Fisher z",
                )
            )
    return out


def length_score_points(ctx: AuditContext, limit: int = 3000):
    """A sample of (judge, model, n_chars, score_norm) for the length-vs-score scatter, and binned means."""
    sample = ctx.frame(f"""
        SELECT jkey AS judge, model, n_chars, score_norm FROM aj
        WHERE protocol = 'pointwise' AND score_norm IS NOT NULL AND n_chars IS NOT NULL
        USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (0)""")
    bins = ctx.frame("""
        WITH p AS (SELECT jkey, n_chars, score_norm, ntile(10) OVER (PARTITION BY jkey ORDER BY n_chars) AS b FROM aj
                   WHERE protocol = 'pointwise' AND score_norm IS NOT NULL AND n_chars IS NOT NULL)
        SELECT jkey AS judge, b AS decile, median(n_chars) AS n_chars, avg(score_norm) AS mean_score, count(*) AS n
        FROM p GROUP BY 1, 2 ORDER BY 1, 2""")
    return sample, bins


def length_correlation(ctx: AuditContext, by: str = "model") -> pl.DataFrame:
    """Spearman of score with response length per model (or judge), over the filtered pointwise judgments."""
    group = {"model": "model", "judge": "jkey"}[by]
    frame = ctx.frame(f"""
        WITH p AS (SELECT {group} AS g, {avg_rank(group, "n_chars")} AS rl, {avg_rank(group, "score")} AS rs
                   FROM aj WHERE protocol = 'pointwise' AND probe IS NULL AND score IS NOT NULL
                     AND n_chars IS NOT NULL AND {group} IS NOT NULL)
        SELECT g AS "{by}", corr(rl, rs) AS spearman, count(*) AS n FROM p GROUP BY g ORDER BY g""")
    cis = [
        fisher_ci(r, n, 1.06) if r is not None else (None, None) for r, n in frame.select("spearman", "n").iter_rows()
    ]
    return frame.with_columns(
        pl.Series("ci_low", [c[0] for c in cis], dtype=pl.Float64),
        pl.Series("ci_high", [c[1] for c in cis], dtype=pl.Float64),
    )
