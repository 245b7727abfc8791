"""Consistency: scores versus pairwise verdicts, transitivity, repeated samples."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl

from .common import AuditRow, bootstrap_sums, or_none, ratio_rows, row, unavailable
from .context import AuditContext

NOTE = "95% CI: bootstrap over items"


def score_pairwise(ctx: AuditContext) -> list[AuditRow]:
    """Where a judge both scored the two responses of a pair and compared them: how often the two disagree."""
    frame = ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()}),
        s AS (SELECT jkey, response_id, criterion, avg(score_norm) AS s FROM aj
              WHERE protocol = 'pointwise' AND probe IS NULL AND score_norm IS NOT NULL GROUP BY ALL)
        SELECT pw.jkey, pw.item_id,
               count(*) AS n,
               count(*) FILTER (WHERE (sa.s > sb.s AND pw.winner <> pw.response_a)
                                   OR (sa.s < sb.s AND pw.winner <> pw.response_b)) AS inconsistent
        FROM pw
        JOIN s sa ON sa.jkey = pw.jkey AND sa.response_id = pw.response_a AND sa.criterion IS NOT DISTINCT FROM pw.criterion
        JOIN s sb ON sb.jkey = pw.jkey AND sb.response_id = pw.response_b AND sb.criterion IS NOT DISTINCT FROM pw.criterion
        WHERE pw.winner IS NOT NULL AND pw.winner <> 'tie' AND sa.s <> sb.s
        GROUP BY 1, 2""")
    return ratio_rows(
        frame,
        "score_pairwise_inconsistency",
        "inconsistent",
        "n",
        f"{NOTE}; parsed non-tie verdicts on pairs the same judge also scored (mean normalised score "
        "over templates and samples; equal scores left out); 0 = consistent",
        ctx.pairwise_judges(),
        "no pair that the judge both scored and compared",
    )


def transitivity(ctx: AuditContext) -> list[AuditRow]:
    """Share of complete triads of responses to one item whose majority preferences form a cycle."""
    prefs = ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()})
        SELECT jkey, item_id, r_lo, r_hi,
               sum(CASE WHEN winner = r_lo THEN 1 WHEN winner = r_hi THEN -1 ELSE 0 END) AS margin
        FROM pw WHERE winner IS NOT NULL AND winner <> 'tie'
        GROUP BY 1, 2, 3, 4""")
    out = []
    judges = ctx.pairwise_judges()
    multi = prefs.group_by("jkey", "item_id").agg(pl.len().alias("k")).filter(pl.col("k") >= 3)
    few = "no item with three or more responses compared pairwise"
    if multi.height == 0:
        return [unavailable(j, "transitivity_violation_rate", few) for j in or_none(judges)]
    with_items = set(multi["jkey"].to_list())  # a judge's note says what its own judgments lack
    out += [unavailable(j, "transitivity_violation_rate", few) for j in judges if j not in with_items]
    judges = [j for j in judges if j in with_items]
    prefs = prefs.join(multi.select("jkey", "item_id"), on=["jkey", "item_id"])
    per_item = []
    for (jkey, item), g in prefs.group_by(["jkey", "item_id"]):
        beats = {}
        for lo, hi, m in g.select("r_lo", "r_hi", "margin").iter_rows():
            if m > 0:
                beats[(lo, hi)] = True
                beats[(hi, lo)] = False
            elif m < 0:
                beats[(lo, hi)] = False
                beats[(hi, lo)] = True
        nodes = sorted({x for pair in beats for x in pair})
        triads = cycles = 0
        for a, b, c in combinations(nodes, 3):
            if (a, b) in beats and (b, c) in beats and (a, c) in beats:
                triads += 1
                if beats[(a, b)] == beats[(b, c)] == beats[(c, a)]:
                    cycles += 1
        if triads:
            per_item.append({"jkey": jkey, "item_id": item, "cycles": cycles, "triads": triads})
    frame = pl.DataFrame(
        per_item, schema={"jkey": pl.String, "item_id": pl.String, "cycles": pl.Int64, "triads": pl.Int64}
    )
    out += ratio_rows(
        frame,
        "transitivity_violation_rate",
        "cycles",
        "triads",
        f"{NOTE}; share of complete triads (majority verdict per pair, ties left out) that form a cycle",
        judges,
        "no complete triad of decided pairs",
    )
    return out


def sample_agreement(ctx: AuditContext) -> list[AuditRow]:
    """Agreement between repeated samples of the same judgment (same judge, response(s), criterion, template, order)."""
    point = ctx.frame("""
        WITH p AS (SELECT jkey, item_id, response_id, criterion, template, sample, score FROM aj
                   WHERE protocol = 'pointwise' AND probe IS NULL AND score IS NOT NULL)
        SELECT a.jkey, a.item_id, count(*) AS n, count(*) FILTER (WHERE a.score = b.score) AS same
        FROM p a JOIN p b ON a.jkey = b.jkey AND a.response_id = b.response_id
             AND a.criterion IS NOT DISTINCT FROM b.criterion AND a.template IS NOT DISTINCT FROM b.template
             AND a.sample < b.sample
        GROUP BY 1, 2""")
    pair = ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()})
        SELECT a.jkey, a.item_id, count(*) AS n, count(*) FILTER (WHERE a.winner IS NOT DISTINCT FROM b.winner) AS same
        FROM pw a JOIN pw b ON a.jkey = b.jkey AND a.item_id = b.item_id AND a.r_lo = b.r_lo AND a.r_hi = b.r_hi
             AND a.first_rid IS NOT DISTINCT FROM b.first_rid AND a.criterion IS NOT DISTINCT FROM b.criterion
             AND a.template IS NOT DISTINCT FROM b.template AND a.sample < b.sample
        GROUP BY 1, 2""")
    frame = pl.concat([point, pair]).group_by("jkey", "item_id").agg(pl.col("n").sum(), pl.col("same").sum())
    return ratio_rows(
        frame,
        "sample_agreement",
        "same",
        "n",
        f"{NOTE}; share of pairs of repeated samples giving the same score or verdict; 1 = deterministic",
        ctx.judges(),
        "no judgment was sampled more than once",
    )


def corrected_accuracy(ctx: AuditContext, threshold: float = 0.5) -> list[AuditRow]:
    """The judge's pass rate corrected for its sensitivity and specificity on a labelled subset (Rogan–Gladen).

    Pointwise: pass = normalised score ≥ threshold (judge and human alike). Pairwise: pass = response A
    (as stored: Arena-Hard's baseline, LLMBar's output_1, PandaLM's response1) wins."""
    frame = ctx.frame(f"""
        WITH ref_h AS ({ctx.pair_labels_sql("human")}), ref_g AS ({ctx.pair_labels_sql("gold")}),
        pw AS ({ctx.pairwise_sql()}),
        p AS (
            SELECT pw.jkey, pw.item_id, (pw.winner = pw.response_a) AS judge_pass,
                   CASE WHEN coalesce(g.ref, h.ref) IS NULL OR coalesce(g.ref, h.ref) = 'tie' THEN NULL
                        ELSE coalesce(g.ref, h.ref) = pw.response_a END AS ref_pass
            FROM pw LEFT JOIN ref_h h USING (item_id, r_lo, r_hi) LEFT JOIN ref_g g USING (item_id, r_lo, r_hi)
        ),
        q AS (
            SELECT a.jkey, a.item_id, a.score_norm >= {threshold} AS judge_pass,
                   (SELECT avg(l.score_norm) FROM labels l WHERE l.kind IN ('human', 'gold') AND l.response_id = a.response_id
                      AND l.criterion IS NOT DISTINCT FROM a.criterion) >= {threshold} AS ref_pass
            FROM aj a WHERE a.protocol = 'pointwise' AND a.probe IS NULL AND a.score_norm IS NOT NULL
        )
        SELECT jkey, item_id, coalesce(judge_pass, false) AS judge_pass, ref_pass FROM p
        UNION ALL SELECT jkey, item_id, judge_pass, ref_pass FROM q""")
    out = []
    for j in ctx.judges():
        g = frame.filter(pl.col("jkey") == j)
        lab = g.filter(pl.col("ref_pass").is_not_null())
        if lab.height == 0:
            out.append(unavailable(j, "corrected_accuracy", "no labelled subset to estimate the judge's error rates"))
            continue
        per = (
            g.with_columns(
                jp=pl.col("judge_pass").cast(pl.Float64),
                tp=(pl.col("judge_pass") & pl.col("ref_pass")).fill_null(False).cast(pl.Float64),
                pos=pl.col("ref_pass").fill_null(False).cast(pl.Float64),
                tn=(~pl.col("judge_pass") & ~pl.col("ref_pass")).fill_null(False).cast(pl.Float64),
                neg=(~pl.col("ref_pass")).fill_null(False).cast(pl.Float64),
            )
            .group_by("item_id")
            .agg(pl.len().alias("n"), pl.col("jp", "tp", "pos", "tn", "neg").sum())
        )
        arr = {c: per[c].to_numpy() for c in ("n", "jp", "tp", "pos", "tn", "neg")}
        value = _rogan_gladen(arr)
        if value is None:
            out.append(
                unavailable(
                    j,
                    "corrected_accuracy",
                    "the judge is no better than chance on the labelled subset "
                    "(sensitivity + specificity ≤ 1), or one class is missing",
                    lab.height,
                )
            )
            continue
        ci = _rogan_gladen_interval(arr)
        raw = float(arr["jp"].sum() / arr["n"].sum())
        se = arr["tp"].sum() / arr["pos"].sum()
        sp = arr["tn"].sum() / arr["neg"].sum()
        out.append(
            row(
                j,
                "corrected_accuracy",
                value,
                ci,
                int(arr["n"].sum()),
                f"Rogan–Gladen: judge pass rate {raw:.3f} corrected with sensitivity {se:.3f} and specificity "
                f"{sp:.3f} from {lab.height} labelled judgments; 95% CI: bootstrap over items (covers the "
                f"labelled subset's uncertainty)",
            )
        )
    return out


_RG_COLUMNS = ("n", "jp", "tp", "pos", "tn", "neg")


def _rogan_gladen_raw(s) -> float | None:
    """Rogan–Gladen from the sums of n, jp, tp, pos, tn, neg (in that order), before clipping to [0, 1]."""
    n, jp, tp, pos, tn, neg = s
    if not n or not pos or not neg:
        return None
    se, sp = tp / pos, tn / neg
    if se + sp - 1 <= 0:
        return None
    return float((jp / n + sp - 1) / (se + sp - 1))


def _rogan_gladen_sums(s) -> float | None:
    raw = _rogan_gladen_raw(s)
    return None if raw is None else min(1.0, max(0.0, raw))


def _rogan_gladen(arr: dict) -> float | None:
    return _rogan_gladen_sums([arr[c].sum() for c in _RG_COLUMNS])


def _rogan_gladen_interval(arr: dict) -> tuple[float | None, float | None]:
    """95% interval over items of the corrected pass rate (clipped to [0, 1] like the value)."""
    return bootstrap_sums(
        np.column_stack([arr[c] for c in _RG_COLUMNS]), _rogan_gladen_sums, clip=(0.0, 1.0), smooth=_rogan_gladen_raw
    )
