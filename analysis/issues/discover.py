"""Select judgments with a Filter, run the pipeline, and store the result as an issue set."""

from __future__ import annotations

import os

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import polars as pl

from ..errors import UserError
from ..filters import Filter
from ..query import Query
from ..verdicts import shown_sql, winner_sql
from .corrections import misfits
from .outcome import mark_failing, units_sql
from .parallel import NO_SPLIT, bare_main, pool
from .pipeline import Inputs, Pipeline, Result, run


def select(q: Query, flt: Filter) -> Inputs:
    """The judgments `flt` selects that have a critique, their units with outcomes, and their items' texts."""
    where, params = flt.where("j")
    judgments = q.frame(
        f"""
        SELECT j.judgment_id, j.item_id, j.protocol, j.critique, j.response_id, j.response_a, j.response_b,
               {shown_sql("j.", "first")} AS first_id, {shown_sql("j.", "second")} AS second_id,
               CAST(json_extract(j.meta, '$.slot_aliases') AS VARCHAR) AS aliases,
               {winner_sql("j.", tie="NULL")} AS winner
        FROM judgment_view j
        WHERE {where} AND j.critique IS NOT NULL AND length(trim(j.critique)) > 0
        ORDER BY j.judgment_id""",
        params,
    )
    if judgments.height == 0:
        raise UserError(f"no judgment with a critique matches {flt.describe()}")
    units = mark_failing(q.frame(units_sql(where) + " ORDER BY judgment_id, response_id", params))
    signals = set(units.filter(pl.col("failing").is_not_null())["signal"].drop_nulls())
    signal = "cues" if not signals else signals.pop() if len(signals) == 1 else "mixed"
    item_texts: dict[str, list[str]] = {}
    cur = q.con.cursor()
    try:
        cur.register("sel_items", pl.DataFrame({"item_id": judgments["item_id"].unique().sort()}).to_arrow())
        for item, prompt, ref in cur.execute(
            "SELECT item_id, prompt, reference FROM items SEMI JOIN sel_items USING (item_id) ORDER BY item_id"
        ).fetchall():
            item_texts[item] = [prompt or "", ref or ""]
        wanted = set(units["response_id"].drop_nulls().to_list())
        responses: dict[str, str | None] = {}
        for item, rid, text in cur.execute(
            "SELECT item_id, response_id, text FROM responses SEMI JOIN sel_items "
            "USING (item_id) ORDER BY item_id, response_id"
        ).fetchall():
            item_texts.setdefault(item, []).append(text or "")
            if rid in wanted:
                responses[rid] = text
    finally:
        cur.close()
    return Inputs(judgments, units, item_texts, signal, responses, misfits(q, where, params))


@dataclass
class Computed:
    """A pipeline run over one selection, not stored yet (picklable: a worker process returns it)."""

    flt: Filter
    pipeline: Pipeline
    taxonomy: list[dict] | None
    name_with: str | None
    inputs: Inputs
    result: object
    new_vectors: list = field(default_factory=list)  # embeddings computed by the run, stored with the set


def compute(
    q: Query, flt: Filter, pipeline: Pipeline, taxonomy: list[dict] | None = None, name_with: str | None = None
) -> Computed:
    """Select and run the pipeline. Reads only: new embeddings are kept in the result and written by `store`."""
    inputs = select(q, flt)
    sink: list = []
    with q.cursor() as cur:
        namer = None
        if name_with:
            from .llm_naming import make_namer

            namer = make_namer(cur, name_with)
        result = run(cur, inputs, pipeline, taxonomy=taxonomy, llm_namer=namer, sink=sink)
    return Computed(flt, pipeline, taxonomy, name_with, inputs, result, sink)


def store(q: Query, c: Computed, name: str | None = None) -> str:
    """Write a computed run as a new issue set (in one transaction); returns its id."""
    if q.read_only:
        raise UserError(f"issue discovery writes to the workspace; {q.path} is open read-only")
    from .embed import store_vectors

    created = datetime.now(timezone.utc)
    set_id = hashlib.md5(
        json.dumps(
            [c.flt.to_query(), c.pipeline.params(), c.taxonomy, c.name_with, created.isoformat()], default=str
        ).encode()
    ).hexdigest()[:12]
    if c.new_vectors:
        with q.transaction() as cur:
            for rows in c.new_vectors:
                store_vectors(cur, rows)
    _store(
        q, set_id, name, c.flt, c.pipeline, c.taxonomy, c.name_with, c.inputs, c.result, created.replace(tzinfo=None)
    )
    return set_id


def discover(
    q: Query,
    flt: Filter,
    pipeline: Pipeline,
    taxonomy: list[dict] | None = None,
    name_with: str | None = None,
    name: str | None = None,
) -> str:
    """Run issue discovery over the judgments `flt` selects; returns the new issue set's id."""
    if q.read_only:
        raise UserError(f"issue discovery writes to the workspace; {q.path} is open read-only")
    return store(q, compute(q, flt, pipeline, taxonomy, name_with), name)


def discover_many(path, runs: list[tuple[str, Filter, Pipeline]], workers: int | None = None) -> list[str]:
    """Several discoveries over one workspace file, computed in parallel worker processes (each reads the file
    read-only; nothing else may hold it meanwhile) and stored in the order given. Returns the issue set ids.
    The results are those of discover() one by one: the pipeline is deterministic across processes."""
    import os

    from .. import store as workspace_store

    workers = workers or min(len(runs), os.cpu_count() or 1)
    if workers <= 1 or len(runs) <= 1:
        q = Query(path)
        return [discover(q, flt, p, name=name) for name, flt, p in runs]
    q = Query(path)
    sizes = []
    for _, flt, _ in runs:
        where, params = flt.where("j")
        sizes.append(q.scalar(f"SELECT count(*) FROM judgment_view j WHERE {where} AND j.critique IS NOT NULL", params))
    workspace_store.close(path)  # the workers open it read-only: no writer may hold it
    order = sorted(range(len(runs)), key=lambda i: -sizes[i])  # the largest first: the pool finishes evenly
    with bare_main(), pool(workers) as running:
        futures = {i: running.submit(_compute_in_worker, str(path), runs[i][1], runs[i][2]) for i in order}
        computed = [futures[i].result() for i in range(len(runs))]
    q = Query(path)
    return [store(q, c, name) for (name, _, _), c in zip(runs, computed)]


def _compute_in_worker(path: str, flt: Filter, pipeline: Pipeline) -> Computed:
    os.environ[NO_SPLIT] = "1"  # one process per core already: nothing is split further
    from .. import store as workspace_store

    q = Query(path, read_only=True)
    try:
        return compute(q, flt, pipeline)
    finally:
        workspace_store.close(path)


def _store(
    q: Query, set_id: str, name, flt: Filter, pipeline: Pipeline, taxonomy, name_with, inputs: Inputs, result, now
) -> None:
    """Write a computed run as issue set `set_id`, in one transaction: the set with its statistics, the judgments
    and segments it covers, its issues, which segments belong to each, the segments' map and its 'created' event."""
    seg = result.segments
    stats = _set_stats(inputs, result, pipeline)
    seg_ids = [f"{j}:{o}" for j, o in zip(seg["judgment_id"], seg["ord"])]
    with q.transaction() as cur:
        cur.execute(
            "INSERT INTO issue_sets VALUES (?, ?, ?, ?, ?, ?)",
            [
                set_id,
                name,
                flt.to_query(),
                json.dumps({**pipeline.params(), "taxonomy": taxonomy, "name_with": name_with}),
                json.dumps(stats),
                now,
            ],
        )
        insert_judgments(cur, set_id, inputs, seg, seg_ids)
        _insert_issues(cur, set_id, result.issues)
        _insert_segment_issues(cur, set_id, result.assignments, seg_ids)
        if result.coords is not None:
            _insert_coords(cur, set_id, result.coords, np.flatnonzero(seg["used"].to_numpy()), seg_ids)
        cur.execute(
            "INSERT INTO issue_events VALUES (?, 1, ?, 'created', ?)",
            [set_id, now, json.dumps({"issues": stats["issues"], "strengths": stats["strengths"]})],
        )


def _set_stats(inputs: Inputs, result: Result, pipeline: Pipeline) -> dict:
    """An issue set's statistics: what was read, how many segments were used and assigned (coverage), how many
    issues and strengths, the lexicon's categories, and the run's timings and embedding counts."""
    from .lexicon import load as load_lexicon

    seg = result.segments
    used = seg["used"].to_numpy()
    assigned = seg["issue"].to_numpy() >= 0
    lexicon = load_lexicon(pipeline.namer.lexicon)
    return {
        "n_judgments": inputs.judgments.height,
        "n_units": inputs.units.height,
        "signal": result.signal,
        "n_segments": seg.height,
        "kinds": {
            k: int((seg["kind"] == k).sum()) for k in ("problem", "praise", "verdict", "neutral", "task", "evidence")
        },
        "n_used": int(used.sum()),
        "n_assigned": int(assigned.sum()),
        "n_reassigned": 0,
        "coverage": float(assigned[used].mean()) if used.any() else 0.0,
        "issues": sum(1 for x in result.issues if x["kind"] == "issue"),
        "strengths": sum(1 for x in result.issues if x["kind"] == "strength"),
        "categories": {k: lexicon.category_title(k) for k in lexicon.categories},
        "lexicon": lexicon.digest(),
        "timings": result.timings,
        "embedding": result.embed_stats,
        **result.stats,
    }


def _insert_issues(cur, set_id: str, issues: list[dict]) -> None:
    """The set's issues and strengths, ranked in the order the pipeline gave them."""
    _insert(
        cur,
        "issues",
        pl.DataFrame(
            {
                "issue_set_id": set_id,
                "issue_id": [str(x["index"] + 1) for x in issues],
                "title": [x["title"] for x in issues],
                "keywords": pl.Series([x.get("keywords") or [] for x in issues], dtype=pl.List(pl.String)),
                "description": pl.Series([x.get("description") for x in issues], dtype=pl.String),
                "origin": [x["origin"] for x in issues],
                "status": "active",
                "rank": pl.Series([r + 1 for r in range(len(issues))], dtype=pl.Int32),
                "kind": [x["kind"] for x in issues],
                "category": pl.Series([x.get("category") for x in issues], dtype=pl.String),
                "named_by": pl.Series([x.get("named_by") for x in issues], dtype=pl.String),
            },
            strict=False,
        ),
    )


# a row of segment_issues: which issue a segment belongs to, how (response | stated | cluster | …) and how close
SEGMENT_ISSUE_SCHEMA = {
    "issue_set_id": pl.String,
    "segment_id": pl.String,
    "issue_id": pl.String,
    "similarity": pl.Float64,
    "how": pl.String,
}


def _insert_segment_issues(cur, set_id: str, members: list, seg_ids: list[str]) -> None:
    """Which issues each segment belongs to: (segment row, issue index, how, similarity) per membership."""
    _insert(
        cur,
        "segment_issues",
        pl.DataFrame(
            {
                "issue_set_id": set_id,
                "segment_id": [seg_ids[i] for i, _, _, _ in members],
                "issue_id": [str(k + 1) for _, k, _, _ in members],
                "similarity": [float(s) for _, _, _, s in members],
                "how": [h for _, _, h, _ in members],
            },
            schema=SEGMENT_ISSUE_SCHEMA,
        ),
    )


def _insert_coords(cur, set_id: str, coords: np.ndarray, idx: np.ndarray, seg_ids: list[str]) -> None:
    """The 2-D map position of each used segment (`idx`: the used segments' rows, in the order of `coords`)."""
    _insert(
        cur,
        "coords",
        pl.DataFrame(
            {
                "issue_set_id": set_id,
                "segment_id": [seg_ids[i] for i in idx],
                "x": coords[:, 0].astype(float),
                "y": coords[:, 1].astype(float),
            }
        ),
    )


def insert_judgments(cur, set_id: str, inputs: Inputs, seg: pl.DataFrame, seg_ids: list[str]) -> None:
    """The judgments an issue set covers, their units with outcomes, and their segments (`seg` with a `used`
    column): written when a set is made and when it is updated (update.py)."""
    _insert(
        cur, "issue_set_members", pl.DataFrame({"issue_set_id": set_id, "judgment_id": inputs.judgments["judgment_id"]})
    )
    _insert(
        cur,
        "issue_set_units",
        inputs.units.select(
            pl.lit(set_id).alias("issue_set_id"), "judgment_id", "response_id", "model", "outcome", "failing"
        ),
    )
    _insert(
        cur,
        "segments",
        seg.select(
            pl.lit(set_id).alias("issue_set_id"),
            pl.Series("segment_id", seg_ids),
            "judgment_id",
            "ord",
            "text",
            "masked",
            "kind",
            "used",
            "response_id",
            "about",
        ),
    )


def _insert(cur, table: str, frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    cur.register("_rows", frame.to_arrow())
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")
    finally:
        cur.unregister("_rows")
