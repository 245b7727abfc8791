"""Position bias: swap consistency, first-slot rate among inconsistent swaps, P(first shown wins)."""

from __future__ import annotations

import polars as pl

from .common import AuditRow, or_none, ratio_rows
from .context import AuditContext

NOTE_BOOT = "95% CI: bootstrap over items"


# said of P(first shown wins) when a judge saw every pair in one order; a flag on it carries the short form as `caveat`
CONFOUNDED = (
    "every pair was shown in the same order, so position and response identity are confounded: read it as a "
    "position effect only if that order was random"
)
CONFOUNDED_CAVEAT = "the order shown never varied, so position and response identity are confounded"


def _swap_pairs_sql(ctx: AuditContext) -> str:
    """Per judge and item: swap pairs (same pair, template, criterion and sample, both orders shown)."""
    return f"""
        WITH pw AS ({ctx.pairwise_sql()}),
        pairs AS (
            SELECT jkey, item_id, r_lo, r_hi,
                   max(winner) FILTER (WHERE first_rid = r_lo) AS w1,
                   max(winner) FILTER (WHERE first_rid = r_hi) AS w2,
                   bool_or(parse_status <> 'ok') AS any_unparsed
            FROM pw WHERE first_rid IS NOT NULL
            GROUP BY jkey, item_id, template, criterion, sample, r_lo, r_hi
            HAVING count(DISTINCT first_rid) = 2
        )
        SELECT jkey, item_id,
               count(*) AS pairs,
               count(*) FILTER (WHERE w1 IS NOT NULL AND w2 IS NOT NULL) AS both_parsed,
               count(*) FILTER (WHERE w1 = w2) AS consistent,
               count(*) FILTER (WHERE w1 <> w2 AND w1 <> 'tie' AND w2 <> 'tie') AS flipped,
               count(*) FILTER (WHERE w1 = r_lo AND w2 = r_hi) AS first_twice
        FROM pairs GROUP BY jkey, item_id
    """


# why no swap pair was found when the source never said which response was shown first
UNKNOWN_ORDER = (
    "the order the responses were shown in is unknown: map the file's shown-first column, or --set shown_first=a if "
    "response a was always shown first (docs/ingest.md)"
)


def _no_swaps(ctx: AuditContext) -> str:
    """Why no pair was judged in both orders: none was, or the order shown is unknown."""
    known = ctx.frame(f"WITH pw AS ({ctx.pairwise_sql()}) SELECT count(first_rid) AS k FROM pw")["k"][0]
    return "no pair was judged in both orders" if known else UNKNOWN_ORDER


def position_metrics(ctx: AuditContext) -> list[AuditRow]:
    per_item = ctx.frame(_swap_pairs_sql(ctx))
    judges = ctx.pairwise_judges()
    rows = []
    if per_item.height == 0:
        why = _no_swaps(ctx) if judges else "no pairwise judgments"
        rows += [ctx.none(j, m, why) for j in or_none(judges) for m in ("swap_consistency", "first_slot_rate")]
    else:
        n_pairs = dict(per_item.group_by("jkey").agg(p=pl.col("pairs").sum()).iter_rows())
        for r in ratio_rows(
            per_item, "swap_consistency", "consistent", "both_parsed", "", judges, "no pair was judged in both orders"
        ):
            if r["value"] is not None:
                unparsed = n_pairs.get(r["judge"], 0) - r["n"]
                r["note"] = (
                    f"{NOTE_BOOT}; over swap pairs with both verdicts parsed ({unparsed} pair(s) with an "
                    f"unparsed verdict left out); 1 = never flips"
                )
            rows.append(r)
        swapped = set(per_item["jkey"].to_list())
        rows += ratio_rows(
            per_item,
            "first_slot_rate",
            "first_twice",
            "flipped",
            f"{NOTE_BOOT}; among swap pairs whose verdict followed the position (no ties): share "
            f"won by the first slot; 0.5 = unbiased",
            [j for j in judges if j in swapped],
            "no inconsistent swap pair",
        )
        rows += [
            ctx.none(j, "first_slot_rate", "no pair was judged in both orders") for j in judges if j not in swapped
        ]
    first = ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()})
        SELECT jkey, item_id, count(*) AS n, count(*) FILTER (WHERE winner = first_rid) AS first_wins
        FROM pw WHERE first_rid IS NOT NULL AND winner IS NOT NULL AND winner <> 'tie'
        GROUP BY jkey, item_id""")
    fixed = {
        j
        for j, k in ctx.rows(
            "SELECT jkey, count(DISTINCT shown_first) FROM aj WHERE protocol = 'pairwise' "
            "AND shown_first IS NOT NULL GROUP BY jkey"
        )
        if k == 1
    }
    for r in ratio_rows(
        first,
        "p_first_shown_wins",
        "first_wins",
        "n",
        f"{NOTE_BOOT}; parsed verdicts with a known order, ties left out; 0.5 = unbiased",
        judges,
        "no parsed pairwise verdict with a known order",
    ):
        if r["judge"] in fixed and r["value"] is not None:
            r["note"] = (r["note"] or "") + "; " + CONFOUNDED
        rows.append(r)
    return rows
