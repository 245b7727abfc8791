"""Shared pieces of the reliability metrics: the tidy row shape, intervals, bootstrap over items."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

ROW_SCHEMA = {
    "judge": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n": pl.Int64,
    "note": pl.String,
}
N_BOOT = 1000
SEED = 0
Z95 = 1.959963984540054


def rows_frame(rows: list[dict]) -> pl.DataFrame:
    """A metric frame: judge, metric, value, ci_low, ci_high, n, note."""
    return pl.DataFrame([{k: r.get(k) for k in ROW_SCHEMA} for r in rows], schema=ROW_SCHEMA)


def row(
    judge: str | None,
    metric: str,
    value: float | None,
    ci: tuple[float | None, float | None] = (None, None),
    n: int | None = None,
    note: str | None = None,
) -> dict:
    finite = value is not None and math.isfinite(value)
    return {
        "judge": judge,
        "metric": metric,
        "value": float(value) if finite else None,
        "ci_low": _f(ci[0]),
        "ci_high": _f(ci[1]),
        "n": n,
        "note": note,
    }


def unavailable(judge: str | None, metric: str, why: str, n: int | None = 0) -> dict:
    """A row saying why a metric cannot be computed (it never raises)."""
    return row(judge, metric, None, n=n, note=f"not computed: {why}")


def _f(x) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_ratio(
    num: np.ndarray, den: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED
) -> tuple[float | None, float | None]:
    """95% percentile interval of sum(num)/sum(den), resampling items (the arrays' rows) with replacement."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    k = len(num)
    if k < 2:
        return None, None
    rng = np.random.default_rng(seed)
    block = max(1, min(n_boot, 4_000_000 // k))  # replicates drawn at once, bounded memory
    stats = []
    done = 0
    while done < n_boot:
        b = min(block, n_boot - done)
        idx = rng.integers(0, k, (b, k))
        d = den[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            stats.append(num[idx].sum(axis=1) / d)
        done += b
    values = np.concatenate(stats)
    values = values[np.isfinite(values)]
    if len(values) < n_boot / 2:
        return None, None
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))


def bootstrap_stat(
    groups: Sequence[np.ndarray], stat: Callable[[list[np.ndarray]], float], n_boot: int = 400, seed: int = SEED
) -> tuple[float | None, float | None]:
    """95% percentile interval of stat(rows), resampling item indices; `groups` are arrays aligned on items."""
    k = len(groups[0])
    if k < 3:
        return None, None
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        idx = rng.integers(0, k, k)
        v = stat([g[idx] for g in groups])
        if v is not None and np.isfinite(v):
            vals.append(v)
    if len(vals) < n_boot / 2:
        return None, None
    return float(np.quantile(vals, 0.025)), float(np.quantile(vals, 0.975))


def ratio_rows(
    per_item: pl.DataFrame,
    metric: str,
    num: str,
    den: str,
    note: str,
    judges: list[str] | None = None,
    why_empty: str = "no data",
) -> list[dict]:
    """One row per judge: sum(num)/sum(den) over items, with a bootstrap-over-items interval.

    `per_item` has columns jkey, item_id, num, den (one row per judge and item)."""
    out = []
    seen = set()
    for (jkey,), g in per_item.group_by(["jkey"], maintain_order=True):
        seen.add(jkey)
        n_den = float(g[den].sum())
        if n_den <= 0:
            out.append(unavailable(jkey, metric, why_empty))
            continue
        value = float(g[num].sum()) / n_den
        ci = bootstrap_ratio(g[num].to_numpy(), g[den].to_numpy())
        out.append(row(jkey, metric, value, ci, int(n_den), note))
    for j in judges or []:
        if j not in seen:
            out.append(unavailable(j, metric, why_empty))
    return sorted(out, key=lambda r: r["judge"] or "")


def judge_key(by: str) -> str:
    """SQL for the group a metric row is about: the judge, or judge and template."""
    if by == "judge":
        return "j.judge"
    if by in ("judge_template", "judge+template"):
        return "j.judge || coalesce(' / ' || j.template, '')"
    raise ValueError(f"by must be 'judge' or 'judge_template', not {by!r}")
