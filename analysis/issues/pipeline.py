"""The issue-discovery pipeline on in-memory inputs: segment → keep problems → mask task words →
embed (cached) → contrast with the item → reduce → cluster → reassign noise → merge → name.
`discover.py` selects the inputs from the workspace and stores the result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import cluster as cl
from .embed import DEFAULT_MODEL, embed
from .mask import TaskMasker
from .naming import content_words, ctfidf_keywords, title_from_segments
from .segment import segment


@dataclass
class Params:
    seed: int = 0
    min_size: int | None = None          # HDBSCAN min_cluster_size; None = grows with the data
    embedding_model: str = DEFAULT_MODEL
    problems_only: bool = True           # cluster only the segments that state a problem
    mask: bool = True                    # mask task-specific words
    contrast: float = 0.5                # subtract this share of the item's mean segment vector
    n_components: int = 5
    n_neighbors: int = 15
    reassign: float = 0.45               # noise joins a cluster at this cosine or more (None: never)
    merge: float = 0.85                  # clusters with centroid cosine ≥ this are merged
    merge_terms: float | None = 0.75     # ... and clusters whose content-word profiles have cosine ≥ this
    taxonomy_threshold: float = 0.4      # a segment joins a known issue at this cosine or more
    coords: bool = True                  # 2-D map

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Result:
    seg_judgment: list[str]
    seg_ord: list[int]
    seg_text: list[str]
    seg_masked: list[str]
    seg_kind: list[str]
    used: np.ndarray                     # bool per segment: clustered
    labels: np.ndarray                   # issue index per segment (-1 none); only for used segments
    how: list[str | None]
    similarity: np.ndarray
    issues: list[dict]                   # index, title, keywords, origin, description
    coords: np.ndarray | None
    merges: list[tuple[int, int, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    embed_stats: dict = field(default_factory=dict)


def run(con, judgments: list[tuple[str, str, str]], item_texts: dict[str, list[str]], params: Params,
        taxonomy: list[dict] | None = None, namer: Callable[[list[dict]], None] | None = None) -> Result:
    """`judgments`: (judgment_id, item_id, critique). `item_texts`: item_id -> its prompt, reference, responses."""
    t = {}
    t0 = time.perf_counter()
    seg_j, seg_i, seg_o, seg_t, seg_k = [], [], [], [], []
    for jid, item, critique in judgments:
        for s in segment(critique or ""):
            seg_j.append(jid)
            seg_i.append(item)
            seg_o.append(s.ord)
            seg_t.append(s.text)
            seg_k.append(s.kind)
    used = np.array([k == "problem" for k in seg_k]) if params.problems_only else np.ones(len(seg_k), bool)
    masker = TaskMasker(item_texts) if params.mask else None
    masked = [masker.mask(text, item) if masker else text for text, item in zip(seg_t, seg_i)]
    if params.mask:
        # a segment that is mostly the task's own words (a quote, a restated fact) names no kind of failure
        for i, m in enumerate(masked):
            if used[i] and _task_share(m) > MAX_TASK_SHARE:
                used[i] = False
                seg_k[i] = "task"
    t["segment"] = time.perf_counter() - t0
    idx = np.flatnonzero(used)
    labels = np.full(len(seg_t), -1)
    how: list[str | None] = [None] * len(seg_t)
    sims = np.zeros(len(seg_t))
    issues: list[dict] = []
    result = Result(seg_j, seg_o, seg_t, masked, seg_k, used, labels, how, sims, issues, None)
    if len(idx) == 0:
        result.timings = t
        return result
    t0 = time.perf_counter()
    vectors, stats = embed(con, [masked[i] for i in idx], params.embedding_model)
    result.embed_stats = stats.__dict__
    t["embed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    work = _contrast(vectors, [seg_i[i] for i in idx], params.contrast)
    t["contrast"] = time.perf_counter() - t0

    # known issues first: segments close to a given name/description join it
    local = np.full(len(idx), -1)
    local_sim = np.zeros(len(idx))
    local_how: list[str | None] = [None] * len(idx)
    n_tax = 0
    if taxonomy:
        tv, _ = embed(con, [f"{x['title']}: {x.get('description') or ''}".strip(": ") for x in taxonomy],
                      params.embedding_model)
        s = vectors @ tv.T
        best = s.argmax(axis=1)
        hit = s[np.arange(len(idx)), best] >= params.taxonomy_threshold
        local[hit] = best[hit]
        local_sim[hit] = s[np.arange(len(idx)), best][hit]
        for i in np.flatnonzero(hit):
            local_how[i] = "taxonomy"
        n_tax = len(taxonomy)
        for k, x in enumerate(taxonomy):
            issues.append({"index": k, "title": x["title"], "description": x.get("description"), "origin": "taxonomy"})
    rest = np.flatnonzero(local == -1)
    t0 = time.perf_counter()
    min_size = params.min_size or cl.min_cluster_size(len(rest))
    reduced, knn = (cl.reduce(work[rest], params.n_components, params.seed, params.n_neighbors) if len(rest)
                    else (np.zeros((0, 1)), None))
    t["reduce"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lab = cl.cluster(reduced, min_size) if len(rest) else np.zeros(0, int)
    if params.reassign is not None and len(rest):
        lab2, _ = cl.reassign_noise(work[rest], lab, params.reassign)
    else:
        lab2 = lab
    lab3, merges = cl.merge_duplicates(work[rest], lab2, params.merge) if len(rest) else (lab2, [])
    if params.merge_terms is not None and len(rest):
        lab3, more = cl.merge_by_terms(lab3, [content_words(masked[idx[r]]) for r in rest], params.merge_terms)
        merges += more
    t["cluster"] = time.perf_counter() - t0
    # renumber clusters by size, after the taxonomy issues
    sizes = {k: int((lab3 == k).sum()) for k in set(lab3) - {-1}}
    order = sorted(sizes, key=lambda k: (-sizes[k], k))
    number = {k: n_tax + r for r, k in enumerate(order)}
    for r, l0, l3 in zip(rest, lab, lab3):
        if l3 != -1:
            local[r] = number[l3]
            local_how[r] = "cluster" if l0 != -1 else "reassigned"
    cents = cl.centroids(work, local)
    for i in range(len(idx)):
        if local[i] != -1:
            local_sim[i] = float(work[i] @ cents[local[i]])
    result.merges = merges
    # names
    t0 = time.perf_counter()
    docs: dict[int, list[str]] = {}
    for i, l in enumerate(local):
        if l != -1:
            docs.setdefault(int(l), []).append(masked[idx[i]])
    keywords = ctfidf_keywords(docs)
    for k in order:
        n = number[k]
        members = np.flatnonzero(local == n)
        texts = [masked[idx[i]].replace("X", "…") for i in members]
        issues.append({"index": n, "title": title_from_segments(texts, local_sim[members], keywords.get(n, [])),
                       "keywords": keywords.get(n, []), "description": None, "origin": "cluster"})
    for x in issues:
        x.setdefault("keywords", keywords.get(x["index"], []))
    if namer is not None:
        namer(issues, {n: [seg_t[idx[i]] for i in np.flatnonzero(local == n)[np.argsort(-local_sim[local == n])][:8]]
                       for n in range(len(issues))})
    t["name"] = time.perf_counter() - t0
    for pos, i in enumerate(idx):
        labels[i] = local[pos]
        how[i] = local_how[pos]
        sims[i] = local_sim[pos]
    if params.coords and len(idx) > 3:
        t0 = time.perf_counter()
        # large sets: the map reuses the clustering layout's neighbour graph and trains half as long (it is for
        # looking at; measured in benchmarks/issues_scale.py)
        big = len(idx) > cl.SPECTRAL_MAX and len(rest) == len(idx)
        result.coords, _ = cl.reduce(work, 2, params.seed, params.n_neighbors, knn=knn if big else None,
                                     n_epochs=100 if big else None)
        t["coords"] = time.perf_counter() - t0
    result.timings = t
    return result


MAX_TASK_SHARE = 0.4


def _task_share(masked: str) -> float:
    words = masked.split()
    return sum(1 for w in words if w.strip(".,;:!?()\"'…") == "X") / max(len(words), 1)


def _contrast(vectors: np.ndarray, items: list[str], beta: float) -> np.ndarray:
    """Remove part of what an item's segments share (its topic): v − beta·mean(item), renormalised.
    Items with fewer than three segments are left as they are."""
    if not beta:
        return vectors
    items_arr = np.array(items)
    uniq, inv, counts = np.unique(items_arr, return_inverse=True, return_counts=True)
    sums = np.zeros((len(uniq), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, inv, vectors)
    means = (sums / counts[:, None]).astype(np.float32)
    apply = (counts >= 3)[inv]
    out = vectors.copy()
    out[apply] = vectors[apply] - beta * means[inv[apply]]
    return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)
