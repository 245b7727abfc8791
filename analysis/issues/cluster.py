"""Reduce (PCA) and cluster (spherical k-means) segment vectors, deterministically.

Both are plain numpy on float64 with a seeded generator: no JIT compile, and the same labels in every
process whatever PYTHONHASHSEED or the thread count (BLAS splits a product over its output cells, never
over the sums inside one, so the sums come out the same; ties go to the lowest index). Measured against
UMAP + HDBSCAN and EVoC in benchmarks/issues.py (docs/issues.md says why this is the default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(1e-12)


@dataclass
class PCA:
    """Project onto the top principal directions (after centring); 0 components = keep the vectors."""

    n_components: int = 64

    def fit_transform(self, vectors: np.ndarray) -> np.ndarray:
        x = np.asarray(vectors, dtype=np.float64)
        k = min(self.n_components, x.shape[1], max(len(x) - 1, 1))
        if not self.n_components or k >= x.shape[1] or len(x) < 3:
            return unit(x)
        centred = x - x.mean(axis=0)
        cov = gram(centred)
        with threadpool_limits(1):  # LAPACK's threads would change the last bits
            values, vecs = np.linalg.eigh(cov)  # ascending; a fixed sign per direction below
        vecs = vecs[:, ::-1][:, :k]
        vecs *= np.where(vecs[np.abs(vecs).argmax(axis=0), np.arange(k)] < 0, -1.0, 1.0)
        return unit(centred @ vecs)


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
            sims = x @ centres.T
            new = sims.argmax(axis=1)
            changed = int((new != labels).sum())
            labels = new
            centres = self._update(x, labels, k, sims)
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
    def _update(x: np.ndarray, labels: np.ndarray, k: int, sims: np.ndarray) -> np.ndarray:
        sums = group_sums(x, labels, k)
        counts = np.bincount(labels, minlength=k)
        empty = np.flatnonzero(counts == 0)
        if len(empty):  # an empty cluster restarts at the point its neighbours fit worst
            fit = sims[np.arange(len(x)), labels]
            for c, i in zip(empty, np.argsort(fit, kind="stable")[: len(empty)]):
                sums[c] = x[i]
        return unit(sums)


def gram(x: np.ndarray, parts: int = 2) -> np.ndarray:
    """x.T @ x, the same to the last bit whatever the thread count: BLAS may split a long sum over threads, so
    each fixed block of rows is summed on one thread (blocks in parallel) and the blocks added in order."""
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, len(x), parts + 1).astype(int)
    blocks = [x[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    with threadpool_limits(1), ThreadPoolExecutor(parts) as pool:
        partial = list(pool.map(lambda b: b.T @ b, blocks))
    out = partial[0]
    for p in partial[1:]:
        out = out + p
    return out


def group_sums(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Row sums of x per label 0..k-1, each summed in row order (deterministic, unlike a threaded product)."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, np.arange(k))
    present = np.bincount(labels, minlength=k) > 0
    sums = np.zeros((k, x.shape[1]))
    if len(order):
        reduced = np.add.reduceat(x[order], starts[present], axis=0)
        sums[present] = reduced
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
    sims = x @ cents.T
    w = np.exp((sims - sims.max(axis=1, keepdims=True)) / 0.05)
    w /= w.sum(axis=1, keepdims=True)
    soft = w @ pos
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
