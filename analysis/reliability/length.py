"""Length / verbosity bias: does the longer response win, do scores rise with length."""

from __future__ import annotations

import polars as pl

from .common import AuditRow, ratio_rows, row, unavailable
from .context import AuditContext
from .stats import fisher_ci

NOTE = "95% CI: bootstrap over items"


def _ranked(frame: pl.DataFrame, over: list[str]) -> pl.DataFrame:
    """n_chars and score as ranks within `over`, ties sharing their average rank (as Spearman wants)."""
    return frame.with_columns(
        pl.col("n_chars").rank("average").over(over).alias("rl"), pl.col("score").rank("average").over(over).alias("rs")
    )


def spearman(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """by…, rho, n: Spearman of score with n_chars in each group (rho null without variation)."""
    if frame.height == 0:
        return pl.DataFrame(schema={**{b: frame.schema[b] for b in by}, "rho": pl.Float64, "n": pl.UInt32})
    return (
        _ranked(frame, by)
        .group_by(by, maintain_order=True)
        .agg(pl.corr("rl", "rs").alias("rho"), pl.len().alias("n"))
        .with_columns(pl.col("rho").fill_nan(None))
    )


def spearman_within(frame: pl.DataFrame, by: str, item: str) -> pl.DataFrame:
    """by, rho, n, n_items: rank correlation within items with three or more scored responses, pooled."""
    k = pl.len().over([by, item])
    c = (
        _ranked(frame, [by, item])
        .filter(k >= 3)
        .with_columns(
            (pl.col("rl") - pl.col("rl").mean().over([by, item])).alias("dl"),
            (pl.col("rs") - pl.col("rs").mean().over([by, item])).alias("ds"),
        )
    )
    out = c.group_by(by, maintain_order=True).agg(
        ((pl.col("dl") * pl.col("ds")).sum() / ((pl.col("dl") ** 2).sum() * (pl.col("ds") ** 2).sum()).sqrt()).alias(
            "rho"
        ),
        pl.len().alias("n"),
        pl.col(item).n_unique().alias("n_items"),
    )
    return out.with_columns(pl.col("rho").fill_nan(None))


def length_metrics(ctx: AuditContext) -> list[AuditRow]:
    """p_longer_wins, the error rates by which response is better, and the score-length correlations."""
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
    return out + _errors_by_length(ctx, judges) + _length_correlations(ctx)


def _errors_by_length(ctx: AuditContext, judges: list[str]) -> list[AuditRow]:
    """Against a reference (gold, else the human majority): the judge's error rate when the better response is
    the shorter one, and when it is the longer one."""
    out: list[AuditRow] = []
    # per judge: against the gold labels on its pairs, else the human majority (a judge's reference does not depend
    # on which other judges the selection holds)
    left = list(judges)
    for kind in ("gold", "human"):
        if not left:  # every judge measured against the gold labels: the human majority is not read
            break
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
        ref = ref.filter(pl.col("jkey").is_in(left))
        if not ref.height:
            continue
        these = sorted(set(ref["jkey"].to_list()))
        left = [j for j in left if j not in these]
        label = "gold label" if kind == "gold" else "human majority"
        for metric, num, den, side in (
            ("error_rate_gold_shorter", "err_short", "n_short", "shorter"),
            ("error_rate_gold_longer", "err_long", "n_long", "longer"),
        ):
            out += ratio_rows(
                ref,
                metric,
                num,
                den,
                f"{NOTE}; share of verdicts that miss the {label} when the better response is the {side}",
                these,
                f"no labelled pair whose better response is the {side}",
            )
    out += [
        unavailable(j, m, "no gold or human labels on pairs")
        for j in left
        for m in ("error_rate_gold_shorter", "error_rate_gold_longer")
    ]
    return out


def _length_correlations(ctx: AuditContext) -> list[AuditRow]:
    """Pointwise: Spearman of score with response length, over all scored responses and within items."""
    out: list[AuditRow] = []
    # pointwise: Spearman of score with length, overall and within items
    pj = ctx.pointwise_judges()
    scored = ctx.frame("""
        SELECT jkey, item_id, n_chars, score FROM aj
        WHERE protocol = 'pointwise' AND probe IS NULL AND score IS NOT NULL AND n_chars IS NOT NULL
        ORDER BY jkey, judgment_id  -- the correlations sum in this order: the same value in every run""")
    overall = {r[0]: r[1:] for r in spearman(scored, ["jkey"]).iter_rows()}
    within = {r[0]: r[1:] for r in spearman_within(scored, "jkey", "item_id").iter_rows()}
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
    scored = ctx.frame(f"""
        SELECT {group} AS "{by}", n_chars, score FROM aj
        WHERE protocol = 'pointwise' AND probe IS NULL AND score IS NOT NULL AND n_chars IS NOT NULL
          AND {group} IS NOT NULL""")
    frame = spearman(scored, [by]).rename({"rho": "spearman"}).sort(by).with_columns(pl.col("n").cast(pl.Int64))
    cis = [
        fisher_ci(r, n, 1.06) if r is not None else (None, None) for r, n in frame.select("spearman", "n").iter_rows()
    ]
    return frame.with_columns(
        pl.Series("ci_low", [c[0] for c in cis], dtype=pl.Float64),
        pl.Series("ci_high", [c[1] for c in cis], dtype=pl.Float64),
    )
