"""Select judgments with a Filter, run the pipeline, and store the result as an issue set."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import numpy as np
import polars as pl

from ..errors import UserError
from ..filters import Filter
from .pipeline import Params, run


def discover(ws, flt: Filter, params: Params, taxonomy: list[dict] | None = None, name_with: str | None = None,
             name: str | None = None):
    """Run issue discovery over the judgments `flt` selects that have a critique; returns the IssueSet."""
    from .issueset import IssueSet

    if ws.read_only:
        raise UserError(f"issue discovery writes to the workspace; {ws.path} is open read-only")
    con = ws.con
    where, fparams = flt.where("j")
    rows = con.execute(
        f"SELECT j.judgment_id, j.item_id, j.critique FROM judgment_view j WHERE {where} AND j.critique IS NOT NULL "
        f"AND length(trim(j.critique)) > 0 ORDER BY j.judgment_id", fparams).fetchall()
    if not rows:
        raise UserError(f"no judgment with a critique matches {flt.describe()}")
    con.register("sel_items", pl.DataFrame({"item_id": sorted({r[1] for r in rows})}).to_arrow())
    try:
        item_texts: dict[str, list[str]] = {}
        for item, prompt, ref in con.execute(
                "SELECT item_id, prompt, reference FROM items SEMI JOIN sel_items USING (item_id)").fetchall():
            item_texts[item] = [prompt or "", ref or ""]
        for item, text in con.execute(
                "SELECT item_id, text FROM responses SEMI JOIN sel_items USING (item_id)").fetchall():
            item_texts.setdefault(item, []).append(text or "")
    finally:
        con.unregister("sel_items")
    namer = None
    if name_with:
        from .llm_naming import make_namer

        namer = make_namer(con, name_with)
    result = run(con, rows, item_texts, params, taxonomy=taxonomy, namer=namer)
    issue_set_id = hashlib.md5(json.dumps([flt.to_query(), params.to_dict(), taxonomy, name_with,
                                           datetime.now(timezone.utc).isoformat()], default=str).encode()).hexdigest()[:12]
    _store(con, issue_set_id, name, flt, params, taxonomy, name_with, rows, result)
    return IssueSet(ws, issue_set_id)


def _store(con, set_id: str, name, flt: Filter, params: Params, taxonomy, name_with, rows, result) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    used = result.used
    lab = result.labels
    stats = {
        "n_judgments": len(rows),
        "n_segments": len(lab),
        "kinds": {k: int(sum(1 for x in result.seg_kind if x == k)) for k in ("problem", "praise", "verdict", "neutral")},
        "n_used": int(used.sum()),
        "n_assigned": int((lab[used] != -1).sum()),
        "n_reassigned": int(sum(1 for h in result.how if h == "reassigned")),
        "coverage": float((lab[used] != -1).mean()) if used.any() else 0.0,
        "auto_merges": [list(m) for m in result.merges],
        "timings": {k: round(v, 2) for k, v in result.timings.items()},
        "embedding": result.embed_stats,
    }
    seg_ids = [f"{j}:{o}" for j, o in zip(result.seg_judgment, result.seg_ord)]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("INSERT INTO issue_sets VALUES (?, ?, ?, ?, ?, ?)",
                    [set_id, name, flt.to_query(), json.dumps({**params.to_dict(), "taxonomy": taxonomy,
                                                               "name_with": name_with}), json.dumps(stats), now])
        _insert(con, "issue_set_members", pl.DataFrame({"issue_set_id": set_id, "judgment_id": [r[0] for r in rows]}))
        _insert(con, "segments", pl.DataFrame({
            "issue_set_id": set_id, "segment_id": seg_ids, "judgment_id": result.seg_judgment,
            "ord": pl.Series(result.seg_ord, dtype=pl.Int32), "text": result.seg_text, "masked": result.seg_masked,
            "kind": result.seg_kind, "used": pl.Series(used.tolist(), dtype=pl.Boolean)}))
        ranks = {x["index"]: r for r, x in enumerate(sorted(result.issues, key=lambda x: x["index"]))}
        _insert(con, "issues", pl.DataFrame({
            "issue_set_id": set_id, "issue_id": [str(x["index"] + 1) for x in result.issues],
            "title": [x["title"] for x in result.issues],
            "keywords": pl.Series([x.get("keywords") or [] for x in result.issues], dtype=pl.List(pl.String)),
            "description": pl.Series([x.get("description") for x in result.issues], dtype=pl.String),
            "origin": [x["origin"] for x in result.issues], "status": "active",
            "rank": pl.Series([ranks[x["index"]] + 1 for x in result.issues], dtype=pl.Int32)}, strict=False))
        hit = np.flatnonzero(lab != -1)
        _insert(con, "segment_issues", pl.DataFrame({
            "issue_set_id": set_id, "segment_id": [seg_ids[i] for i in hit],
            "issue_id": [str(int(lab[i]) + 1) for i in hit],
            "similarity": [float(result.similarity[i]) for i in hit], "how": [result.how[i] for i in hit]}))
        if result.coords is not None:
            idx = np.flatnonzero(used)
            _insert(con, "coords", pl.DataFrame({"issue_set_id": set_id, "segment_id": [seg_ids[i] for i in idx],
                                                 "x": result.coords[:, 0].astype(float),
                                                 "y": result.coords[:, 1].astype(float)}))
        con.execute("INSERT INTO issue_events VALUES (?, 1, ?, 'created', ?)",
                    [set_id, now, json.dumps({"issues": len(result.issues), "auto_merges": len(result.merges)})])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _insert(con, table: str, frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    con.register("_rows", frame.to_arrow())
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")
    finally:
        con.unregister("_rows")
