"""Bias probes (analysis/judge/probes.py): how often a controlled, content-free change moved the judge.

Each probe judgment is compared with its parent (the same judge on the unperturbed input):
- pairwise `probe_<name>`: the share of variants whose verdict moved to the perturbed (target) answer
  among parents that had not already chosen it; for swap, the share whose verdict (about the responses)
  changed when only the order changed; for one-token, the share in which the content-free answer won.
- pointwise `probe_<name>_shift`: the mean change of the normalised score (variant - parent);
  for one-token, `probe_one_token_pass`: the share of content-free answers scored in the upper half.
Rates get Wilson intervals, shifts a bootstrap over items.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .common import AuditRow, bootstrap_ratio, row, unavailable, wilson
from .context import AuditContext
from .metrics import METRICS

# probe -> its metric, per protocol (from the registry in metrics.py: each probe metric's evidence names its probe)
PAIRWISE_METRICS = {
    m.evidence["probe"]: m.name for m in METRICS.values() if m.name.startswith("probe_") and m.protocol == "pairwise"
}
POINTWISE_METRICS = {
    m.evidence["probe"]: m.name for m in METRICS.values() if m.name.startswith("probe_") and m.protocol == "pointwise"
}


def probe_metrics(ctx: AuditContext) -> list[AuditRow]:
    pairs = (
        ctx.frame("""
        SELECT v.jkey, v.item_id, v.probe, v.protocol, v.verdict AS v_verdict, p.verdict AS p_verdict,
               v.score_norm AS v_score, p.score_norm AS p_score, v.response_a, v.response_b,
               json_extract_string(vm.meta, '$.probe_target') AS target
        FROM aj v JOIN judgments p ON p.judgment_id = v.parent_judgment_id
        JOIN judgments vm ON vm.judgment_id = v.judgment_id
        WHERE v.probe IS NOT NULL AND v.parse_status = 'ok' AND p.parse_status = 'ok'""")
        if _has_probes(ctx)
        else None
    )
    if pairs is None or pairs.height == 0:
        return []
    rows = []
    for (jkey, probe, protocol), g in pairs.group_by(["jkey", "probe", "protocol"], maintain_order=True):
        if protocol == "pairwise" and probe in PAIRWISE_METRICS:
            rows.append(_pairwise(jkey, probe, g))
        elif protocol == "pointwise" and probe in POINTWISE_METRICS:
            rows.append(_pointwise(jkey, probe, g))
    return rows  # judges without a probe get their "not computed" rows from audit._complete


def _has_probes(ctx: AuditContext) -> bool:
    return bool(ctx.rows("SELECT count(*) FROM aj WHERE probe IS NOT NULL")[0][0])


def _pairwise(jkey: str, probe: str, g: pl.DataFrame) -> AuditRow:
    metric = PAIRWISE_METRICS[probe]
    if probe == "swap":
        n, k = g.height, int((g["v_verdict"] != g["p_verdict"]).sum())
        note = "Wilson 95% CI; share of swapped-order variants whose verdict about the responses changed"
    elif probe == "one-token":
        n, k = g.height, int((g["v_verdict"] == g["target"]).sum())
        note = "Wilson 95% CI; share of comparisons won by the content-free answer"
    else:
        eligible = g.filter(pl.col("p_verdict") != pl.col("target"))
        n, k = eligible.height, int((eligible["v_verdict"] == eligible["target"]).sum())
        note = "Wilson 95% CI; among pairs the parent did not give to the perturbed answer, share that moved to it"
    if n == 0:
        return unavailable(jkey, metric, "no eligible probe pair")
    return row(jkey, metric, k / n, wilson(k, n), n, note)


def _pointwise(jkey: str, probe: str, g: pl.DataFrame) -> AuditRow:
    metric = POINTWISE_METRICS[probe]
    g = g.drop_nulls(["v_score", "p_score"])
    if g.height == 0:
        return unavailable(jkey, metric, "no scored probe pair")
    if probe == "one-token":
        k = int((g["v_score"] >= 0.5).sum())
        return row(
            jkey,
            metric,
            k / g.height,
            wilson(k, g.height),
            g.height,
            "Wilson 95% CI; share of content-free answers scored at or above the scale's midpoint",
        )
    per_item = g.group_by("item_id").agg(d=(pl.col("v_score") - pl.col("p_score")).sum(), n=pl.len())
    value = float(per_item["d"].sum()) / float(per_item["n"].sum())
    ci = bootstrap_ratio(per_item["d"].to_numpy().astype(np.float64), per_item["n"].to_numpy().astype(np.float64))
    return row(
        jkey,
        metric,
        value,
        ci,
        g.height,
        "95% CI: bootstrap over items; mean change of the normalised score (variant minus parent)",
    )
