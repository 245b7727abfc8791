"""The canonical rows: one definition of the judgments and runs tables' columns and the one writer of each.

Every importer (ingest/writer.py) and the judge runner (judge/runner.py) hand their new judgments to
`insert_judgments` as a relation of the BASE columns; the derived columns (the normalised score, and the
dataset, category, models and lengths copied in from the item and responses so that filters need no join) are
computed here, once, in SQL. Runs are written by `write_run` from a `RunRecord`. Column lists elsewhere
(the notebook's default columns, the audit's narrow copy) are derived from these tuples.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl

# what a writer supplies, in the table's column order, with the polars type its frame uses
BASE: dict[str, type[pl.DataType] | pl.DataType] = {
    "judgment_id": pl.String,
    "run_id": pl.String,
    "item_id": pl.String,
    "judge": pl.String,
    "protocol": pl.String,
    "criterion": pl.String,
    "response_id": pl.String,
    "response_a": pl.String,
    "response_b": pl.String,
    "shown_first": pl.String,
    "verdict": pl.String,
    "score": pl.Float64,
    "scale_min": pl.Float64,
    "scale_max": pl.Float64,
    "critique": pl.String,
    "raw_output": pl.String,
    "parse_status": pl.String,
    "template": pl.String,
    "sample": pl.Int32,
    "probe": pl.String,
    "parent_judgment_id": pl.String,
    "source_key": pl.String,
    "source_line": pl.Int64,
    "meta": pl.String,
}
# derived once, here, from the base columns, the item and the response(s)
DERIVED = {
    "score_norm": "CASE WHEN n.scale_max > n.scale_min THEN (n.score - n.scale_min) / (n.scale_max - n.scale_min) END",
    "dataset": "it.dataset",
    "category": "it.category",
    "model": "r.model",
    "model_a": "ra.model",
    "model_b": "rb.model",
    "n_chars": "r.n_chars",
    "n_chars_a": "ra.n_chars",
    "n_chars_b": "rb.n_chars",
}
# the judgments table's columns (schema.sql keeps this order)
JUDGMENT_COLUMNS: tuple[str, ...] = (
    *list(BASE)[:14],
    "score_norm",
    *list(BASE)[14:],
    *[c for c in DERIVED if c != "score_norm"],
)
# what ws.judgments() returns by default: every stored column but the lengths, plus the item's metadata
READ_COLUMNS: tuple[str, ...] = (*[c for c in JUDGMENT_COLUMNS if not c.startswith("n_chars")], "item_meta")


def judgment_frame(rows: list[dict]) -> pl.DataFrame:
    """Base-column rows (dicts; `meta` a dict or JSON text) as a typed frame for insert_judgments."""
    data: dict[str, list] = {c: [] for c in BASE}
    for r in rows:
        for c in BASE:
            v = r.get(c)
            if c == "meta" and v is not None and not isinstance(v, str):
                v = json.dumps(v, ensure_ascii=False, sort_keys=True)
            data[c].append(v)
    return pl.DataFrame(data, schema=BASE)


def insert_judgments(cur, relation: str, params: Any = None) -> int:
    """INSERT the judgments of `relation` (SQL yielding the BASE columns by name) that are not stored yet (by id),
    with the derived columns; returns how many were written. The caller owns the transaction."""
    base = ", ".join(f"n.{c}" for c in BASE)
    cols = ", ".join((*BASE, *DERIVED))
    before = cur.execute("SELECT count(*) FROM judgments").fetchall()[0][0]
    cur.execute(
        f"""
        INSERT INTO judgments ({cols})
        SELECT {base}, {", ".join(DERIVED.values())}
        FROM ({relation}) n
        LEFT JOIN items it ON it.item_id = n.item_id
        LEFT JOIN responses r ON r.response_id = n.response_id
        LEFT JOIN responses ra ON ra.response_id = n.response_a
        LEFT JOIN responses rb ON rb.response_id = n.response_b
        WHERE n.judgment_id NOT IN (SELECT judgment_id FROM judgments)""",
        params,
    )
    return cur.execute("SELECT count(*) FROM judgments").fetchall()[0][0] - before


@dataclass
class RunRecord:
    """One import or judge run (the runs table)."""

    run_id: str
    name: str
    source_format: str  # the importer's format name, or "judge"
    source_path: str  # the file imported, or the endpoint judged with
    source_sha256: str | None = None
    n_source_rows: int = 0  # rows read (import) or requests planned (judge run)
    n_ingested: int = 0
    n_already_present: int = 0
    n_rejected: int = 0  # rows rejected (import) or requests failed (judge run)
    params: dict = field(default_factory=dict)
    created_at: datetime | None = None


RUN_COLUMNS = (
    "run_id",
    "name",
    "source_format",
    "source_path",
    "source_sha256",
    "created_at",
    "n_source_rows",
    "n_ingested",
    "n_already_present",
    "n_rejected",
    "params",
)


def write_run(cur, run: RunRecord) -> None:
    """Store `run` (replacing the row of a re-run, which keeps its first created_at)."""
    old = cur.execute("SELECT created_at FROM runs WHERE run_id = ?", [run.run_id]).fetchall()
    created = run.created_at or (old[0][0] if old else datetime.now(timezone.utc).replace(tzinfo=None))
    values = {**asdict(run), "created_at": created, "params": json.dumps(run.params, default=str, sort_keys=True)}
    cur.execute("DELETE FROM runs WHERE run_id = ?", [run.run_id])
    cur.execute(
        f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' for _ in RUN_COLUMNS)})",
        [values[c] for c in RUN_COLUMNS],
    )
