"""Issue discovery as a pipeline of small, swappable stages, each with its defaults in one place:

    Segmenter → Masker → Embedder → Contrast → Reducer → Clusterer → Selector → Namer

The segments travel in one polars frame (one row per critique sentence or clause); vectors in a matrix
aligned with the frame's `used` rows. `discover.py` selects the inputs from a workspace and stores the result.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import polars as pl

from ..errors import UserError
from . import cluster as cl
from .embed import DEFAULT_MODEL, embed
from .lexicon import Lexicon, load as load_lexicon
from .mask import TaskMasker
from .naming import Name, content_list, ctfidf_keywords, lexicon_name, phrase_name
from .outcome import lift, z_for
from .segment import segment
from .subjects import is_contrast, subjects, without_slots

SEGMENT_SCHEMA = {"judgment_id": pl.String, "item_id": pl.String, "ord": pl.Int32, "text": pl.String,
                  "masked": pl.String, "kind": pl.String, "response_id": pl.String, "about": pl.String}


# ---- stages -----------------------------------------------------------------------------------------
@dataclass
class Segmenter:
    """Critiques → sentences and clauses, each with the cue-rule kind (problem, praise, verdict, neutral) and
    the response it counts against or for (`response_id`): the judged one; in a pairwise critique the slot it
    names, except that a comparison in favour of the preferred answer ("A is better because it is more
    concise") is the judge's reason against the other one (`about` = 'contrast')."""

    contrast: bool = True

    def run(self, judgments: pl.DataFrame) -> pl.DataFrame:
        rows: dict[str, list] = {k: [] for k in SEGMENT_SCHEMA}
        for r in judgments.iter_rows(named=True):
            segs = segment(r["critique"] or "")
            if not segs:
                continue
            about = ["self"] * len(segs)
            if r["protocol"] == "pairwise":
                aliases = json.loads(r["aliases"]) if r.get("aliases") else None
                named = subjects([s.text for s in segs], r["first_id"], r["second_id"], aliases,
                                 {"a": r["response_a"], "b": r["response_b"]})
                winner = r.get("winner")
                other = {r["response_a"]: r["response_b"], r["response_b"]: r["response_a"]}
                rids = []
                for s, rid in zip(segs, named):
                    if self.contrast and rid is not None and rid == winner and is_contrast(s.text):
                        rids.append(other.get(rid))
                        about[len(rids) - 1] = "contrast"
                    else:
                        rids.append(rid)
            else:
                rids = [r["response_id"]] * len(segs)
            for s, rid, how in zip(segs, rids, about):
                rows["judgment_id"].append(r["judgment_id"])
                rows["item_id"].append(r["item_id"])
                rows["ord"].append(s.ord)
                rows["text"].append(s.text)
                rows["masked"].append(without_slots(s.text) if r["protocol"] == "pairwise" else s.text)
                rows["kind"].append(s.kind)
                rows["response_id"].append(rid)
                rows["about"].append(how)
        return pl.DataFrame(rows, schema=SEGMENT_SCHEMA)


@dataclass
class Masker:
    """Task words (rare across items, in this item's prompt, reference or responses) and numbers become X;
    a segment that is mostly task words names no kind of failure (kind `task`)."""

    enabled: bool = True
    max_task_share: float = 0.4

    def run(self, seg: pl.DataFrame, item_texts: dict[str, list[str]]) -> pl.DataFrame:
        if not self.enabled or seg.height == 0:
            return seg
        masker = TaskMasker(item_texts)
        masked = [masker.mask(t, i) for t, i in zip(seg["masked"], seg["item_id"])]
        share = [_task_share(m) for m in masked]
        kind = [("task" if s > self.max_task_share and k in ("problem", "praise") else k)
                for k, s in zip(seg["kind"], share)]
        return seg.with_columns(pl.Series("masked", masked, dtype=pl.String), pl.Series("kind", kind, dtype=pl.String))


@dataclass
class Embedder:
    """Sentence vectors of the masked segments, cached in the workspace (see embed.py)."""

    model: str = DEFAULT_MODEL

    def run(self, con, texts: list[str], sink: list | None = None):
        return embed(con, texts, self.model, sink)


@dataclass
class Contrast:
    """Take out part of what an item's segments share (its topic): v − beta·mean(item), renormalised."""

    beta: float = 0.5

    def run(self, vectors: np.ndarray, items: list[str]) -> np.ndarray:
        if not self.beta:
            return vectors
        uniq, inv, counts = np.unique(np.array(items), return_inverse=True, return_counts=True)
        out = np.asarray(vectors, dtype=np.float64).copy()
        means = cl.group_sums(out, inv, len(uniq)) / counts[:, None]
        apply = (counts >= 3)[inv]
        out[apply] -= self.beta * means[inv[apply]]
        return cl.unit(out)


@dataclass
class Reducer:
    """PCA to a few dozen dimensions (0: none)."""

    n_components: int = 64

    def run(self, vectors: np.ndarray) -> np.ndarray:
        return cl.PCA(self.n_components).fit_transform(vectors)


@dataclass
class Clusterer:
    """Spherical k-means per polarity (problem statements apart from praise), about one cluster per
    `per_cluster` segments; clusters that are one question's topic are dissolved (their segments join the
    nearest remaining cluster at cosine ≥ `reassign`, else none)."""

    per_cluster: int = 40
    max_clusters: int = 300
    max_item_share: float = 0.2
    min_items: int = 5
    reassign: float = 0.5

    def run(self, x: np.ndarray, items: np.ndarray, seed: int) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, dtype=int)
        k = cl.n_clusters(len(x), self.per_cluster, 1, self.max_clusters)
        labels, _ = cl.KMeans(k, seed=seed).fit(x)
        keep = [c for c in range(k) if self._spread(items[labels == c])]
        if not keep:
            return np.full(len(x), -1)
        out = np.where(np.isin(labels, keep), labels, -1)
        lost = out < 0
        if lost.any():
            cents = np.stack([cl.unit(x[labels == c].mean(axis=0)) for c in keep])
            sims = x[lost] @ cents.T
            best = sims.argmax(axis=1)
            ok = sims[np.arange(len(best)), best] >= self.reassign
            out[np.flatnonzero(lost)[ok]] = np.array(keep)[best[ok]]
        return out

    def _spread(self, items: np.ndarray) -> bool:
        if len(items) == 0:
            return False
        _, counts = np.unique(items, return_counts=True)
        return len(counts) >= self.min_items and counts.max() / len(items) <= self.max_item_share


@dataclass
class Selector:
    """Which groups of statements are issues and which strengths, from the outcome of the responses they are
    about. A fine cluster leans to an issue when it is over-represented among failing units by at least
    `min_lift` (its point estimate), to a strength when among passing ones; once clusters are merged under
    their names, an issue must be over-represented among failing units beyond doubt: the lower end of its lift
    interval above 1, at `alpha` shared over every issue tested (Bonferroni), a strength the upper end below 1.
    Besides the lift, an issue's units score below the selection's mean outcome and a strength's above it (a
    skewed score distribution can put a statement over-represented among the lower half above the mean).
    Without any outcome the cue rules decide (problem statements = issues, praise = strengths)."""

    min_units: int = 5
    min_lift: float = 1.2
    alpha: float = 0.05

    def lean(self, stats: dict, polarity: str, signal: str) -> str:
        """issue, strength or neutral for one fine cluster (point estimates)."""
        if signal == "cues":
            return {"problem": "issue", "praise": "strength"}.get(polarity, "neutral")
        ratio = stats.get("lift")
        if stats.get("n_units", 0) < self.min_units or ratio is None:
            return "neutral"
        below = self._below_mean(stats)
        if ratio >= self.min_lift and below is not False:
            return "issue"
        if ratio <= 1 / self.min_lift and below is not True:
            return "strength"
        return "neutral"

    def kind(self, stats: dict, polarity: str, signal: str) -> str:
        """issue, strength or neutral for a named group (its interval; see the class)."""
        if signal == "cues":
            return {"problem": "issue", "praise": "strength"}.get(polarity, "neutral")
        lo, hi = stats.get("lift_low"), stats.get("lift_high")
        if stats.get("n_units", 0) < self.min_units or lo is None:
            return "neutral"
        below = self._below_mean(stats)
        if lo > 1 and below is not False:
            return "issue"
        if hi < 1 and below is not True:
            return "strength"
        return "neutral"

    @staticmethod
    def _below_mean(stats: dict) -> bool | None:
        severity, mean = stats.get("severity"), stats.get("mean_outcome")
        return None if severity is None or mean is None else severity < mean


@dataclass
class Namer:
    """A name for each cluster: the closest lexicon entry of its kind (cosine of the cluster's centroid to the
    entry's mean vector ≥ `min_similarity`), else a phrase of its own words. `lexicon`: a TOML file of
    entries to add (lexicon.toml's format)."""

    min_similarity: float = 0.4
    min_coherence: float = 0.65    # a cluster no lexicon entry fits is reported only when this tight (mean cosine)
    refine: bool = True            # then each sentence of the issues joins the one whose description is nearest
    assign: float = 0.5            # ... and other statements read the same way join one at this cosine or more
    lexicon: str | None = None

    def load(self) -> Lexicon:
        return load_lexicon(self.lexicon)


STAGES = ("segmenter", "masker", "embedder", "contrast", "reducer", "clusterer", "selector", "namer")
# the range each numeric option must lie in (inclusive)
RANGES = {"masker.max_task_share": (0.0, 1.0), "contrast.beta": (0.0, 1.0), "reducer.n_components": (0, 384),
          "clusterer.per_cluster": (2, 100_000), "clusterer.max_clusters": (1, 5000),
          "clusterer.max_item_share": (0.0, 1.0), "clusterer.min_items": (1, 100_000), "clusterer.reassign": (-1.0, 1.0),
          "selector.min_units": (1, 1_000_000), "selector.alpha": (1e-9, 0.5), "selector.min_lift": (1.0, 100.0),
          "namer.min_similarity": (-1.0, 1.0), "namer.min_coherence": (-1.0, 1.0), "namer.assign": (-1.0, 1.0),
          "seed": (0, 2**32 - 1)}


@dataclass
class Pipeline:
    segmenter: Segmenter = field(default_factory=Segmenter)
    masker: Masker = field(default_factory=Masker)
    embedder: Embedder = field(default_factory=Embedder)
    contrast: Contrast = field(default_factory=Contrast)
    reducer: Reducer = field(default_factory=Reducer)
    clusterer: Clusterer = field(default_factory=Clusterer)
    selector: Selector = field(default_factory=Selector)
    namer: Namer = field(default_factory=Namer)
    seed: int = 0
    coords: bool = True

    def params(self) -> dict:
        return asdict(self)

    @classmethod
    def options(cls) -> dict[str, tuple[str, object, type]]:
        """Every tunable option as 'stage.field' -> (stage, default, type), for the CLI and the API."""
        out = {}
        for stage in STAGES:
            obj = cls.__dataclass_fields__[stage].default_factory()
            for f in fields(obj):
                out[f"{stage}.{f.name}"] = (stage, getattr(obj, f.name), f.type)
        return out

    @classmethod
    def make(cls, **options) -> "Pipeline":
        """Pipeline.make(seed=1, **{"clusterer.per_cluster": 60}) or with short names when they are unique
        (per_cluster=60, embedding_model=...)."""
        p = cls()
        known = cls.options()
        short = Counter(k.split(".", 1)[1] for k in known)
        aliases = {"embedding_model": "embedder.model", "min_similarity": "namer.min_similarity",
                   "lexicon": "namer.lexicon", "mask": "masker.enabled"}
        for key, value in options.items():
            if value is None:
                continue
            if key in ("seed", "coords"):
                setattr(p, key, value)
                continue
            full = aliases.get(key) or (key if key in known else next(
                (k for k in known if k.endswith("." + key) and short[key] == 1), None))
            if full is None:
                raise UserError(f"unknown issue-discovery option {key!r}; options: seed, "
                                + ", ".join(sorted(known)))
            stage, name = full.split(".", 1)
            setattr(getattr(p, stage), name, _checked(full, value, known[full][1]))
        p.seed = _checked("seed", p.seed, 0)
        return p


def _checked(key: str, value, default):
    """An option's value, of its default's type and in its range, or a one-line UserError naming it."""
    name = key.split(".")[-1]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise UserError(f"{name} must be true or false, not {value!r}")
        return value
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UserError(f"{name} must be a number, not {value!r}") from None
        if isinstance(value, bool) or number != number or number in (float("inf"), float("-inf")):
            raise UserError(f"{name} must be a finite number, not {value!r}")
        if isinstance(default, int) and number != int(number):
            raise UserError(f"{name} must be a whole number, not {value!r}")
        lo, hi = RANGES.get(key, (float("-inf"), float("inf")))
        if not lo <= number <= hi:
            raise UserError(f"{name} must be from {lo:g} to {hi:g}, not {value!r}")
        return int(number) if isinstance(default, int) else number
    if value is not None and not isinstance(value, str):
        raise UserError(f"{name} must be text, not {value!r}")
    if key == "embedder.model" and not (value or "").strip():
        raise UserError("embedding model must be named")
    return value


@dataclass
class Inputs:
    judgments: pl.DataFrame          # judgment_id, item_id, protocol, critique, response_id, response_a,
                                     # response_b, first_id, second_id, aliases
    units: pl.DataFrame              # judgment_id, response_id, model, item_id, outcome, failing, signal
    item_texts: dict[str, list[str]]
    signal: str                      # score | verdict | label | mixed | cues


@dataclass
class Result:
    segments: pl.DataFrame           # SEGMENT_SCHEMA + used, issue (-1 none), how, similarity
    issues: list[dict]               # index, title, description, category, kind, keywords, named_by, origin
    coords: np.ndarray | None        # one row per used segment
    signal: str
    stats: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    embed_stats: dict = field(default_factory=dict)


# ---- the run --------------------------------------------------------------------------------------
def run(con, inputs: Inputs, p: Pipeline, taxonomy: list[dict] | None = None,
        llm_namer: Callable[[list[dict], dict[int, list[str]]], None] | None = None,
        sink: list | None = None) -> Result:
    """The pipeline over `inputs`. With `sink`, new embeddings are collected there instead of stored (a reader
    that cannot write, e.g. a worker process; see discover.compute)."""
    t: dict[str, float] = {}
    clock = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        t[name] = round(now - clock, 3)
        clock = now

    seg = p.segmenter.run(inputs.judgments)
    seg = p.masker.run(seg, inputs.item_texts)
    cue_only = inputs.signal == "cues"
    # with an outcome, every statement can turn out to be an issue or a strength; without one, only what the
    # cue rules read as a problem or as praise is clustered
    kinds = ["problem", "praise"] if cue_only else ["problem", "praise", "neutral"]
    used = seg["kind"].is_in(kinds).to_numpy() if seg.height else np.zeros(0, bool)
    tick("segment")
    n = seg.height
    issue = np.full(n, -1)
    how = [None] * n
    sim = np.zeros(n)
    result = Result(seg, [], None, inputs.signal, timings=t)
    idx = np.flatnonzero(used)
    if len(idx) == 0:
        result.segments = _finish(seg, used, issue, how, sim)
        return result
    masked = seg["masked"].to_list()
    items = np.array(seg["item_id"].to_list(), dtype=object)
    raw, estats = p.embedder.run(con, [masked[i] for i in idx], sink)
    result.embed_stats = estats.__dict__
    tick("embed")
    work = p.contrast.run(raw, list(items[idx]))
    # one sentence, one point: copies of a text in different items differ after the contrast, and where the
    # items differ in outcome the copies would split into clusters that only mirror it
    _, text_of = np.unique(np.array([masked[i] for i in idx], dtype=object), return_inverse=True)
    work = cl.unit(cl.group_sums(work, text_of, int(text_of.max()) + 1)[text_of])
    x = p.reducer.run(work)
    tick("reduce")
    polarity = seg["kind"].to_numpy()[idx]

    # known issues first: segments close to a given name and description join it
    local = np.full(len(idx), -1)
    local_how: list[str | None] = [None] * len(idx)
    issues: list[dict] = []
    if taxonomy:
        tv, _ = p.embedder.run(con, [f"{e['title']}: {e.get('description') or ''}".strip(": ") for e in taxonomy],
                               sink)
        s = cl.unit(np.asarray(raw, dtype=np.float64)) @ tv.T.astype(np.float64)
        best = s.argmax(axis=1)
        hit = s[np.arange(len(idx)), best] >= 0.4
        local[hit] = best[hit]
        for i in np.flatnonzero(hit):
            local_how[i] = "taxonomy"
        for k, e in enumerate(taxonomy):
            issues.append({"index": k, "title": e["title"], "description": e.get("description"), "category": None,
                           "kind": "issue", "named_by": "taxonomy", "origin": "taxonomy"})

    # fine clusters per polarity
    fine = np.full(len(idx), -1)
    offset = 0
    for pol in kinds:
        mask = (polarity == pol) & (local == -1)
        if not mask.any():
            continue
        lab = p.clusterer.run(x[mask], items[idx][mask], p.seed)
        fine[mask] = np.where(lab >= 0, lab + offset, -1)
        offset += int(lab.max()) + 1 if (lab >= 0).any() else 0
    tick("cluster")

    # outcome of each clustered segment's unit
    units = inputs.units
    unit_key = {(j, r): f for j, r, f in units.select("judgment_id", "response_id", "failing").iter_rows()}
    seg_j = seg["judgment_id"].to_list()
    seg_r = seg["response_id"].to_list()
    seg_fail = [unit_key.get((seg_j[i], seg_r[i])) if seg_r[i] is not None else None for i in idx]
    n_fail = int(units["failing"].sum() or 0)
    n_pass = int((units["failing"] == False).sum() or 0)  # noqa: E712
    lexicon = p.namer.load()
    raw_unit = cl.unit(np.asarray(raw, dtype=np.float64))

    outcome_of = {(j, r): o for j, r, o in units.select("judgment_id", "response_id", "outcome").iter_rows()}
    mean_outcome = units["outcome"].mean() if units.height else None

    z = 1.959963984540054

    def stats_of(members: np.ndarray) -> dict:
        keys = {(seg_j[idx[i]], seg_r[idx[i]]): seg_fail[i] for i in members if seg_r[idx[i]] is not None}
        k_fail = sum(1 for f in keys.values() if f is True)
        k_pass = sum(1 for f in keys.values() if f is False)
        ratio, lo, hi = lift(k_fail, n_fail, k_pass, n_pass, z)
        outcomes = [o for k in keys if (o := outcome_of.get(k)) is not None]
        return {"n_units": k_fail + k_pass, "lift": ratio, "lift_low": lo, "lift_high": hi,
                "severity": float(np.mean(outcomes)) if outcomes else None, "mean_outcome": mean_outcome}

    # kind and name of each fine cluster
    named: dict[int, tuple[str, Name]] = {}
    groups: dict[int, np.ndarray] = {int(c): np.flatnonzero(fine == c) for c in np.unique(fine[fine >= 0])}
    anchors = _anchors(con, p, lexicon, sink)
    about = seg["about"].to_numpy()
    dropped = Counter()
    for c, members in groups.items():
        kind = p.selector.lean(stats_of(members), polarity[members[0]], inputs.signal)
        if kind == "neutral":
            dropped["not tied to the outcome"] += 1
            continue
        centroid = cl.unit(raw_unit[members].mean(axis=0))
        fit = raw_unit[members] @ centroid
        # a cluster of reasons the other answer won ("it is more concise") describes that answer's merit:
        # its name is the issue opposite to the strength it is closest to
        contrast = kind == "issue" and float(np.mean(about[idx[members]] == "contrast")) >= 0.5
        if not contrast and _reads_as(centroid, anchors) != kind:
            # the data puts it with failures (or successes) but it reads the other way round: praise that
            # failing answers also get, or a minor complaint about good ones; it belongs in neither list
            dropped["reads as the opposite"] += 1
            continue
        name = lexicon_name(centroid, *anchors["issue" if kind == "issue" else "strength"], p.namer.min_similarity)
        if contrast:
            merit = lexicon_name(centroid, *anchors["opposed"], p.namer.min_similarity)
            if merit is not None and (name is None or merit.similarity > name.similarity):
                e = lexicon.entry("issue", lexicon.entry("strength", merit.label).opposite)
                name = Name(e.label, e.description, e.category, "lexicon", merit.similarity)
        verdict = lexicon_name(centroid, *anchors["verdict"], p.namer.min_similarity)
        if verdict is not None and (name is None or verdict.similarity >= name.similarity):
            dropped["verdict restatement"] += 1
            continue
        if name is None:
            if polarity[members[0]] == "neutral":   # descriptions ("Here is an example …") get no phrase names
                dropped["a description no name fits"] += 1
                continue
            if float(fit.mean()) < p.namer.min_coherence:
                dropped["no name fits and too loose"] += 1
                continue
            central = members[np.argsort(-fit, kind="stable")[:7]]
            name = phrase_name([masked[idx[i]] for i in members], [masked[idx[i]] for i in central], kind,
                               contrast=contrast)
            if name is None:
                dropped["no phrase names it"] += 1
                continue
        named[c] = (kind, name)
    tick("name")

    # one issue per (kind, name): clusters with the same name are one issue, and so are phrase names that say
    # the same in fewer words ('Less diverse' and 'Less diverse list')
    by_name: dict[tuple[str, str], list[int]] = {}
    for c, (kind, name) in sorted(named.items(), key=lambda kv: (len(kv[1][1].label), kv[0])):
        key = (kind, name.label.lower())
        if name.named_by == "phrase":
            words = set(content_list(name.label))
            key = next((k for k in by_name if k[0] == kind and named[by_name[k][0]][1].named_by == "phrase"
                        and words and set(content_list(k[1])) <= words), key)
        by_name.setdefault(key, []).append(c)
    n_tax = len(issues)
    merged_away = 0
    final = []
    # a phrase names what one group of sentences says; unless it recurs across many items it is one task's topic
    min_items = max(p.clusterer.min_items, int(0.03 * len(set(items[idx]))))
    z = z_for(p.selector.alpha, len(by_name))   # one test per named group
    for (kind, _), cs in by_name.items():
        members = np.concatenate([groups[c] for c in cs])
        if named[cs[0]][1].named_by == "phrase" and len(set(items[idx[members]])) < min_items:
            dropped["a phrase from too few items"] += len(cs)
            continue
        s = stats_of(members)
        if not cue_only and p.selector.kind(s, "problem" if kind == "issue" else "praise", inputs.signal) != kind:
            continue   # together they are not tied to the outcome any more
        final.append((kind, cs, members, s))
        merged_away += len(cs) - 1
    moved: set[int] = set()
    if p.namer.refine:
        final, moved = _refine(final, named, anchors, raw_unit, stats_of, p, inputs.signal, cue_only, polarity,
                               about[idx])
    final.sort(key=lambda f: (f[0] != "issue", -len({seg_j[idx[i]] for i in f[2]}), named[f[1][0]][1].label))
    for rank, (kind, cs, members, s) in enumerate(final):
        number = n_tax + rank
        local[members] = number
        for i in members:
            local_how[i] = "nearest" if i in moved else "cluster"
        name = named[cs[0]][1]
        issues.append({"index": number, "title": name.label, "description": name.description,
                       "category": name.category, "kind": kind, "named_by": name.named_by, "origin": "cluster",
                       "fine_clusters": len(cs), "lift": s["lift"], "lift_low": s["lift_low"],
                       "lift_high": s["lift_high"]})
    # categories for phrase-named issues: the nearest category description
    _categorise(con, p, lexicon, issues, local, raw_unit, sink)
    docs: dict[int, list[str]] = {}
    for i, lab in enumerate(local):
        if lab >= 0:
            docs.setdefault(int(lab), []).append(masked[idx[i]])
    keywords = ctfidf_keywords(docs)
    for x_ in issues:
        x_["keywords"] = keywords.get(x_["index"], [])
    cents = cl.centroids(raw_unit, local)
    for i, lab in enumerate(local):
        if lab >= 0:
            sim[idx[i]] = float(raw_unit[i] @ cents[int(lab)])
            issue[idx[i]] = lab
            how[idx[i]] = local_how[i]
    if llm_namer is not None:
        examples = {}
        for x_ in issues:
            members = np.flatnonzero(local == x_["index"])
            order = members[np.argsort(-np.array([sim[idx[i]] for i in members]), kind="stable")][:8]
            examples[x_["index"]] = [seg["text"][int(idx[i])] for i in order]
        llm_namer(issues, examples)
    tick("label")
    if p.coords:
        result.coords = cl.layout(x, local, p.seed)
        tick("coords")
    result.issues = issues
    result.segments = _finish(seg, used, issue, how, sim)
    result.stats = {"fine_clusters": len(groups), "named_clusters": len(named), "merged_by_name": merged_away,
                    "clusters_left_out": dict(dropped), "n_fail_units": n_fail, "n_pass_units": n_pass}
    return result


def _refine(final: list, named: dict, anchors: dict, raw_unit: np.ndarray, stats_of, p: "Pipeline", signal: str,
            cue_only: bool, polarity: np.ndarray, about: np.ndarray) -> tuple[list, set[int]]:
    """Once the issues are known, sentences join the issue (of the same kind) whose description they are nearest:
    the lexicon entry's vector. Clusters proposed which issues there are; the names decide where a sentence
    belongs, so the issues do not hang on where one run of k-means drew its boundaries. The sentences are those
    of the issues' clusters and every other statement the cue rules read the same way (problem statements for
    issues, praise for strengths) at cosine ≥ `assign` to the entry; a sentence nearest a bare verdict joins
    none. A phrase-named issue keeps its own cluster. Issues that no longer meet the selector's bar go."""
    out, moved = [], set()
    taken = {int(i) for f in final for i in f[2]}
    for kind in ("issue", "strength"):
        vectors = {e.label: v for e, v in zip(*anchors["issue" if kind == "issue" else "strength"])}
        group = [f for f in final if f[0] == kind and named[f[1][0]][1].label in vectors]
        out += [f for f in final if f[0] == kind and named[f[1][0]][1].label not in vectors]
        if not group:
            continue
        own = {int(i) for f in group for i in f[2]}
        cue = "problem" if kind == "issue" else "praise"
        extra = np.array(sorted(i for i in np.flatnonzero((polarity == cue) & (about != "contrast"))
                                if int(i) not in taken), dtype=int)
        pool = np.concatenate([np.array(sorted(own), dtype=int), extra])
        rows = np.stack([vectors[named[cs[0]][1].label] for _, cs, _, _ in group])
        sims = raw_unit[pool] @ np.vstack([rows, anchors["verdict"][1]]).T
        best = sims.argmax(axis=1)
        close = sims[np.arange(len(pool)), best] >= p.namer.assign
        owner = {int(i): g for g, f in enumerate(group) for i in f[2]}
        keep = np.array([int(i) in own or bool(c) for i, c in zip(pool, close)])
        for i, b in zip(pool, best):
            if owner.get(int(i)) != b:
                moved.add(int(i))
        for g, (kind_, cs, _, _) in enumerate(group):
            members = np.sort(pool[(best == g) & keep])
            if not len(members):
                continue
            s = stats_of(members)
            if cue_only or p.selector.kind(s, cue, signal) == kind:
                out.append((kind_, cs, members, s))
    return out, moved


def _reads_as(centroid: np.ndarray, anchors: dict) -> str:
    """Whether a cluster reads more like an issue or like a strength (its nearest lexicon entry's kind)."""
    best = {k: float((anchors[k][1] @ centroid).max()) if len(anchors[k][1]) else -1.0 for k in ("issue", "strength")}
    return "issue" if best["issue"] >= best["strength"] else "strength"


def _finish(seg: pl.DataFrame, used: np.ndarray, issue: np.ndarray, how: list, sim: np.ndarray) -> pl.DataFrame:
    return seg.with_columns(pl.Series("used", used.tolist(), dtype=pl.Boolean),
                            pl.Series("issue", issue.tolist(), dtype=pl.Int64),
                            pl.Series("how", how, dtype=pl.String),
                            pl.Series("similarity", sim.tolist(), dtype=pl.Float64))


def _anchors(con, p: Pipeline, lexicon: Lexicon, sink: list | None = None) -> dict[str, tuple[list, np.ndarray]]:
    """Per kind: the lexicon entries and their mean vectors (label, description and cues, embedded)."""
    out = {}
    for kind in ("issue", "strength", "verdict"):
        entries = lexicon.of_kind(kind)
        texts = [t for e in entries for t in e.texts()]
        vec, _ = p.embedder.run(con, texts, sink) if texts else (np.zeros((0, 1)), None)
        vec = np.asarray(vec, dtype=np.float64)
        rows, pos = [], 0
        for e in entries:
            k = len(e.texts())
            # the label is what a reader goes by: it weighs as much as its description and cues together
            rows.append(cl.unit(cl.unit(vec[pos]) + cl.unit(vec[pos + 1:pos + k].mean(axis=0))))
            pos += k
        out[kind] = (entries, np.stack(rows) if rows else np.zeros((0, vec.shape[1] if vec.ndim == 2 else 1)))
    strengths, mat = out["strength"]
    keep = [i for i, e in enumerate(strengths) if e.opposite]
    out["opposed"] = ([strengths[i] for i in keep], mat[keep] if keep else mat[:0])
    return out


def _categorise(con, p: Pipeline, lexicon: Lexicon, issues: list[dict], local: np.ndarray,
                raw_unit: np.ndarray, sink: list | None = None) -> None:
    todo = [x for x in issues if not x.get("category") and x["origin"] == "cluster"]
    if not todo or not lexicon.categories:
        return
    keys = sorted(lexicon.categories)
    cv, _ = p.embedder.run(con, [lexicon.categories[k] for k in keys], sink)
    cv = cl.unit(np.asarray(cv, dtype=np.float64))
    for x in todo:
        members = np.flatnonzero(local == x["index"])
        if len(members):
            x["category"] = keys[int(np.argmax(cv @ cl.unit(raw_unit[members].mean(axis=0))))]


def _task_share(masked: str) -> float:
    words = masked.split()
    return sum(1 for w in words if w.strip(".,;:!?()\"'…") == "X") / max(len(words), 1)
