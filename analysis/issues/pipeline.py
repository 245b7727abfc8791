"""Issue discovery as a pipeline of small, swappable stages, each with its defaults in one place:

    Segmenter → Masker → Evidence → Stated → Embedder → Contrast → Reducer → Clusterer → Selector → Namer

Precision first: a judgment counts for an issue only when the response shows the fact (Evidence) or its critique
states the failure in words (Stated: the lexicon entries' patterns; Namer: a cluster's own name, which each
member must say). What no issue explains stays unexplained and is counted.

The segments travel in one polars frame (one row per critique sentence or clause); vectors in a matrix
aligned with the frame's `used` rows. `discover.py` selects the inputs from a workspace and stores the result.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TypedDict, cast

import numpy as np
import polars as pl

from .. import progress
from ..errors import UserError
from . import cluster as cl
from .embed import DEFAULT_MODEL, embed
from .lexicon import Entry, Lexicon, load as load_lexicon
from .mask import TaskMasker
from .corrections import Misfits, marked_out
from .detect import Detector, denies, states_constraint, withholds
from .evidence import EVIDENCE, JUDGED, facts, shows_code
from .parallel import pmap
from .naming import Name, content_list, ctfidf_keywords, lexicon_name, phrase_name, says_name, strength_name
from .outcome import lift, z_for
from .segment import NEGATIVE, praises, segment
from .subjects import about_each, aliases_of, is_contrast, spelled, subjects, unknown_name, without_slots

log = logging.getLogger(__name__)

SEGMENT_SCHEMA = {
    "judgment_id": pl.String,
    "item_id": pl.String,
    "ord": pl.Int32,
    "text": pl.String,
    "masked": pl.String,
    "kind": pl.String,
    "response_id": pl.String,
    "about": pl.String,
}


# critiques above which splitting them into sentences is spread over the cores (parallel.py)
PARALLEL_CRITIQUES = 5_000


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
        critiques = [c or "" for c in judgments["critique"]]
        # a critique's sentences depend on its text alone, and judges repeat themselves (LLMBar: 17,478 distinct
        # critiques in 100,644), so each distinct text is split once
        distinct = list(dict.fromkeys(critiques))
        parts = dict(zip(distinct, pmap(segment, distinct, min_items=PARALLEL_CRITIQUES)))
        split = [parts[c] for c in critiques]
        unslotted: dict[str, str] = {}  # sentence -> without its slot names, once per distinct sentence
        for r, segs in zip(judgments.iter_rows(named=True), split):
            if not segs:
                continue
            about = ["self"] * len(segs)
            if r["protocol"] == "pairwise":
                aliases = aliases_of(r.get("aliases"))
                named = subjects(
                    [s.text for s in segs],
                    r["first_id"],
                    r["second_id"],
                    aliases,
                    {"a": r["response_a"], "b": r["response_b"]},
                    [s.heading for s in segs],
                )
                winner = r.get("winner")
                other = {r["response_a"]: r["response_b"], r["response_b"]: r["response_a"]}
                rids = []
                for s, rid in zip(segs, named):
                    if self.contrast and rid is not None and rid == winner and is_contrast(s.text):
                        rids.append(other.get(rid))
                        about[len(rids) - 1] = "contrast"
                    else:
                        rids.append(rid)
                segs, rids, about, ords = _each(segs, rids, about, (r["first_id"], r["second_id"]))
            else:
                rids = [r["response_id"]] * len(segs)
                ords = [s.ord for s in segs]
            for s, rid, how, o in zip(segs, rids, about, ords):
                rows["judgment_id"].append(r["judgment_id"])
                rows["item_id"].append(r["item_id"])
                rows["ord"].append(o)
                rows["text"].append(s.text)
                if r["protocol"] == "pairwise":
                    if s.text not in unslotted:
                        unslotted[s.text] = without_slots(s.text)
                    rows["masked"].append(unslotted[s.text])
                else:
                    rows["masked"].append(s.text)
                rows["kind"].append(s.kind)
                rows["response_id"].append(rid)
                rows["about"].append(how)
        return pl.DataFrame(rows, schema=SEGMENT_SCHEMA)


# the copy of a sentence about both responses that counts for the second one: its ord is the sentence's plus this
EACH_ORD = 1_000_000


def _each(segs: list, rids: list, about: list, shown: tuple) -> tuple[list, list, list, list[int]]:
    """A failure stated of both responses ("Both responses are incorrect …", "Neither Output (a) nor Output (b)
    follows the requirement"), with no praise beside it, counts for each: one row per response shown (about =
    'each'; the second's ord is EACH_ORD past the sentence's). Every other sentence keeps its row. Returns segments,
    response ids, abouts, ords."""
    rows = []
    for s, rid, how in zip(segs, rids, about):
        # (not where it also praises them: "Both provided helpful answers … without seeming rude" is no failure)
        each = s.kind == "problem" and how != "contrast" and None not in shown
        if each and about_each(s.text) and not praises(s.text):
            rows += [(s, shown_rid, "each", s.ord + k * EACH_ORD) for k, shown_rid in enumerate(shown)]
        else:
            rows.append((s, rid, how, s.ord))
    out_segs, out_rids, out_about, ords = map(list, zip(*rows))
    return out_segs, out_rids, out_about, ords


@dataclass
class Masker:
    """Task words (rare across items, in this item's prompt, reference or responses) and numbers become X;
    a segment that is mostly task words names no kind of failure (kind `task`)."""

    enabled: bool = True
    max_task_share: float = 0.4

    def run(self, seg: pl.DataFrame, item_texts: dict[str, list[str]]) -> pl.DataFrame:
        if not self.enabled or seg.height == 0:
            return seg
        # TaskMasker only reads the texts: lists are iterables (a dict's value type is invariant, hence the cast)
        masker = TaskMasker(cast(dict[str, Iterable[str]], item_texts))
        masked = [masker.mask(t, i) for t, i in zip(seg["masked"], seg["item_id"])]
        share = [_task_share(m) for m in masked]
        kind = [
            ("task" if s > self.max_task_share and k in ("problem", "praise") else k)
            for k, s in zip(seg["kind"], share)
        ]
        return seg.with_columns(pl.Series("masked", masked, dtype=pl.String), pl.Series("kind", kind, dtype=pl.String))


@dataclass
class Evidence:
    """What the response text itself shows (evidence.py): empty, truncated, a refusal, a repetition loop, an
    extreme length, another script than the question. Each fact is an issue of origin `response`."""

    enabled: bool = True
    min_units: int = 1


@dataclass
class Stated:
    """The failures a sentence states in words: the lexicon entries' `says` patterns (detect.py). An entry becomes
    an issue when at least `min_units` responses have it. The sentence's words decide, not the outcome: a failure
    the judge states of good answers too is still an issue (its lift and severity say how it relates to the
    outcome); `min_lift` > 0 keeps only entries at least that over-represented among failing responses."""

    enabled: bool = True
    min_units: int = 3
    min_lift: float = 0.0


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
        out = np.array(vectors, dtype=np.float32)  # a copy, in the vectors' own precision
        shift = (self.beta * cl.group_sums(out, inv, len(uniq)) / counts[:, None]).astype(np.float32)
        shift[counts < 3] = 0.0  # an item with fewer than three segments keeps its vectors
        for a in range(0, len(out), cl.BLOCK):
            out[a : a + cl.BLOCK] -= shift[inv[a : a + cl.BLOCK]]
        return cl.unit_(out)


@dataclass
class Reducer:
    """PCA to a few dozen dimensions (0: none)."""

    n_components: int = 64

    def run(self, vectors: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return cl.PCA(self.n_components).fit_transform(vectors, weights)


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
            best, fit = cl.nearest(x[lost], cents)
            ok = fit >= self.reassign
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
        # outcome.lift gives both ends of the interval or neither
        if stats.get("n_units", 0) < self.min_units or lo is None or hi is None:
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
    """Names for clusters of statements no lexicon pattern explained. An issue cluster is named by a phrase of its
    own words (naming.phrase_name), only when it is tight (mean cosine to its centre ≥ `min_coherence`), and keeps
    only the members that say the name's words; it is dropped when fewer than `verify` of them do. A strength
    cluster takes the closest lexicon strength (cosine ≥ `min_similarity`). A cluster nearer a bare verdict than
    any entry is a restatement and dropped. `lexicon`: a TOML file of entries to add (lexicon.toml's format)."""

    min_similarity: float = 0.4
    min_coherence: float = 0.65
    verify: float = 0.5
    lexicon: str | None = None

    def load(self) -> Lexicon:
        return load_lexicon(self.lexicon)


@dataclass
class Marks:
    """Readers' corrections (corrections.py): a judgment readers marked "does not fit" for an issue, in any set of
    the workspace, stays out of the issue of that kind and name. `enabled = False` ignores the marks."""

    enabled: bool = True


STAGES = (
    "segmenter",
    "masker",
    "evidence",
    "stated",
    "embedder",
    "contrast",
    "reducer",
    "clusterer",
    "selector",
    "namer",
    "marks",
)
# the range each numeric option must lie in (inclusive)
RANGES = {
    "masker.max_task_share": (0.0, 1.0),
    "contrast.beta": (0.0, 1.0),
    "reducer.n_components": (0, 384),
    "clusterer.per_cluster": (2, 100_000),
    "clusterer.max_clusters": (1, 5000),
    "clusterer.max_item_share": (0.0, 1.0),
    "clusterer.min_items": (1, 100_000),
    "clusterer.reassign": (-1.0, 1.0),
    "selector.min_units": (1, 1_000_000),
    "selector.alpha": (1e-9, 0.5),
    "selector.min_lift": (1.0, 100.0),
    "namer.min_similarity": (-1.0, 1.0),
    "namer.min_coherence": (-1.0, 1.0),
    "namer.verify": (0.0, 1.0),
    "evidence.min_units": (1, 1_000_000),
    "stated.min_units": (1, 1_000_000),
    "stated.min_lift": (0.0, 100.0),
    "seed": (0, 2**32 - 1),
}


@dataclass
class Pipeline:
    segmenter: Segmenter = field(default_factory=Segmenter)
    masker: Masker = field(default_factory=Masker)
    evidence: Evidence = field(default_factory=Evidence)
    stated: Stated = field(default_factory=Stated)
    embedder: Embedder = field(default_factory=Embedder)
    contrast: Contrast = field(default_factory=Contrast)
    reducer: Reducer = field(default_factory=Reducer)
    clusterer: Clusterer = field(default_factory=Clusterer)
    selector: Selector = field(default_factory=Selector)
    namer: Namer = field(default_factory=Namer)
    marks: Marks = field(default_factory=Marks)
    seed: int = 0
    coords: bool = True

    def params(self) -> dict:
        return asdict(self)

    @classmethod
    def options(cls) -> dict[str, tuple[str, object, str]]:
        """Every tunable option as 'stage.field' -> (stage, default, annotation), for the CLI and the API. The
        annotation is the field's as written ("int", "float", "str | None"): this module's annotations are strings
        (`from __future__ import annotations`)."""
        out = {}
        defaults = cls()
        for stage in STAGES:
            obj = getattr(defaults, stage)
            for f in fields(obj):
                out[f"{stage}.{f.name}"] = (stage, getattr(obj, f.name), str(f.type))
        return out

    @classmethod
    def make(cls, **options) -> "Pipeline":
        """Pipeline.make(seed=1, **{"clusterer.per_cluster": 60}) or with short names when they are unique
        (per_cluster=60, embedding_model=...)."""
        p = cls()
        known = cls.options()
        short = Counter(k.split(".", 1)[1] for k in known)
        aliases = {
            "embedding_model": "embedder.model",
            "min_similarity": "namer.min_similarity",
            "lexicon": "namer.lexicon",
            "mask": "masker.enabled",
        }
        for key, value in options.items():
            if value is None:
                continue
            if key in ("seed", "coords"):
                setattr(p, key, value)
                continue
            full = aliases.get(key) or (
                key if key in known else next((k for k in known if k.endswith("." + key) and short[key] == 1), None)
            )
            if full is None:
                raise UserError(f"unknown issue-discovery option {key!r}; options: seed, " + ", ".join(sorted(known)))
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
    judgments: pl.DataFrame  # judgment_id, item_id, protocol, critique, response_id, response_a,
    # response_b, first_id, second_id, aliases
    units: pl.DataFrame  # judgment_id, response_id, model, item_id, outcome, failing, signal
    item_texts: dict[str, list[str]]
    signal: str  # score | verdict | label | mixed | cues
    responses: dict[str, str | None] = field(default_factory=dict)  # response_id -> text (the units' responses)
    misfits: Misfits = field(default_factory=dict)  # readers' "does not fit" marks (corrections.py)


class IssueRecord(TypedDict):
    """One issue or strength of a run, as the set stores it (discover._insert_issues) and an LLM namer renames it."""

    index: int  # its number in the run, from 0 (stored as issue_id = index + 1)
    title: str
    description: str | None
    category: str | None  # a lexicon category key
    kind: str  # issue | strength
    named_by: str  # response | lexicon | phrase | taxonomy | llm
    origin: str  # response | stated | cluster | taxonomy
    fine_clusters: int  # k-means clusters merged into it (0 when not discovered by clustering)
    lift: float | None  # p_fail / p_pass over the run's units, with its 95% interval
    lift_low: float | None
    lift_high: float | None
    keywords: list[str]  # c-TF-IDF over its members


@dataclass
class Result:
    segments: pl.DataFrame  # SEGMENT_SCHEMA + used, issue (first issue, -1 none), how, similarity
    issues: list[IssueRecord]
    coords: np.ndarray | None  # one row per used segment
    signal: str
    assignments: list = field(default_factory=list)  # (segment row, issue index, how, similarity), every membership
    stats: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    embed_stats: dict = field(default_factory=dict)


# ---- the run --------------------------------------------------------------------------------------
@dataclass
class Group:
    """One issue or strength being built: its name, where the name comes from and the segments (rows of the
    segment frame) that are its members."""

    kind: str  # issue | strength
    title: str
    description: str | None
    category: str | None
    named_by: str  # response | lexicon | phrase | taxonomy (llm after naming)
    origin: str  # response | stated | cluster | taxonomy
    members: np.ndarray  # segment-frame rows
    how: str  # response | stated | cluster | taxonomy
    stats: dict = field(default_factory=dict)
    fine_clusters: int = 0


# per kind (issue, strength, verdict, opposed): the lexicon entries and their vectors, row-aligned (_anchors)
Anchors = dict[str, tuple[list[Entry], np.ndarray]]


class _Context:
    """What every step of one run reads: the segment frame's columns, the units' outcomes, the lexicon."""

    def __init__(self, con, inputs: Inputs, p: "Pipeline", seg: pl.DataFrame, sink):
        self.con, self.inputs, self.p, self.seg, self.sink = con, inputs, p, seg, sink
        self.cue_only = inputs.signal == "cues"
        self.seg_j = seg["judgment_id"].to_list()
        self.seg_r = seg["response_id"].to_list()
        self.kind = seg["kind"].to_numpy()
        self.about = seg["about"].to_numpy()
        self.items = np.array(seg["item_id"].to_list(), dtype=object)
        self.masked = seg["masked"].to_list()
        self.text = seg["text"].to_list()
        units = inputs.units
        self.failing = {(j, r): f for j, r, f in units.select("judgment_id", "response_id", "failing").iter_rows()}
        self.outcome = {(j, r): o for j, r, o in units.select("judgment_id", "response_id", "outcome").iter_rows()}
        self.n_fail = int(units["failing"].sum() or 0)
        self.n_pass = int((units["failing"] == False).sum() or 0)  # noqa: E712
        self.mean_outcome = units["outcome"].mean() if units.height else None
        self.lexicon = p.namer.load()
        # what clustering made of the statements no name explains (set by _cluster_groups; read by _run_stats)
        self.dropped: Counter[str] = Counter()
        self.n_fine = 0
        self.n_named = 0
        self.corrected: dict[str, int] = {}  # issue name -> judgments readers' marks left out (_corrected)

    def stats(self, rows, z: float = 1.959963984540054) -> dict:
        """Outcome statistics of the units that segment rows `rows` are about."""
        keys = {(self.seg_j[i], self.seg_r[i]) for i in rows if self.seg_r[i] is not None}
        k_fail = sum(1 for k in keys if self.failing.get(k) is True)
        k_pass = sum(1 for k in keys if self.failing.get(k) is False)
        ratio, lo, hi = lift(k_fail, self.n_fail, k_pass, self.n_pass, z)
        outcomes = [o for k in keys if (o := self.outcome.get(k)) is not None]
        return {
            "n_units": k_fail + k_pass,
            "n_keys": len(keys),
            "lift": ratio,
            "lift_low": lo,
            "lift_high": hi,
            "severity": float(np.mean(outcomes)) if outcomes else None,
            "mean_outcome": self.mean_outcome,
        }


def run(
    con,
    inputs: Inputs,
    p: Pipeline,
    taxonomy: list[dict] | None = None,
    llm_namer: Callable[[list[IssueRecord], dict[int, list[str]]], None] | None = None,
    sink: list | None = None,
) -> Result:
    """The pipeline over `inputs`. With `sink`, new embeddings are collected there instead of stored (a reader
    that cannot write, e.g. a worker process; see discover.compute). The steps, in order: segment the critiques;
    add what the responses themselves show (evidence); read which lexicon failures each sentence states; cluster
    what no name explains and keep the clusters whose own words name them; number, describe and lay them out."""
    timer = _Timer()
    seg = p.masker.run(p.segmenter.run(inputs.judgments), inputs.item_texts)
    seg = _with_evidence(seg, inputs, p)
    kinds = ["problem", "praise"] if inputs.signal == "cues" else ["problem", "praise", "neutral"]
    used = seg["kind"].is_in(kinds).to_numpy() if seg.height else np.zeros(0, bool)
    timer.tick("segment")
    result = Result(seg, [], None, inputs.signal, timings=timer.t)
    ctx = _Context(con, inputs, p, seg, sink)
    groups: list[Group] = _evidence_groups(ctx)
    stated = _stated(ctx, groups)
    timer.tick("stated")
    idx = np.flatnonzero(used)
    raw = np.zeros((0, 1))
    x = np.zeros((0, 1))
    if len(idx):
        raw, estats = p.embedder.run(con, [ctx.masked[i] for i in idx], sink)
        result.embed_stats = estats.__dict__
        raw = cl.unit_(np.array(raw, dtype=np.float32))  # float32 like the model's vectors: a million fit in 1 GB
        timer.tick("embed")
        x = _reduce(p, raw, idx, ctx)
        timer.tick("reduce")
        if taxonomy:
            groups += _taxonomy_groups(ctx, taxonomy, raw, idx)
        groups += _cluster_groups(ctx, x, raw, idx, stated, groups)
        timer.tick("cluster")
    groups = [g for g in _corrected(ctx, groups) if len(g.members)]
    groups.sort(
        key=lambda g: (g.origin != "taxonomy", g.kind != "issue", -len({ctx.seg_j[i] for i in g.members}), g.title)
    )
    issues = _describe(ctx, groups, raw, idx)
    assignments, primary, sim = _assign(ctx, groups, raw, idx)
    if llm_namer is not None:
        examples = {
            x_["index"]: [ctx.text[i] for i in _central(groups[k], raw, idx)[:8]] for k, x_ in enumerate(issues)
        }
        llm_namer(issues, examples)
    timer.tick("label")
    if p.coords and len(idx):
        result.coords = cl.layout(x, primary[idx], p.seed)
        timer.tick("coords")
    result.issues = issues
    result.assignments = assignments
    result.segments = _finish(seg, used, primary, _primary_how(assignments, seg.height), sim)
    result.stats = _run_stats(ctx, groups, used, assignments, stated)
    timer.bar.close()
    return result


class _Timer:
    """Seconds per step (kept in the set's stats) and a progress bar over the steps for whoever is watching."""

    STEPS = ("segment", "stated", "embed", "reduce", "cluster", "label", "coords")

    def __init__(self) -> None:
        self.t: dict[str, float] = {}
        self.clock = time.perf_counter()
        self.bar = progress.bar("issue discovery", len(self.STEPS), unit="step")
        self.bar.set_postfix_str("segment")

    def tick(self, name: str) -> None:
        now = time.perf_counter()
        self.t[name] = round(now - self.clock, 3)
        log.info("issue discovery: %s took %.2f s", name, self.t[name])
        self.clock = now
        self.bar.update(1)
        following = self.STEPS[self.STEPS.index(name) + 1 :]
        if following:
            self.bar.set_postfix_str(following[0])


def _corrected(ctx: _Context, groups: list[Group]) -> list[Group]:
    """Each group without the judgments readers marked as not having it (corrections.py); how many left each is
    kept for the set's statistics (`corrected`)."""
    if not ctx.p.marks.enabled or not ctx.inputs.misfits:
        return groups
    for g in groups:
        keep = [i for i in g.members.tolist() if not marked_out(ctx.inputs.misfits, g.kind, g.title, ctx.seg_j[i])]
        n = len({ctx.seg_j[i] for i in g.members.tolist()}) - len({ctx.seg_j[i] for i in keep})
        if n:
            ctx.corrected[g.title] = ctx.corrected.get(g.title, 0) + n
            g.members, g.stats = np.array(keep, dtype=int), {}  # its statistics afresh, without them
    return groups


EVIDENCE_SLOT = 1_000  # a pairwise judgment's second response's facts: their ords this much lower than the first's


def _with_evidence(seg: pl.DataFrame, inputs: Inputs, p: Pipeline) -> pl.DataFrame:
    """One row per fact a response shows (evidence.py), appended to the segment frame: kind `evidence`, about
    `response`, negative ord (the second response of a pairwise judgment EVIDENCE_SLOT further down, so that two
    responses showing one fact are two segments), the fact as text (never embedded or clustered)."""
    if not p.evidence.enabled or not inputs.responses:
        return seg
    chars = [len(t.strip()) for t in inputs.responses.values() if t and t.strip()]
    median = float(np.median(chars)) if chars else 0.0
    prompts = {item: (texts[0] if texts else "") for item, texts in inputs.item_texts.items()}
    rows: dict[str, list] = {k: [] for k in SEGMENT_SCHEMA}
    item_of = dict(zip(inputs.judgments["judgment_id"], inputs.judgments["item_id"]))
    second = set(zip(inputs.judgments["judgment_id"], inputs.judgments["response_b"]))
    seen: dict[str, list] = {}  # a response judged many times (both orders, several judges) is read once
    for j, r in inputs.units.select("judgment_id", "response_id").iter_rows():
        if r is None or r not in inputs.responses:
            continue
        if r not in seen:
            item = item_of.get(j)
            seen[r] = facts(inputs.responses[r], None if item is None else prompts.get(item), median)
        for k, fact in enumerate(seen[r]):
            title = EVIDENCE[fact.kind][0]
            text = f"{title} ({fact.detail})"
            for col, v in zip(
                SEGMENT_SCHEMA,
                (
                    j,
                    item_of.get(j),
                    -1 - k - 10 * list(EVIDENCE).index(fact.kind) - EVIDENCE_SLOT * ((j, r) in second),
                    text,
                    fact.kind,
                    "evidence",
                    r,
                    "response",
                ),
            ):
                rows[col].append(v)
    if not rows["judgment_id"]:
        return seg
    return pl.concat([seg, pl.DataFrame(rows, schema=SEGMENT_SCHEMA)], how="vertical")


def _evidence_groups(ctx: _Context) -> list[Group]:
    """An issue per kind of response fact, its members the fact rows (a refusal only where the judge did not pass
    the response)."""
    out = []
    rows = np.flatnonzero(ctx.kind == "evidence")
    for name, (title, description, category) in EVIDENCE.items():
        members = np.array(
            [i for i in rows.tolist() if ctx.masked[i] == name and not _passed_fact(ctx, name, i)],
            dtype=int,
        )
        if len(members) >= ctx.p.evidence.min_units:
            out.append(Group("issue", title, description, category, "response", "response", members, "response"))
    return out


def _states_failure(ctx: _Context, i: int, protocol: dict) -> bool:
    """Whether row i is read for stated failures: a statement about a response, not a verdict, not praise of it,
    and in a pairwise critique not a plain description of one side."""
    kind = ctx.kind[i]
    if ctx.seg_r[i] is None or kind in ("evidence", "verdict") or (kind == "praise" and ctx.about[i] != "contrast"):
        return False
    return kind != "neutral" or protocol.get(ctx.seg_j[i]) == "pointwise" or ctx.about[i] == "contrast"


def _judge_passed(ctx: _Context, i: int) -> bool:
    """Whether the judge passed the response row i is about (False where it failed it or the outcome cannot say)."""
    return ctx.failing.get((ctx.seg_j[i], ctx.seg_r[i])) is False


def _passed_fact(ctx: _Context, fact: str, i: int) -> bool:
    """A response fact that is a failure only where the judge did not pass the response (evidence.JUDGED: a
    refusal of a harmful request is right), on row i's response that the judge passed."""
    return fact in JUDGED and _judge_passed(ctx, i)


def _read_sentence(det: Detector, key: tuple[str, bool, bool, bool, bool]) -> list[int]:
    return det.stated(*key)


def _stated(ctx: _Context, groups: list[Group]) -> np.ndarray:
    """Which lexicon failures each sentence states (detect.py), made into issues: one per entry, its members the
    sentences that state it. A sentence that restates a response fact joins the fact's issue (an empty response
    only when the response is empty). Returns a mask of the rows that state a failure (they are not clustered)."""
    n = ctx.seg.height
    out = np.zeros(n, dtype=bool)
    if not ctx.p.stated.enabled or n == 0:
        return out
    entries = ctx.lexicon.of_kind("issue")
    det = Detector.of(entries)
    protocol = dict(zip(ctx.inputs.judgments["judgment_id"], ctx.inputs.judgments["protocol"]))
    facts_of: dict[tuple[str, str], set[str]] = {}
    for i in np.flatnonzero(ctx.kind == "evidence").tolist():
        facts_of.setdefault((ctx.seg_j[i], ctx.seg_r[i]), set()).add(ctx.masked[i])
    hits: dict[int, list[int]] = {}
    restate: dict[str, list[int]] = {}
    rows = [i for i in range(n) if _states_failure(ctx, i, protocol)]
    readings = _readings(ctx, det, rows)
    # a general failure said of a response that shows a fact restates the fact ("does not provide the requested
    # information" of a response that refused): label -> the evidence entries it restates
    restating = {
        label: [e for e in det.entries if e.evidence and label in e.restated_by]
        for label in {lab for e in det.entries for lab in e.restated_by}
    }
    for i, said in zip(rows, readings):
        if said and _judge_passed(ctx, i) and withholds(ctx.text[i]):
            continue  # "it does not provide any instructions on how to …" of a reply the judge passed: praise
        shown_facts = facts_of.get((ctx.seg_j[i], ctx.seg_r[i]), set())
        restated: set[str] = set()
        for k in said:
            e = det.entries[k]
            fact = next((f for f in restating.get(e.label, []) if f.evidence in shown_facts), None)
            if fact is not None:
                e = fact  # the fact's issue, by the same rules as a sentence that says it
            if e.evidence:
                if e.evidence in restated:
                    continue
                restated.add(e.evidence)
                if _passed_fact(ctx, e.evidence, i):
                    continue  # "it refuses to provide harmful information" of a response the judge passed
                shown = e.evidence in shown_facts
                if e.evidence == "empty" and not shown:
                    continue  # "no answer was given" about a response that has text: not an empty response
                restate.setdefault(e.evidence, []).append(i)
            else:
                hits.setdefault(k, []).append(i)
            out[i] = True
    _defer_general(ctx, det, hits)
    _add_stated_groups(ctx, det, groups, hits, restate)
    return out


def _readings(ctx: _Context, det: Detector, rows: list[int]) -> list[list[int]]:
    """What each row states (indices into det.entries), read with what its item and response give: whether the judge
    had a reference, whether the prompt states an explicit constraint, whether the response the row is about gives a
    program. Judges repeat themselves: each distinct reading once (over the cores when there are many)."""
    texts_of = ctx.inputs.item_texts
    has_ref = {item: bool(len(texts) > 1 and (texts[1] or "").strip()) for item, texts in texts_of.items()}
    constrained = {item: states_constraint(texts[0] if texts else "") for item, texts in texts_of.items()}
    code = {r: shows_code(text) for r, text in ctx.inputs.responses.items()} if any(det.code) else {}
    keys = [
        (
            ctx.text[i],
            has_ref.get(ctx.items[i], False),
            ctx.about[i] == "contrast",
            constrained.get(ctx.items[i], False),
            code.get(ctx.seg_r[i], False),
        )
        for i in rows
    ]
    distinct = list(dict.fromkeys(keys))
    read = dict(zip(distinct, pmap(functools.partial(_read_sentence, det), distinct)))
    return [read[key] for key in keys]


def _add_stated_groups(
    ctx: _Context, det: Detector, groups: list[Group], hits: dict[int, list[int]], restate: dict[str, list[int]]
) -> None:
    """The stated failures made into issues: a restated response fact joins the fact's issue; a lexicon entry is
    an issue where enough responses state it (min_units) and, unless the outcome is read from cues only, its lift
    is not below min_lift."""
    by_title = {g.title: g for g in groups}
    for name, rows in restate.items():
        title, description, category = EVIDENCE[name]
        if title in by_title:
            g = by_title[title]
            g.members = np.concatenate([g.members, np.array(rows, dtype=int)])
        else:
            groups.append(
                Group(
                    "issue", title, description, category, "response", "response", np.array(rows, dtype=int), "stated"
                )
            )
    for k, rows in sorted(hits.items()):
        e = det.entries[k]
        s = ctx.stats(rows)
        if s["n_keys"] < ctx.p.stated.min_units:
            continue
        if not ctx.cue_only and s["lift"] is not None and s["lift"] < ctx.p.stated.min_lift:
            continue  # said as often of passing answers as of failing ones: a remark, not what makes them fail
        groups.append(
            Group(
                "issue", e.label, e.description, e.category, "lexicon", "stated", np.array(rows, dtype=int), "stated", s
            )
        )


def _defer_general(ctx: _Context, det: Detector, hits: dict[int, list[int]]) -> None:
    """A general entry's sentences leave it where the same critique states one of its `unless_stated` failures
    about the same response ("The answer is incorrect." beside "5 + 5 is not 11": a calculation error, not also an
    incorrect answer). Only failures stated often enough to be an issue count (the ones a reader will see)."""
    label_of = {k: det.entries[k].label for k in hits}
    said: dict[tuple, set[str]] = {}
    for k, rows in hits.items():
        for i in rows:
            said.setdefault((ctx.seg_j[i], ctx.seg_r[i]), set()).add(label_of[k])
    # the responses each failure is stated of (what ctx.stats counts as n_keys), from the same pass
    n_keys = Counter(label for (_, r), labels in said.items() if r is not None for label in labels)
    shown = {label for label, n in n_keys.items() if n >= ctx.p.stated.min_units}
    for k in list(hits):
        specific = set(det.entries[k].unless_stated) & shown
        if specific:
            hits[k] = [i for i in hits[k] if not said[(ctx.seg_j[i], ctx.seg_r[i])] & specific]


def _reduce(p: Pipeline, raw: np.ndarray, idx: np.ndarray, ctx: _Context) -> np.ndarray:
    work = p.contrast.run(raw, list(ctx.items[idx]))
    # one sentence, one point: copies of a text in different items differ after the contrast, and where the
    # items differ in outcome the copies would split into clusters that only mirror it
    _, text_of, copies = np.unique(
        np.array([ctx.masked[i] for i in idx], dtype=object), return_inverse=True, return_counts=True
    )
    texts = cl.unit_(cl.group_sums(work, text_of, len(copies)))
    del work
    # each distinct text once, weighted by its copies in the fit (the same directions as fitting every copy)
    return p.reducer.run(texts, copies)[text_of]


def _taxonomy_groups(ctx: _Context, taxonomy: list[dict], raw: np.ndarray, idx: np.ndarray) -> list[Group]:
    """Known issues the user named: segments close to a name and description join it."""
    tv, _ = ctx.p.embedder.run(
        ctx.con, [f"{e['title']}: {e.get('description') or ''}".strip(": ") for e in taxonomy], ctx.sink
    )
    s = raw @ cl.unit(np.asarray(tv, dtype=np.float64)).T
    best = s.argmax(axis=1)
    hit = s[np.arange(len(idx)), best] >= 0.4
    return [
        Group(
            "issue", e["title"], e.get("description"), None, "taxonomy", "taxonomy", idx[hit & (best == k)], "taxonomy"
        )
        for k, e in enumerate(taxonomy)
    ]


def _cluster_groups(
    ctx: _Context, x: np.ndarray, raw: np.ndarray, idx: np.ndarray, stated: np.ndarray, groups: list[Group]
) -> list[Group]:
    """Statements no name explains, clustered per cue reading; a cluster tied to the outcome becomes an issue
    (or strength) only when its own words name it, and keeps only the members that say those words."""
    p = ctx.p
    taken = np.zeros(ctx.seg.height, dtype=bool)
    for g in groups:
        if g.origin == "taxonomy":
            taken[g.members] = True
    polarity = ctx.kind[idx]
    free = ~stated[idx] & ~taken[idx]
    fine = np.full(len(idx), -1)
    offset = 0
    for pol in ["problem", "praise"] if ctx.cue_only else ["problem", "praise", "neutral"]:
        mask = (polarity == pol) & free
        if not mask.any():
            continue
        lab = p.clusterer.run(x[mask], ctx.items[idx][mask], p.seed)
        fine[mask] = np.where(lab >= 0, lab + offset, -1)
        offset += int(lab.max()) + 1 if (lab >= 0).any() else 0
    anchors = _anchors(ctx.con, p, ctx.lexicon, ctx.sink)
    named: list[tuple[str, Name, np.ndarray]] = []
    ctx.dropped = Counter()
    for c in np.unique(fine[fine >= 0]):
        members = np.flatnonzero(fine == c)
        out = _name_cluster(ctx, anchors, members, raw, idx, polarity)
        if out is not None:
            named.append(out)
    ctx.n_fine = int(len(np.unique(fine[fine >= 0])))
    ctx.n_named = len(named)
    return _merge_named(ctx, named, idx)


def _name_cluster(
    ctx: _Context, anchors: Anchors, members: np.ndarray, raw: np.ndarray, idx: np.ndarray, polarity: np.ndarray
) -> tuple[str, Name, np.ndarray] | None:
    p = ctx.p
    kind = p.selector.lean(ctx.stats(idx[members]), polarity[members[0]], ctx.inputs.signal)
    if kind == "neutral":
        ctx.dropped["not tied to the outcome"] += 1
        return None
    centroid = cl.unit(raw[members].mean(axis=0))
    fit = raw[members] @ centroid
    contrast = kind == "issue" and float(np.mean(ctx.about[idx[members]] == "contrast")) >= 0.5
    if not contrast and _reads_as(centroid, anchors) != kind:
        ctx.dropped["reads as the opposite"] += 1
        return None
    verdict = lexicon_name(centroid, *anchors["verdict"], p.namer.min_similarity)
    nearest = lexicon_name(centroid, *anchors["issue" if kind == "issue" else "strength"], p.namer.min_similarity)
    if verdict is not None and (nearest is None or _similarity(verdict) >= _similarity(nearest)):
        ctx.dropped["verdict restatement"] += 1
        return None
    if kind == "strength":
        if polarity[members[0]] == "problem":
            # "does not save the results to a file, as specified" said of answers that scored well is still a
            # failure: a merit is never named over failure statements (they stay unexplained)
            ctx.dropped["failure statements, not a merit"] += 1
            return None
        named = strength_name(
            centroid, [ctx.text[idx[i]] for i in members], *anchors["strength"], p.namer.min_similarity, p.namer.verify
        )
        if named is None:
            ctx.dropped["no name fits a strength"] += 1  # none that its members' own words say
            return None
        return kind, named[0], members[named[1]]
    if polarity[members[0]] == "neutral" and not contrast:
        ctx.dropped["a description, not a failure"] += 1
        return None
    if float(fit.mean()) < p.namer.min_coherence:
        ctx.dropped["too loose to name"] += 1
        return None
    central = members[np.argsort(-fit, kind="stable")[:7]]
    name = phrase_name(
        [ctx.masked[idx[i]] for i in members], [ctx.masked[idx[i]] for i in central], kind, contrast=contrast
    )
    if name is None:
        ctx.dropped["no phrase names it"] += 1
        return None
    if not contrast and (not NEGATIVE.search(name.label) or denies(name.label)):
        ctx.dropped["its phrase states no failure"] += 1  # "The Python code provided" names a topic
        return None
    says = [i for i in members if says_name(name.label, ctx.masked[idx[i]], contrast)]
    if len(says) < p.namer.verify * len(members):
        ctx.dropped["its name fits too few members"] += 1
        return None
    return kind, name, np.array(says, dtype=int)


def _merge_named(ctx: _Context, named: list, idx: np.ndarray) -> list[Group]:
    """Clusters with one name are one group (and phrase names that say the same in fewer words); a group must
    be tied to the outcome beyond doubt (Selector.kind) and a phrase must recur across items."""
    p = ctx.p
    by_name: dict[tuple[str, str], list[int]] = {}
    order = sorted(range(len(named)), key=lambda k: (len(named[k][1].label), k))
    for k in order:
        kind, name, _ = named[k]
        key = (kind, name.label.lower())
        if name.named_by == "phrase":
            words = set(content_list(name.label))
            key = next(
                (
                    q
                    for q in by_name
                    if q[0] == kind
                    and named[by_name[q][0]][1].named_by == "phrase"
                    and words
                    and set(content_list(q[1])) <= words
                ),
                key,
            )
        by_name.setdefault(key, []).append(k)
    min_items = max(p.clusterer.min_items, int(0.03 * len(set(ctx.items[idx]))))
    # one family per kind: which issues pass must not hang on how many strengths were named, nor the reverse
    tests = Counter(kind for kind, _ in by_name)
    out = []
    for (kind, _), ks in by_name.items():
        z = z_for(p.selector.alpha, tests[kind])
        rows = idx[np.concatenate([named[k][2] for k in ks])]
        name = named[ks[0]][1]
        if name.named_by == "phrase" and len(ks) > 1:  # members read against a longer name: they must say this one
            turned = name.label.lower().startswith("less ")
            rows = np.array([r for r in rows if says_name(name.label, ctx.masked[r], turned)], dtype=int)
        if name.named_by == "phrase" and len(set(ctx.items[rows])) < min_items:
            ctx.dropped["a phrase from too few items"] += len(ks)
            continue
        s = ctx.stats(rows, z)
        if (
            not ctx.cue_only
            and p.selector.kind(s, "problem" if kind == "issue" else "praise", ctx.inputs.signal) != kind
        ):
            continue
        out.append(
            Group(
                kind, name.label, name.description, name.category, name.named_by, "cluster", rows, "cluster", s, len(ks)
            )
        )
    return out


def _describe(ctx: _Context, groups: list[Group], raw: np.ndarray, idx: np.ndarray) -> list[IssueRecord]:
    """The issue records: number, title, description, category (the lexicon's, else the nearest category
    description), keywords (c-TF-IDF over the members), named_by, origin and the outcome statistics."""
    issues: list[IssueRecord] = []
    for k, g in enumerate(groups):
        s = g.stats or ctx.stats(g.members)
        issues.append(
            {
                "index": k,
                "title": g.title,
                "description": g.description,
                "category": g.category,
                "kind": g.kind,
                "named_by": g.named_by,
                "origin": g.origin,
                "fine_clusters": g.fine_clusters,
                "lift": s.get("lift"),
                "lift_low": s.get("lift_low"),
                "lift_high": s.get("lift_high"),
                "keywords": [],
            }
        )
    _categorise(ctx, groups, issues, raw, idx)
    keywords = ctfidf_keywords(
        {k: [ctx.masked[i] for i in g.members if ctx.kind[i] != "evidence"] for k, g in enumerate(groups)}
    )
    for x_ in issues:
        x_["keywords"] = keywords.get(x_["index"], [])
    return issues


def _categorise(
    ctx: _Context, groups: list[Group], issues: list[IssueRecord], raw: np.ndarray, idx: np.ndarray
) -> None:
    todo = [k for k, x in enumerate(issues) if not x.get("category")]
    if not todo or not ctx.lexicon.categories or not len(idx):
        return
    keys = sorted(ctx.lexicon.categories)
    cv, _ = ctx.p.embedder.run(ctx.con, [ctx.lexicon.categories[k] for k in keys], ctx.sink)
    cv = cl.unit(np.asarray(cv, dtype=np.float64))
    pos = {int(r): k for k, r in enumerate(idx)}
    for k in todo:
        rows = [pos[int(i)] for i in groups[k].members if int(i) in pos]
        if rows:
            issues[k]["category"] = keys[int(np.argmax(cv @ cl.unit(raw[rows].mean(axis=0))))]


def _central(g: Group, raw: np.ndarray, idx: np.ndarray) -> list[int]:
    """A group's members, the most typical first (nearest their mean vector; facts of a response first)."""
    pos = {int(r): k for k, r in enumerate(idx)}
    rows = [int(i) for i in g.members]
    have = [i for i in rows if i in pos]
    if not have:
        return rows
    centre = cl.unit(raw[[pos[i] for i in have]].mean(axis=0))
    score = {i: float(raw[pos[i]] @ centre) if i in pos else 2.0 for i in rows}
    return sorted(rows, key=lambda i: (-score[i], i))


def _assign(ctx: _Context, groups: list[Group], raw: np.ndarray, idx: np.ndarray):
    """(segment row, issue number, how, similarity to the issue's centre) for every membership, and per segment
    row its first issue (the map's colour) and similarity."""
    n = ctx.seg.height
    primary = np.full(n, -1)
    sim = np.zeros(n)
    pos = {int(r): k for k, r in enumerate(idx)}
    out = []
    for k, g in enumerate(groups):
        rows = sorted({int(i) for i in g.members})
        have = [pos[i] for i in rows if i in pos]
        centre = cl.unit(raw[have].mean(axis=0)) if have else None
        for i in rows:
            s = float(raw[pos[i]] @ centre) if centre is not None and i in pos else 1.0
            how = "response" if ctx.kind[i] == "evidence" else g.how
            if g.origin == "response" and ctx.kind[i] != "evidence":
                s = min(s, 0.999)  # the response's own fact comes first among the examples, then what judges said
            out.append((i, k, how, s))
            if primary[i] < 0:
                primary[i] = k
                sim[i] = s
    return out, primary, sim


def _primary_how(assignments: list, n: int) -> list[str | None]:
    how: list[str | None] = [None] * n
    for i, _, h, _ in assignments:
        if how[i] is None:
            how[i] = h
    return how


def _run_stats(ctx: _Context, groups: list[Group], used: np.ndarray, assignments: list, stated: np.ndarray) -> dict:
    """What was explained and what was not: problem statements with and without an issue, failing units without
    one, and why clusters were left out."""
    explained = np.zeros(ctx.seg.height, dtype=bool)
    issue_of = {k for k, g in enumerate(groups) if g.kind == "issue"}
    units_with = set()
    for i, k, _, _ in assignments:
        if k in issue_of:
            explained[i] = True
            if ctx.seg_r[i] is not None:
                units_with.add((ctx.seg_j[i], ctx.seg_r[i]))
    problem = ctx.kind == "problem"
    failing = [k for k, f in ctx.failing.items() if f is True]
    return {
        "fine_clusters": ctx.n_fine,
        "named_clusters": ctx.n_named,
        "clusters_left_out": dict(ctx.dropped),
        "n_fail_units": ctx.n_fail,
        "n_pass_units": ctx.n_pass,
        "n_stated": int(stated.sum()),
        "n_problem_statements": int(problem.sum()),
        "n_problem_explained": int((problem & explained).sum()),
        "failing_units_without_issue": sum(1 for k in failing if k not in units_with),
        "n_evidence": int((ctx.kind == "evidence").sum()),
        "corrected": dict(sorted(ctx.corrected.items())),
        "unmapped_names": _unmapped_names(ctx),
    }


def _unmapped_names(ctx: _Context) -> dict[str, int]:
    """How many statements of pairwise critiques name their response in a way the data does not map ("Model 'M'"
    where the file gives no aliases), by name, most first (at most 5): they count for neither response, and a
    reader should know why."""
    seen: Counter = Counter()
    js = ctx.inputs.judgments
    pairwise = set(js.filter(pl.col("protocol") == "pairwise")["judgment_id"].to_list())
    if not pairwise:
        return {}
    about, rid = ctx.seg["about"].to_list(), ctx.seg["response_id"].to_list()
    for text, j, a, r, k in zip(ctx.text, ctx.seg_j, about, rid, ctx.kind.tolist()):
        if r is None and a == "self" and k != "evidence" and j in pairwise:
            m = unknown_name(text)
            if m is not None:
                seen[spelled(m)] += 1
    return dict(seen.most_common(5))


def _similarity(name: Name) -> float:
    """The cosine a lexicon name was chosen by (lexicon_name always sets it)."""
    assert name.similarity is not None  # lexicon_name builds every Name it returns with its similarity
    return name.similarity


def _reads_as(centroid: np.ndarray, anchors: Anchors) -> str:
    """Whether a cluster reads more like an issue or like a strength (its nearest lexicon entry's kind)."""
    best = {k: float((anchors[k][1] @ centroid).max()) if len(anchors[k][1]) else -1.0 for k in ("issue", "strength")}
    return "issue" if best["issue"] >= best["strength"] else "strength"


def _finish(seg: pl.DataFrame, used: np.ndarray, issue: np.ndarray, how: list, sim: np.ndarray) -> pl.DataFrame:
    return seg.with_columns(
        pl.Series("used", used.tolist(), dtype=pl.Boolean),
        pl.Series("issue", issue.tolist(), dtype=pl.Int64),
        pl.Series("how", how, dtype=pl.String),
        pl.Series("similarity", sim.tolist(), dtype=pl.Float64),
    )


def _anchors(con, p: Pipeline, lexicon: Lexicon, sink: list | None = None) -> Anchors:
    """Per kind: the lexicon entries and their mean vectors (label, description and cues, embedded)."""
    out: Anchors = {}
    for kind in ("issue", "strength", "verdict"):
        entries = lexicon.of_kind(kind)
        texts = [t for e in entries for t in e.texts()]
        vec, _ = p.embedder.run(con, texts, sink) if texts else (np.zeros((0, 1)), None)
        vec = np.asarray(vec, dtype=np.float64)
        rows, pos = [], 0
        for e in entries:
            k = len(e.texts())
            # the label is what a reader goes by: it weighs as much as its description and cues together
            rows.append(cl.unit(cl.unit(vec[pos]) + cl.unit(vec[pos + 1 : pos + k].mean(axis=0))))
            pos += k
        out[kind] = (entries, np.stack(rows) if rows else np.zeros((0, vec.shape[1] if vec.ndim == 2 else 1)))
    strengths, mat = out["strength"]
    keep = [i for i, e in enumerate(strengths) if e.opposite]
    out["opposed"] = ([strengths[i] for i in keep], mat[keep] if keep else mat[:0])
    return out


def _task_share(masked: str) -> float:
    words = masked.split()
    return sum(1 for w in words if w.strip(".,;:!?()\"'…") == "X") / max(len(words), 1)
