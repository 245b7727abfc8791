"""Reduce (PCA) and cluster (spherical k-means) segment vectors, deterministically.

Both are plain numpy with a seeded generator: no JIT compile, and the same labels in every process whatever
PYTHONHASHSEED or the thread count (BLAS splits a product over its output cells, never over the sums inside one,
so the sums come out the same; ties go to the lowest index). Sums, means and covariances are taken in float64 over
fixed blocks of BLOCK rows, so a million segment vectors (kept in float32) never get a full float64 copy.
Measured against UMAP + HDBSCAN and EVoC in benchmarks/issues.py (docs/issues.md says why this is the default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits


BLOCK = 65536  # rows per block of the blocked sums and products (fixed: the results do not depend on memory)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(1e-12)


def unit_(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in place, block by block (no copy of x)."""
    for a in range(0, len(x), BLOCK):
        b = x[a : a + BLOCK]
        b /= np.linalg.norm(b, axis=-1, keepdims=True).clip(1e-12)
    return x


@dataclass
class PCA:
    """Project onto the top principal directions (after centring); 0 components = keep the vectors."""

    n_components: int = 64

    def fit_transform(self, vectors: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Unit rows of the projection (float64). weights: how many times each row counts in the fit (a row that
        stands for several identical ones)."""
        x = np.asarray(vectors)
        k = min(self.n_components, x.shape[1], max(len(x) - 1, 1))
        if not self.n_components or k >= x.shape[1] or len(x) < 3:
            return unit(x.astype(np.float64))
        w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        mean = _blocked_sum(x, w) / w.sum()
        cov = gram(x, mean, w)
        with threadpool_limits(1):  # LAPACK's threads would change the last bits
            values, vecs = np.linalg.eigh(cov)  # ascending; a fixed sign per direction below
        vecs = vecs[:, ::-1][:, :k]
        vecs *= np.where(vecs[np.abs(vecs).argmax(axis=0), np.arange(k)] < 0, -1.0, 1.0)
        out = np.empty((len(x), k))
        for a in range(0, len(x), BLOCK):
            out[a : a + BLOCK] = (x[a : a + BLOCK].astype(np.float64) - mean) @ vecs
        return unit_(out)


@dataclass
class KMeans:
    """Spherical k-means (cosine), k-means++ seeding, Lloyd iterations until no label changes."""

    k: int
    seed: int = 0
    max_iter: int = 100
    tol: float = 0.001  # stop when fewer than this share of labels change

    def fit(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels, unit centroids); every cluster keeps at least one member."""
        x = unit(np.asarray(x, dtype=np.float64))
        n = len(x)
        k = max(1, min(self.k, n))
        rng = np.random.default_rng(self.seed)
        centres = self._seed(x, k, rng)
        labels = np.full(n, -1)
        for _ in range(self.max_iter):
            new, fit = nearest(x, centres)
            changed = int((new != labels).sum())
            labels = new
            centres = self._update(x, labels, k, fit)
            if changed <= self.tol * n:
                break
        return labels, centres

    @staticmethod
    def _seed(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        n = len(x)
        chosen = [int(rng.integers(n))]
        dist = np.maximum(0.0, 1.0 - x @ x[chosen[0]])
        for _ in range(1, k):
            total = dist.sum()
            if total <= 0:
                nxt = int(np.flatnonzero(~np.isin(np.arange(n), chosen))[0])
            else:
                nxt = int(np.searchsorted(np.cumsum(dist), rng.random() * total, side="right"))
                nxt = min(nxt, n - 1)
            chosen.append(nxt)
            dist = np.minimum(dist, np.maximum(0.0, 1.0 - x @ x[nxt]))
        return x[chosen].copy()

    @staticmethod
    def _update(x: np.ndarray, labels: np.ndarray, k: int, fit: np.ndarray) -> np.ndarray:
        sums = group_sums(x, labels, k)
        counts = np.bincount(labels, minlength=k)
        empty = np.flatnonzero(counts == 0)
        if len(empty):  # an empty cluster restarts at the point its neighbours fit worst
            for c, i in zip(empty, np.argsort(fit, kind="stable")[: len(empty)]):
                sums[c] = x[i]
        return unit(sums)


def nearest(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the most similar centre (lowest index on ties) and that similarity, a block of rows at a time
    (never all rows by all centres at once)."""
    labels = np.empty(len(x), dtype=np.int64)
    fit = np.empty(len(x))
    for a in range(0, len(x), BLOCK):
        sims = x[a : a + BLOCK] @ centres.T
        labels[a : a + BLOCK] = sims.argmax(axis=1)
        fit[a : a + BLOCK] = sims[np.arange(len(sims)), labels[a : a + BLOCK]]
    return labels, fit


def _blocked_sum(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ w_i x_i in float64, block by block in row order."""
    total = np.zeros(x.shape[1])
    for a in range(0, len(x), BLOCK):
        total += w[a : a + BLOCK] @ x[a : a + BLOCK].astype(np.float64)
    return total


def gram(x: np.ndarray, mean: np.ndarray | None = None, w: np.ndarray | None = None, parts: int = 2) -> np.ndarray:
    """Σ w_i (x_i − mean)(x_i − mean)ᵀ in float64 (plain x.T @ x without mean and w), the same to the last bit
    whatever the thread count: BLAS may split a long sum over threads, so each fixed block of rows is summed on one
    thread (blocks in parallel, `parts` at a time) and the blocks added in order."""
    from concurrent.futures import ThreadPoolExecutor

    d = x.shape[1]
    centre = np.zeros(d) if mean is None else mean
    weights = np.ones(len(x)) if w is None else w

    def block(ab: tuple[int, int]) -> np.ndarray:
        a, b = ab
        c = x[a:b].astype(np.float64) - centre
        return (c * weights[a:b, None]).T @ c

    bounds = list(range(0, len(x), BLOCK)) + [len(x)]
    pieces = list(zip(bounds[:-1], bounds[1:])) or [(0, 0)]
    out = np.zeros((d, d))
    with threadpool_limits(1), ThreadPoolExecutor(parts) as pool:
        for p in pool.map(block, pieces):
            out = out + p
    return out


def group_sums(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Row sums of x per label 0..k-1 in float64: within each fixed block of rows in row order, the blocks added in
    order (deterministic, unlike a threaded product; only one block is ever copied)."""
    sums = np.zeros((k, x.shape[1]))
    for a in range(0, len(x), BLOCK):
        lab = labels[a : a + BLOCK]
        order = np.argsort(lab, kind="stable")
        present = np.bincount(lab, minlength=k) > 0
        starts = np.searchsorted(lab[order], np.arange(k))[present]
        sums[present] += np.add.reduceat(x[a : a + BLOCK][order].astype(np.float64), starts, axis=0)
    return sums


def n_clusters(n: int, per_cluster: int = 40, lo: int = 2, hi: int = 300) -> int:
    """How many fine clusters for n segments: about one per `per_cluster`, within [lo, hi]."""
    return int(max(lo, min(hi, round(n / per_cluster))))


def centroids(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Unit centroid of each label (labels < 0 are unassigned)."""
    out = {}
    for k in np.unique(labels[labels >= 0]):
        out[int(k)] = unit(vectors[labels == k].mean(axis=0))
    return out


def layout(vectors: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D coordinates for a map where issues are regions and related issues are neighbours: the issues'
    centroids placed by classical scaling of their distances. A segment's pull is the average of those places
    weighted by how close it is to each centroid (a softmax of its cosines, temperature 0.05); an issue's member
    sits 85% of the way at its issue's place and 15% at its pull (a member that reads like a
    neighbouring issue leans towards it); an unassigned segment (-1) sits at its pull, between the issues it
    resembles. Points spread by a small common offset along the data's first two principal directions (the
    same orientation in every region, no rings). Deterministic; for looking at."""
    x = unit(np.asarray(vectors, dtype=np.float64))
    n = len(x)
    out = np.zeros((n, 2))
    if n == 0:
        return out
    keys = sorted(set(int(v) for v in labels[labels >= 0]))
    spread_dirs = PCA(2).fit_transform(x)[:, :2] if n > 2 else np.zeros((n, 2))
    if spread_dirs.shape[1] < 2:
        spread_dirs = np.pad(spread_dirs, ((0, 0), (0, 2 - spread_dirs.shape[1])))
    spread_dirs /= np.abs(spread_dirs).max() or 1.0
    if len(keys) < 2:
        return spread_dirs
    cents = np.stack([unit(x[labels == k].mean(axis=0)) for k in keys])
    pos = _classical_scaling(cents) if len(keys) > 2 else np.array([[0.0, 0.0], [1.0, 0.0]])
    pos /= np.ptp(pos, axis=0).max() or 1.0
    soft = np.empty((n, 2))
    for a in range(0, n, BLOCK):
        sims = x[a : a + BLOCK] @ cents.T
        w = np.exp((sims - sims.max(axis=1, keepdims=True)) / 0.05)
        w /= w.sum(axis=1, keepdims=True)
        soft[a : a + BLOCK] = w @ pos
    index = {k: i for i, k in enumerate(keys)}
    own = np.array([index.get(int(v), -1) for v in labels])
    placed = soft.copy()
    member = own >= 0
    placed[member] = 0.85 * pos[own[member]] + 0.15 * soft[member]
    gaps = np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)) + np.eye(len(keys)) * 1e9
    spread = 0.2 * float(np.median(gaps.min(axis=1)))
    return placed + spread * spread_dirs


def _classical_scaling(cents: np.ndarray) -> np.ndarray:
    d2 = np.maximum(0.0, 2.0 - 2.0 * (cents @ cents.T))
    m = len(cents)
    j = np.eye(m) - 1.0 / m
    b = -0.5 * j @ d2 @ j
    values, vecs = np.linalg.eigh(b)
    top = vecs[:, ::-1][:, :2] * np.sqrt(np.maximum(values[::-1][:2], 0))
    top *= np.where(top[np.abs(top).argmax(axis=0), [0, 1]] < 0, -1.0, 1.0)
    return top
