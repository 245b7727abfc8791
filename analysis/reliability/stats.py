"""Agreement statistics on small in-memory arrays (aggregated by DuckDB first)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def cohen_kappa(a: Sequence, b: Sequence) -> float | None:
    """Cohen's kappa of two raters over the same units (any hashable categories, None is a category)."""
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    if pe >= 1:
        return None
    return (po - pe) / (1 - pe)


def level_codes(values: Sequence[float] | np.ndarray, levels: Sequence[float] | np.ndarray) -> np.ndarray | None:
    """Each value's position in `levels` (None if a value is not one of them); numbers or numpy arrays."""
    lv = np.asarray(levels, dtype=float)
    order = np.argsort(lv)
    v = np.asarray(values, dtype=float)
    pos = np.clip(np.searchsorted(lv[order], v), 0, max(0, len(lv) - 1))
    if len(lv) == 0 or not np.array_equal(lv[order][pos], v):
        return None
    return order[pos]


def weighted_kappa_codes(ca: np.ndarray, cb: np.ndarray, k: int) -> float | None:
    """Quadratically weighted kappa of two raters' level positions (0 … k-1)."""
    n = len(ca)
    if n == 0 or k < 2:
        return None
    ca, cb = np.asarray(ca, dtype=np.int64), np.asarray(cb, dtype=np.int64)
    obs = np.bincount(ca * k + cb, minlength=k * k).reshape(k, k) / n
    exp = np.outer(obs.sum(axis=1), obs.sum(axis=0))
    i, j = np.indices((k, k))
    w = ((i - j) ** 2) / ((k - 1) ** 2)
    denom = (w * exp).sum()
    if denom == 0:
        return None
    return float(1 - (w * obs).sum() / denom)


def weighted_kappa(a: Sequence[float], b: Sequence[float], levels: Sequence[float]) -> float | None:
    """Quadratically weighted kappa for ordinal scores on the given levels."""
    if len(a) == 0 or len(levels) < 2:
        return None
    ca, cb = level_codes(a, levels), level_codes(b, levels)
    if ca is None or cb is None:
        return None
    return weighted_kappa_codes(ca, cb, len(levels))


def coincidences(units: Sequence[Sequence], values: list | None = None) -> tuple[np.ndarray, list]:
    """Per-unit coincidence matrices (units × V × V) for Krippendorff's alpha, and the value order: a unit whose
    m values count c_v of value v pairs them c_a·c_b times (a ≠ b) and c_a·(c_a − 1) times (a = b), over m − 1."""
    units = [[v for v in u if v is not None] for u in units]
    units = [u for u in units if len(u) >= 2]
    values = values or sorted({v for u in units for v in u}, key=lambda x: (str(type(x)), x))
    idx = {v: i for i, v in enumerate(values)}
    counts = np.zeros((len(units), len(values)))
    sizes = [len(u) for u in units]
    at = np.repeat(np.arange(len(units)), sizes)
    np.add.at(counts, (at, np.fromiter((idx[v] for u in units for v in u), dtype=np.intp, count=len(at))), 1.0)
    o = counts[:, :, None] * counts[:, None, :]
    diagonal = np.arange(len(values))
    o[:, diagonal, diagonal] -= counts
    return o / (np.asarray(sizes, dtype=float) - 1.0)[:, None, None], values


def alpha_from_coincidence(o: np.ndarray, values: list, metric: str = "nominal") -> float | None:
    if len(values) < 2:
        return None
    if metric == "nominal":
        delta = 1.0 - np.eye(len(values))
    elif metric == "interval":
        v = np.array(values, dtype=float)
        delta = (v[:, None] - v[None, :]) ** 2
    else:
        raise ValueError(metric)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return None
    d_o = (o * delta).sum() / n
    d_e = (np.outer(n_c, n_c) * delta).sum() / (n * (n - 1))
    return None if d_e == 0 else float(1 - d_o / d_e)


def krippendorff_alpha(units: Sequence[Sequence], metric: str = "nominal") -> float | None:
    """Krippendorff's alpha over units (each a list of the values the coders gave; missing values left out).

    metric: 'nominal' or 'interval'."""
    o, values = coincidences(units)
    if len(o) == 0:
        return None
    return alpha_from_coincidence(o.sum(axis=0), values, metric)


def fisher_ci(r: float, n: int, se_scale: float = 1.0) -> tuple[float | None, float | None]:
    """95% interval of a correlation by Fisher's z (se_scale 1.06 for Spearman, per Fieller et al.)."""
    if r is None or n is None or n <= 3 or not np.isfinite(r):
        return None, None
    r = min(max(r, -0.999999), 0.999999)
    z = np.arctanh(r)
    se = se_scale / np.sqrt(n - 3)
    return float(np.tanh(z - 1.959964 * se)), float(np.tanh(z + 1.959964 * se))
