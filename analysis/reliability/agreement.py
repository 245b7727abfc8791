"""Agreement of judges with human and gold labels, between annotators, and between judges."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl
from scipy import stats as sps

from .common import AuditRow, bootstrap_ratio, bootstrap_stat, bootstrap_sums, or_none, row, unavailable, wilson
from .context import AuditContext
from .stats import (
    alpha_from_coincidence,
    coincidences,
    cohen_kappa,
    fisher_ci,
    level_codes,
    weighted_kappa_codes,
)

HUMANS = "(humans)"


def _category(winner: str | None, r_lo: str) -> str:
    if winner is None:
        return "none"
    if winner == "tie":
        return "tie"
    return "lo" if winner == r_lo else "hi"


def _pair_rows(ctx: AuditContext, kind: str) -> pl.DataFrame:
    """Every unprobed pairwise judgment on a pair with a reference label of `kind`, with that reference."""
    return ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()}), ref AS ({ctx.pair_labels_sql(kind)})
        SELECT pw.jkey, pw.item_id, pw.r_lo, pw.r_hi, pw.winner, ref.ref
        FROM pw JOIN ref USING (item_id, r_lo, r_hi)""")


CATS = {"lo": 0, "hi": 1, "tie": 2, "none": 3}


def kappa_from_confusion(m: np.ndarray) -> float | None:
    """Cohen's kappa from a 4 × 4 confusion matrix of counts (or its 16 cells in a row); None where undefined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        v = _kappas(np.asarray(m, dtype=float).reshape(1, 16))[0]
    return float(v) if np.isfinite(v) else None


def _kappa_of(frame: pl.DataFrame) -> tuple[float | None, tuple]:
    """Cohen's kappa of judge against reference, and a bootstrap-over-items interval (per-item confusion counts)."""
    cj = np.array([CATS[_category(w, lo)] for w, lo in frame.select("winner", "r_lo").iter_rows()])
    cr = np.array([CATS[_category(w, lo)] for w, lo in frame.select("ref", "r_lo").iter_rows()])
    _, inv = np.unique(frame["item_id"].to_numpy(), return_inverse=True)
    k = inv.max() + 1
    per_item = np.zeros((k, 16))
    np.add.at(per_item, (inv, cj * 4 + cr), 1)
    value = kappa_from_confusion(per_item.sum(axis=0).reshape(4, 4))
    if k < 3:
        return value, (None, None)
    return value, bootstrap_sums(per_item, kappa_from_confusion, many=_kappas)


def _kappas(sums: np.ndarray) -> np.ndarray:
    """Cohen's kappa for each row of flattened 4 × 4 confusion counts (NaN where undefined)."""
    m = sums.reshape(-1, 4, 4)
    n = m.sum(axis=(1, 2))
    po = np.trace(m, axis1=1, axis2=2) / n
    pe = np.einsum("bi,bi->b", m.sum(axis=2), m.sum(axis=1)) / (n * n)
    return np.where(pe >= 1, np.nan, (po - pe) / (1 - pe))


def pairwise_reference_metrics(ctx: AuditContext, kind: str, suffix: str) -> list[AuditRow]:
    """agreement_<suffix> and kappa_<suffix> per judge against the `kind` reference."""
    frame = _pair_rows(ctx, kind)
    judges = ctx.pairwise_judges()
    label = "human majority (strict majority of the annotators of each pair)" if kind == "human" else "gold label"
    why = f"no pairwise judgment on a pair with a {label}"
    if frame.height == 0:
        return [unavailable(j, m, why) for j in or_none(judges) for m in (f"agreement_{suffix}", f"kappa_{suffix}")]
    have = set(frame["jkey"].unique().to_list())  # a judge with none of its pairs labelled says so, as above
    out = [unavailable(j, m, why) for j in judges if j not in have for m in (f"agreement_{suffix}", f"kappa_{suffix}")]
    for (jkey,), g in frame.group_by(["jkey"], maintain_order=True):
        per_item = g.group_by("item_id").agg(
            n=pl.len(), agree=(pl.col("winner") == pl.col("ref")).fill_null(False).sum()
        )
        value = float(int(per_item["agree"].sum()) / int(per_item["n"].sum()))  # counts: integer sums
        out.append(
            row(
                jkey,
                f"agreement_{suffix}",
                value,
                bootstrap_ratio(per_item["agree"].to_numpy(), per_item["n"].to_numpy(), clip=(0.0, 1.0)),
                int(per_item["n"].sum()),
                f"95% CI: bootstrap over items; against the {label}; an unparsed verdict counts as disagreement",
            )
        )
        kappa, ci = _kappa_of(g)
        out.append(
            row(
                jkey,
                f"kappa_{suffix}",
                kappa,
                ci,
                g.height,
                "Cohen's kappa over {first, second, tie, no verdict}; 95% CI: bootstrap over items",
            )
        )
    return out


def annotator_metrics(ctx: AuditContext, ceiling: bool = True) -> list[AuditRow]:
    """Each judge against each human annotator, and (ceiling) the annotators among themselves."""
    frame = ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()})
        SELECT pw.jkey, pw.item_id, pw.winner, l.annotator, l.ref
        FROM pw JOIN ({ctx.annotator_labels_sql("human")}) l USING (item_id, r_lo, r_hi)""")
    out = []
    for (jkey, annotator), g in frame.group_by(["jkey", "annotator"], maintain_order=True):
        agree = (g["winner"] == g["ref"]).fill_null(False)
        share = agree.mean()
        assert isinstance(share, float)  # the mean of a non-empty group's booleans, nulls filled
        per_item = g.with_columns(agree.alias("a")).group_by("item_id").agg(n=pl.len(), a=pl.col("a").sum())
        out.append(
            row(
                jkey,
                f"agreement_with:{annotator}",
                share,
                bootstrap_ratio(per_item["a"].to_numpy(), per_item["n"].to_numpy(), clip=(0.0, 1.0)),
                g.height,
                "95% CI: bootstrap over items; unparsed counts as disagreement",
            )
        )
    return out + (human_ceiling(ctx.frame(ctx.annotator_labels_sql("human"))) if ceiling else [])


def human_ceiling(labels: pl.DataFrame) -> list[AuditRow]:
    """The annotators among themselves: Krippendorff's alpha (with a bootstrap over pairs), mean percent
    agreement and mean Cohen's kappa over annotator pairs (the ceiling for judges)."""
    out: list[AuditRow] = []
    if labels.height:
        wide = labels.with_columns(
            pl.concat_str(["item_id", "r_lo", "r_hi"], separator="|").alias("unit"),
            pl.when(pl.col("ref") == "tie")
            .then(pl.lit("tie"))
            .when(pl.col("ref") == pl.col("r_lo"))
            .then(pl.lit("lo"))
            .otherwise(pl.lit("hi"))
            .alias("code"),
        )
        coded = wide.group_by("unit", maintain_order=True).agg(pl.col("code"))["code"].to_list()
        n_units = sum(1 for u in coded if len(u) >= 2)
        cats: dict[str, dict[str, str]] = {}
        for unit, code, ann in wide.select("unit", "code", "annotator").iter_rows():
            cats.setdefault(ann, {})[unit] = code
        per_unit, values = coincidences(coded)
        alpha = alpha_from_coincidence(per_unit.sum(axis=0), values) if len(per_unit) else None
        if alpha is not None:
            v = len(values)
            ci = bootstrap_sums(
                per_unit.reshape(len(per_unit), v * v), lambda c: alpha_from_coincidence(c.reshape(v, v), values)
            )
            out.append(
                row(
                    HUMANS,
                    "alpha_humans",
                    alpha,
                    ci,
                    n_units,
                    "Krippendorff's alpha (nominal) across the human annotators; 95% CI: bootstrap over pairs",
                )
            )
        else:
            out.append(unavailable(HUMANS, "alpha_humans", "fewer than two annotators on any pair"))
        agreements, kappas, n_shared = [], [], 0
        for x, y in combinations(sorted(cats), 2):
            shared = sorted(set(cats[x]) & set(cats[y]))
            if not shared:
                continue
            a = [cats[x][u] for u in shared]
            b = [cats[y][u] for u in shared]
            agreements.append(np.mean([p == q for p, q in zip(a, b)]))
            kappas.append(cohen_kappa(a, b))
            n_shared += len(shared)
        if agreements:
            out.append(
                row(
                    HUMANS,
                    "agreement_human_human",
                    float(np.mean(agreements)),
                    n=n_shared,
                    note=f"mean percent agreement over {len(agreements)} annotator pair(s): the ceiling for judges",
                )
            )
            out.append(
                row(
                    HUMANS,
                    "kappa_human_human",
                    float(np.mean([k for k in kappas if k is not None])),
                    n=n_shared,
                    note="mean pairwise Cohen's kappa between annotators",
                )
            )
    else:
        out.append(unavailable(HUMANS, "alpha_humans", "no human pairwise labels"))
    return out


def score_metrics(ctx: AuditContext) -> list[AuditRow]:
    """Pointwise judges against human scores: Spearman, Kendall, weighted kappa, leniency, false positive rate."""
    frame = ctx.frame("""
        WITH h AS (
            SELECT response_id, criterion, avg(score_norm) AS human, any_value(scale_min) AS lo,
                   any_value(scale_max) AS hi, avg(score) AS human_raw, count(*) AS n_h
            FROM labels WHERE kind = 'human' AND response_id IS NOT NULL AND score_norm IS NOT NULL
              AND item_id IN (SELECT item_id FROM aj)
            GROUP BY response_id, criterion
        )
        SELECT a.jkey, a.item_id, a.score_norm AS judge, h.human, a.score AS judge_raw, h.human_raw,
               a.scale_min, a.scale_max, h.lo, h.hi, h.n_h
        FROM aj a JOIN h ON h.response_id = a.response_id AND h.criterion IS NOT DISTINCT FROM a.criterion
        WHERE a.protocol = 'pointwise' AND a.probe IS NULL AND a.score_norm IS NOT NULL
        ORDER BY a.jkey, a.judgment_id  -- the correlations sum in this order: the same value in every run""")
    judges = ctx.pointwise_judges()
    names = ("spearman_human", "kendall_human", "weighted_kappa_human", "leniency", "false_positive_rate")
    why = "no pointwise judgment of a response with a human score"
    if frame.height == 0:
        return [unavailable(j, m, why) for j in or_none(judges) for m in names]
    have = set(frame["jkey"].unique().to_list())  # a judge's note says what its own judgments lack
    out = [unavailable(j, m, why) for j in judges if j not in have for m in names]
    for (jkey,), g in frame.group_by(["jkey"], maintain_order=True):
        out += _correlations(jkey, g) + _weighted_kappa(jkey, g) + _leniency(jkey, g)
    return out


def _correlations(jkey: str, g: pl.DataFrame) -> list[AuditRow]:
    """spearman_human and kendall_human of one judge's normalised scores against the human ones."""
    x, y = g["judge"].to_numpy(), g["human"].to_numpy()
    n = len(x)
    if not (n >= 3 and np.std(x) > 0 and np.std(y) > 0):
        return [
            unavailable(jkey, m, "fewer than 3 scored responses or no variation", n)
            for m in ("spearman_human", "kendall_human")
        ]
    rho = float(sps.spearmanr(x, y).statistic)
    tau = float(sps.kendalltau(x, y).statistic)
    return [
        row(jkey, "spearman_human", rho, fisher_ci(rho, n, 1.06), n, "95% CI: Fisher z, se 1.06/√(n−3)"),
        row(jkey, "kendall_human", tau, fisher_ci(tau, n, 1.0), n, "Kendall tau-b; 95% CI: Fisher z (approximate)"),
    ]


def _weighted_kappa(jkey: str, g: pl.DataFrame) -> list[AuditRow]:
    """weighted_kappa_human where judge and human score on one integer scale."""
    n = g.height
    same_scale = (g["scale_min"] == g["lo"]).all() and (g["scale_max"] == g["hi"]).all()
    jr, hr = g["judge_raw"].to_numpy(), g["human_raw"].to_numpy()
    if not (same_scale and np.all(jr == np.round(jr)) and np.all(hr == np.round(hr))):
        return [unavailable(jkey, "weighted_kappa_human", "judge and human scores are not on one integer scale", n)]
    levels = list(np.arange(g["scale_min"][0], g["scale_max"][0] + 1))
    ca, cb = level_codes(jr.tolist(), levels), level_codes(hr.tolist(), levels)
    wk: float | None = None
    ci: tuple[float | None, float | None] = (None, None)
    if ca is not None and cb is not None:
        k = len(levels)
        wk = weighted_kappa_codes(ca, cb, k)
        ci = bootstrap_stat([ca, cb], lambda codes: weighted_kappa_codes(codes[0], codes[1], k), n_boot=200)
    note = "quadratic weights on the shared integer scale (human = mean of annotators); 95% CI: bootstrap"
    return [row(jkey, "weighted_kappa_human", wk, ci, n, note)]


def _leniency(jkey: str, g: pl.DataFrame) -> list[AuditRow]:
    """leniency (judge minus human, with a bootstrap over items) and, on pass/fail labels, the false positive rate."""
    g = g.sort("item_id", "judge", "human")  # each item's float sum adds up in one order in every process
    x, y = g["judge"].to_numpy(), g["human"].to_numpy()
    n = len(x)
    out: list[AuditRow] = []
    diff = x - y
    per_item = (
        g.with_columns((pl.col("judge") - pl.col("human")).alias("d"))
        .group_by("item_id")
        .agg(s=pl.col("d").sum(), n=pl.len())
    )
    out.append(
        row(
            jkey,
            "leniency",
            float(diff.mean()),
            bootstrap_ratio(per_item["s"].to_numpy(), per_item["n"].to_numpy()),
            n,
            "mean normalised judge score minus human score (0 = calibrated, >0 = lenient); 95% CI: bootstrap over items",
        )
    )
    binary = set(np.unique(y)) <= {0.0, 1.0} and set(np.unique(x)) <= {0.0, 1.0}
    if binary and (y == 0).any():
        neg = y == 0
        fp = float((x[neg] == 1).sum())
        out.append(
            row(
                jkey,
                "false_positive_rate",
                fp / neg.sum(),
                wilson(fp, int(neg.sum())),
                int(neg.sum()),
                "P(judge passes | human fails); 95% CI: Wilson",
            )
        )
    else:
        out.append(unavailable(jkey, "false_positive_rate", "labels are not binary pass/fail", n))
    return out


def agreement_matrix(ctx: AuditContext) -> pl.DataFrame:
    """Judge × judge agreement on the same pair shown in the same order (pairwise) or the same
    response and criterion (pointwise, exact normalised score)."""
    pair = ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()}),
        one AS (SELECT jkey, item_id, r_lo, r_hi, first_rid, criterion, template, any_value(winner) AS winner
                FROM pw GROUP BY ALL)
        SELECT a.jkey AS judge_a, b.jkey AS judge_b, count(*) AS n,
               avg(CASE WHEN a.winner IS NOT DISTINCT FROM b.winner THEN 1.0 ELSE 0.0 END) AS agreement
        FROM one a JOIN one b ON a.item_id = b.item_id AND a.r_lo = b.r_lo AND a.r_hi = b.r_hi
             AND a.first_rid IS NOT DISTINCT FROM b.first_rid AND a.criterion IS NOT DISTINCT FROM b.criterion
             AND a.jkey < b.jkey
        GROUP BY 1, 2""")
    point = ctx.frame("""
        WITH p AS (SELECT jkey, response_id, criterion, avg(score_norm) AS s FROM aj
                   WHERE protocol = 'pointwise' AND probe IS NULL AND score_norm IS NOT NULL GROUP BY ALL)
        SELECT a.jkey AS judge_a, b.jkey AS judge_b, count(*) AS n,
               avg(CASE WHEN a.s = b.s THEN 1.0 ELSE 0.0 END) AS agreement, corr(a.s, b.s) AS pearson
        FROM p a JOIN p b ON a.response_id = b.response_id AND a.criterion IS NOT DISTINCT FROM b.criterion
             AND a.jkey < b.jkey
        GROUP BY 1, 2""")
    frames = [
        f.with_columns(pl.lit(kind).alias("protocol"))
        for f, kind in ((pair, "pairwise"), (point, "pointwise"))
        if f.height
    ]
    if not frames:
        return pl.DataFrame(
            schema={
                "judge_a": pl.String,
                "judge_b": pl.String,
                "n": pl.Int64,
                "agreement": pl.Float64,
                "protocol": pl.String,
            }
        )
    return pl.concat(frames, how="diagonal_relaxed").sort("protocol", "judge_a", "judge_b")
