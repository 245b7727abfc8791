"""Bring a stored issue set up to date with judgments imported since it was made, without a new discovery:
their statements join the existing issues by the rules that made the issues (a response fact, a lexicon failure
the sentence states, the words of a discovered issue's name), and what fits no issue is counted. Seconds, not a
re-clustering: nothing is embedded."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import TypedDict

import numpy as np
import polars as pl

from ..filters import Filter
from ..query import Query
from .discover import SEGMENT_ISSUE_SCHEMA, _insert, insert_judgments, select
from .corrections import marked_out
from .naming import says_name
from .pipeline import Inputs, Pipeline, _Context, _evidence_groups, _stated, _with_evidence

SUGGEST_SHARE = 0.3  # above this share of new critical statements fitting no issue, suggest a new discovery


class UpdateSummary(TypedDict):
    """What an update did (IssueSet.update; kept as the 'update' event's detail)."""

    new_judgments: int  # in the selection, not in the set before
    new_statements: int  # their critical statements (cue reading `problem`)
    explained: int  # of those, the ones that joined an issue
    unexplained: int
    unexplained_share: float | None  # unexplained / new_statements (None without new statements)
    suggest_discovery: bool  # unexplained_share above SUGGEST_SHARE


def pipeline_of(params: dict) -> Pipeline:
    """The pipeline an issue set was made with, from its stored parameters."""
    options = {}
    for stage, fields in params.items():
        if isinstance(fields, dict):
            options.update({f"{stage}.{k}": v for k, v in fields.items()})
    known = Pipeline.options()
    return Pipeline.make(seed=params.get("seed", 0), **{k: v for k, v in options.items() if k in known})


def update(q: Query, set_id: str, filter_query: str, params: dict) -> UpdateSummary:
    """Add the selection's judgments that are not in the set yet; returns what happened (see IssueSet.update)."""
    flt, _ = Filter.parse(filter_query or "")
    everything = select(q, flt)
    known = {j for (j,) in q.rows("SELECT judgment_id FROM issue_set_members WHERE issue_set_id = ?", [set_id])}
    new_ids = [j for j in everything.judgments["judgment_id"].to_list() if j not in known]
    out: UpdateSummary = {
        "new_judgments": len(new_ids),
        "new_statements": 0,
        "explained": 0,
        "unexplained": 0,
        "unexplained_share": None,
        "suggest_discovery": False,
    }
    if not new_ids:
        return out
    keep = pl.Series(new_ids).implode()
    inputs = Inputs(
        everything.judgments.filter(pl.col("judgment_id").is_in(keep)),
        everything.units.filter(pl.col("judgment_id").is_in(keep)),
        everything.item_texts,
        everything.signal,
        everything.responses,
        everything.misfits,
    )
    p = pipeline_of(params)
    p = replace(p, stated=replace(p.stated, min_units=1, min_lift=0.0), evidence=replace(p.evidence, min_units=1))
    seg = _with_evidence(p.masker.run(p.segmenter.run(inputs.judgments), inputs.item_texts), inputs, p)
    ctx = _Context(q.con, inputs, p, seg, None)
    groups = _evidence_groups(ctx)
    stated = _stated(ctx, groups)
    issues = q.frame(
        "SELECT issue_id, title, kind, origin, named_by FROM issues WHERE issue_set_id = ? AND "
        "status = 'active' AND kind = 'issue' ORDER BY rank, issue_id",
        [set_id],
    )
    by_title = {t: i for i, t in zip(issues["issue_id"], issues["title"])}
    rows: list[tuple[int, str, str]] = []
    for g in groups:
        if g.title in by_title:
            rows += [(int(i), by_title[g.title], "response" if ctx.kind[i] == "evidence" else g.how) for i in g.members]
    phrases = [
        (i, t)
        for i, t, o, n in issues.select("issue_id", "title", "origin", "named_by").iter_rows()
        if o == "cluster" and n == "phrase"
    ]
    for i in np.flatnonzero((ctx.kind == "problem") & ~stated):
        for issue_id, title in phrases:
            if says_name(title, ctx.masked[i], contrast=title.startswith("Less ")):
                rows.append((int(i), issue_id, "update"))
                break
    if p.marks.enabled:  # readers' "does not fit" marks hold here too (corrections.py)
        title_of = dict(zip(issues["issue_id"], issues["title"]))
        rows = [r for r in rows if not marked_out(inputs.misfits, "issue", title_of[r[1]], ctx.seg_j[r[0]])]
    rows = sorted(set(rows))
    problem = np.flatnonzero(ctx.kind == "problem")
    explained = {i for i, _, _ in rows}
    out["new_statements"] = int(len(problem))
    out["explained"] = int(sum(1 for i in problem if i in explained))
    out["unexplained"] = out["new_statements"] - out["explained"]
    if out["new_statements"]:
        share = out["unexplained"] / out["new_statements"]
        out["unexplained_share"] = share
        out["suggest_discovery"] = share > SUGGEST_SHARE
    _write(q, set_id, inputs, seg, rows, out)
    return out


def _write(
    q: Query, set_id: str, inputs: Inputs, seg: pl.DataFrame, rows: list[tuple[int, str, str]], summary: UpdateSummary
) -> None:
    seg_ids = [f"{j}:{o}" for j, o in zip(seg["judgment_id"], seg["ord"])]
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with q.transaction() as cur:
        insert_judgments(cur, set_id, inputs, seg.with_columns(pl.lit(False).alias("used")), seg_ids)
        _insert(
            cur,
            "segment_issues",
            pl.DataFrame(
                {
                    "issue_set_id": set_id,
                    "segment_id": [seg_ids[i] for i, _, _ in rows],
                    "issue_id": [k for _, k, _ in rows],
                    "similarity": [None] * len(rows),
                    "how": [h for _, _, h in rows],
                },
                schema=SEGMENT_ISSUE_SCHEMA,
            ),
        )
        stats = json.loads(
            cur.execute("SELECT stats FROM issue_sets WHERE issue_set_id = ?", [set_id]).fetchone()[0] or "{}"
        )
        stats["n_judgments"] = stats.get("n_judgments", 0) + inputs.judgments.height
        stats["n_units"] = stats.get("n_units", 0) + inputs.units.height
        stats["n_segments"] = stats.get("n_segments", 0) + seg.height
        cur.execute("UPDATE issue_sets SET stats = ? WHERE issue_set_id = ?", [json.dumps(stats), set_id])
        seq = cur.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM issue_events WHERE issue_set_id = ?", [set_id]
        ).fetchone()[0]
        cur.execute("INSERT INTO issue_events VALUES (?, ?, ?, 'update', ?)", [set_id, seq, now, json.dumps(summary)])
