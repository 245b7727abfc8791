"""Reduce (UMAP, seeded) and cluster (HDBSCAN), reassign noise by similarity, merge near-duplicates
(by embedding centroid, then by the words the clusters use)."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable

import numpy as np


def min_cluster_size(n: int) -> int:
    """Grows with the data: 10 for a few hundred segments, about n/150 for tens of thousands."""
    return int(max(10, min(400, round(n / 150))))


def reduce(vectors: np.ndarray, n_components: int, seed: int, n_neighbors: int = 15,
           knn: tuple | None = None, n_epochs: int | None = None) -> tuple[np.ndarray, tuple | None]:
    """UMAP to a few dimensions (cosine, seeded: deterministic, single-threaded). Returns the layout and the
    nearest-neighbour graph it built, which a second layout of the same vectors can reuse (`knn`)."""
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "judgescope-numba"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap

        n = len(vectors)
        if n <= n_components + 2:
            return np.zeros((n, n_components), dtype=np.float32), None
        extra = {"precomputed_knn": knn} if knn is not None else {}
        reducer = umap.UMAP(n_components=n_components, n_neighbors=min(n_neighbors, n - 1), min_dist=0.0,
                            metric="cosine", random_state=seed, low_memory=True, init=_init(n), n_epochs=n_epochs,
                            **extra)
        layout = reducer.fit_transform(vectors).astype(np.float32)
        graph = getattr(reducer, "_knn_indices", None)
        return layout, ((graph, reducer._knn_dists, getattr(reducer, "_knn_search_index", None))
                        if graph is not None else None)


SPECTRAL_MAX = 20_000


def _init(n: int) -> str:
    """UMAP's start layout. Spectral is best but its eigensolver crawls on large graphs that fall apart into many
    components (tens of thousands of critique sentences with many near-repeats do): PCA above SPECTRAL_MAX."""
    if n <= 50:
        return "random"
    return "spectral" if n <= SPECTRAL_MAX else "pca"


def cluster(reduced: np.ndarray, min_size: int) -> np.ndarray:
    """HDBSCAN labels (-1 = noise)."""
    from sklearn.cluster import HDBSCAN

    if len(reduced) < 2 * min_size:
        return np.full(len(reduced), -1)
    # "leaf" keeps the fine clusters: on critique embeddings "eom" tends to return one cluster for everything
    model = HDBSCAN(min_cluster_size=min_size, min_samples=10, copy=True, cluster_selection_method="leaf", n_jobs=-1)
    return model.fit_predict(reduced)


def centroids(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    out = {}
    for k in sorted(set(labels) - {-1}):
        c = vectors[labels == k].mean(axis=0)
        out[k] = c / max(np.linalg.norm(c), 1e-12)
    return out


def reassign_noise(vectors: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Noise joins the most similar cluster centroid when the cosine reaches `threshold`.
    Returns (labels, similarity to the own centroid)."""
    cents = centroids(vectors, labels)
    if not cents:
        return labels, np.zeros(len(labels))
    keys = np.array(list(cents))
    mat = np.stack([cents[k] for k in keys])
    sims = vectors @ mat.T
    best = sims.argmax(axis=1)
    out = labels.copy()
    noise = labels == -1
    take = noise & (sims[np.arange(len(labels)), best] >= threshold)
    out[take] = keys[best[take]]
    own = np.array([sims[i, np.searchsorted(keys, l)] if l != -1 else sims[i, best[i]] for i, l in enumerate(out)])
    return out, own


def _merge_closest(labels: np.ndarray, threshold: float,
                   profiles: Callable[[np.ndarray], tuple[list[int], np.ndarray]],
                   merged: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Repeatedly merge the two clusters whose unit profiles (`profiles(labels)` -> cluster ids, one row each)
    have the highest cosine, the smaller into the larger, while that cosine is ≥ threshold."""
    merges = []
    labels = labels.copy()
    while True:
        keys, mat = profiles(labels)
        if len(keys) < 2:
            break
        sims = mat @ mat.T
        np.fill_diagonal(sims, -1)
        i, j = np.unravel_index(sims.argmax(), sims.shape)
        if sims[i, j] < threshold:
            break
        a, b = keys[i], keys[j]
        big, small = (a, b) if (labels == a).sum() >= (labels == b).sum() else (b, a)
        labels[labels == small] = big
        if merged is not None:
            merged(big, small)
        merges.append((int(small), int(big), float(sims[i, j])))
    return labels, merges


def merge_duplicates(vectors: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Merge clusters whose centroids have cosine ≥ threshold (the smaller into the larger), repeatedly."""
    def profiles(current: np.ndarray) -> tuple[list[int], np.ndarray]:
        cents = centroids(vectors, current)
        keys = list(cents)
        return keys, (np.stack([cents[k] for k in keys]) if keys else np.zeros((0, vectors.shape[1])))

    return _merge_closest(labels, threshold, profiles)


def merge_by_terms(labels: np.ndarray, token_sets: list[set[str]], threshold: float) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Merge clusters that say the same thing in the same words: cosine ≥ threshold between their term
    profiles (the share of a cluster's segments using each content word), repeatedly, smaller into larger.

    Embedding centroids cannot tell duplicates apart on critiques: every segment shares the judge's
    boilerplate ("the assistant's answer ... not ..."), so unrelated issues sit at 0.85-0.92 while two halves
    of "the code does not correctly implement ..." split by task can sit lower. Content words do: measured
    on arena-bench, the pairs at ≥ 0.75 are all restatements of one failure (docs/issues.md)."""
    counts: dict[int, Counter] = {}
    sizes: Counter = Counter()
    for lab, toks in zip(labels.tolist(), token_sets):
        if lab != -1:
            counts.setdefault(lab, Counter()).update(toks)
            sizes[lab] += 1

    def profiles(_: np.ndarray) -> tuple[list[int], np.ndarray]:
        keys = sorted(counts)
        vocab = {w: i for i, w in enumerate(sorted(set().union(*counts.values())))} if counts else {}
        mat = np.zeros((len(keys), max(len(vocab), 1)))
        for r, k in enumerate(keys):
            for w, f in counts[k].items():
                mat[r, vocab[w]] = f / sizes[k]
        return keys, mat / np.linalg.norm(mat, axis=1, keepdims=True).clip(1e-12)

    def merged(big: int, small: int) -> None:
        counts[big].update(counts.pop(small))
        sizes[big] += sizes.pop(small)

    return _merge_closest(labels, threshold, profiles, merged)
