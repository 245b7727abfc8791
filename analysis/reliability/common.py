"""Shared pieces of the reliability metrics: the tidy row shape, intervals, bootstrap over items."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypedDict

import numpy as np
import polars as pl


class AuditRow(TypedDict):
    """One judge's value of one metric: a row of every audit frame (ROW_SCHEMA gives its column types)."""

    judge: str | None  # the judge (or model family, with by=...); None for a metric about no judge; "(humans)"
    metric: str  # a name in reliability/metrics.py's registry, or agreement_with:<judge>
    value: float | None  # None when it cannot be computed (the note says why) or is not finite
    ci_low: float | None  # 95% interval (bootstrap over items, or delta method from LARGE items; Wilson for rates)
    ci_high: float | None
    n: int | None  # the units it is computed on (pairs, items, judgments: the note names them)
    note: str | None  # how it is computed, or "not computed: <why>"


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
# From this many items on, a ratio's interval is the linearised (delta-method) normal interval, which the
# percentile bootstrap converges to; below, the bootstrap (docs/reliability.md, "Intervals").
LARGE = 5_000
Z95 = 1.959963984540054


def half_width_sql(expr: str, n: str = "count(*)") -> str:
    """SQL for the half-width of a mean's normal 95% interval over a group: Z95 standard errors of `expr` (the one
    definition scores.py's and rubrics.py's intervals use). `expr` and `n` are SQL written by the caller, never user
    text."""
    return f"{Z95} * stddev_samp({expr}) / sqrt({n})"


def rows_frame(rows: Sequence[AuditRow]) -> pl.DataFrame:
    """A metric frame: judge, metric, value, ci_low, ci_high, n, note."""
    return pl.DataFrame([{k: r.get(k) for k in ROW_SCHEMA} for r in rows], schema=ROW_SCHEMA)


def row(
    judge: str | None,
    metric: str,
    value: float | None,
    ci: tuple[float | None, float | None] = (None, None),
    n: int | None = None,
    note: str | None = None,
) -> AuditRow:
    finite = value is not None and math.isfinite(value)
    return {
        "judge": judge,
        "metric": metric,
        "value": float(value) if value is not None and finite else None,
        "ci_low": _f(ci[0]),
        "ci_high": _f(ci[1]),
        "n": n,
        "note": note,
    }


def or_none(judges: list[str]) -> list[str | None]:
    """The judges, or one row for no judge (None) when there are none: a metric that cannot be computed says so once."""
    out: list[str | None] = [*judges]
    return out or [None]


def unavailable(judge: str | None, metric: str, why: str, n: int | None = 0) -> AuditRow:
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


def canonical(a: np.ndarray) -> np.ndarray:
    """The rows of a 2-D array in one fixed order (lexicographic), so that resampling them depends only on
    which rows there are, not on the order a query or a group-by returned them in."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or len(a) < 2:
        return a
    return a[np.lexsort(a.T[::-1])]


def bootstrap_sums(
    a: np.ndarray,
    stat: Callable[[np.ndarray], float | None],
    n_boot: int = N_BOOT,
    seed: int = SEED,
    clip: tuple[float, float] | None = None,
    many: Callable[[np.ndarray], np.ndarray] | None = None,
    smooth: Callable[[np.ndarray], float | None] | None = None,
) -> tuple[float | None, float | None]:
    """95% percentile interval of stat(column sums of a), resampling a's rows (items) with replacement;
    None unless at least half the resamples give a finite value. `many`, when given, computes stat for a
    whole block of resampled sums (one row each) at once. From LARGE items on: `sums_interval` of `smooth` (stat
    without its clipping, whose gradient would vanish at a bound), the interval's ends clipped to `clip`."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    k = len(a)
    if k < 2:
        return None, None
    if k >= LARGE:
        return sums_interval(list(a.T), smooth or stat, clip)  # which sorts the items itself
    a = canonical(a)
    rng = np.random.default_rng(seed)
    block = max(1, min(n_boot, 4_000_000 // k))  # replicates drawn at once, bounded memory
    cols = np.ascontiguousarray(a.T)
    used = np.flatnonzero(a.any(axis=0))  # an all-zero column sums to zero in every resample
    found: list[np.ndarray] = []
    done = 0
    while done < n_boot:
        b = min(block, n_boot - done)
        idx = rng.integers(0, k, (b, k))
        sums = np.zeros((b, a.shape[1]))
        for c in used:
            sums[:, c] = cols[c][idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = many(sums) if many else np.array([np.nan if x is None else x for x in map(stat, sums)], dtype=float)
        found.append(v[np.isfinite(v)])
        done += b
    values = np.concatenate(found)
    if len(values) < n_boot / 2:
        return None, None
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))


def bootstrap_ratio(
    num: np.ndarray,
    den: np.ndarray,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    clip: tuple[float, float] | None = None,
) -> tuple[float | None, float | None]:
    """95% percentile interval of sum(num)/sum(den), resampling items (the arrays' rows) with replacement.
    clip: the range the ratio lives in (a rate: (0, 1)), which the large-sample interval keeps to."""
    return bootstrap_sums(
        np.column_stack([num, den]),
        lambda s: s[0] / s[1] if s[1] else None,
        n_boot,
        seed,
        clip=clip,
        many=lambda sums: sums[:, 0] / sums[:, 1],
    )


def sums_interval(
    columns: Sequence[np.ndarray], stat: Callable[[np.ndarray], float | None], clip: tuple[float, float] | None = None
) -> tuple[float | None, float | None]:
    """95% normal interval of stat(column sums) over items (the arrays' rows), by the delta method: the
    variance of the sums is k times the items' covariance, carried through stat's numerical gradient.
    The large-sample limit of resampling items; used from LARGE items on, where 1,000 resamples cost seconds."""
    a = canonical(np.column_stack([np.asarray(c, dtype=float) for c in columns]))
    k = len(a)
    sums = a.sum(axis=0)
    value = stat(sums)
    if value is None or not np.isfinite(value) or k < 2:
        return None, None
    grad = np.zeros(len(sums))
    for i in range(len(sums)):
        h = 1e-6 * max(1.0, abs(sums[i]))
        up, down = sums.copy(), sums.copy()
        up[i] += h
        down[i] -= h
        hi, lo = stat(up), stat(down)
        if hi is None or lo is None or not (np.isfinite(hi) and np.isfinite(lo)):
            return None, None
        grad[i] = (hi - lo) / (2 * h)
    cov = np.atleast_2d(np.cov(a, rowvar=False))
    se = float(np.sqrt(max(0.0, k * grad @ cov @ grad)))
    low, high = value - Z95 * se, value + Z95 * se
    if clip is not None:  # both ends into the range (an estimate past a bound has an interval at it)
        low, high = (min(clip[1], max(clip[0], x)) for x in (low, high))
    return float(low), float(high)


def bootstrap_stat(
    groups: Sequence[np.ndarray],
    stat: Callable[[list[np.ndarray]], float | None],
    n_boot: int = 400,
    seed: int = SEED,
) -> tuple[float | None, float | None]:
    """95% percentile interval of stat(rows), resampling item indices; `groups` are arrays aligned on items
    (put in one fixed order first, see `canonical`). A sample where `stat` is None or not finite is skipped."""
    k = len(groups[0])
    if k < 3:
        return None, None
    groups = list(canonical(np.column_stack(groups)).T)
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
) -> list[AuditRow]:
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
        ci = bootstrap_ratio(g[num].to_numpy(), g[den].to_numpy(), clip=(0.0, 1.0))  # a rate
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
