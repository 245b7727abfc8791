"""Write validated flat batches into the canonical tables, in one transaction, with deterministic ids."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import polars as pl

from .batch import CRITERIA_SCHEMA, JUDGMENT_SCHEMA, LABEL_SCHEMA, RESPONSE_SCHEMA, Reject, conform

SEP = "chr(31)"


def _id(*parts: str) -> str:
    """SQL for a deterministic id: md5 of the parts, NULL-safe."""
    return "md5(concat_ws(" + SEP + ", " + ", ".join(f"coalesce(CAST({p} AS VARCHAR), chr(0))" for p in parts) + "))"


@dataclass
class WriteStats:
    n_judgments_new: int = 0
    n_judgments_present: int = 0
    n_labels_new: int = 0
    n_items_new: int = 0
    n_responses_new: int = 0
    rejects: list[Reject] = field(default_factory=list)


def _stage(con: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame) -> None:
    """Make a polars frame queryable as `name` (zero-copy through Arrow)."""
    con.register(name, df.to_arrow())


def write_flat(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    dataset: str,
    judgments: pl.DataFrame,
    labels: pl.DataFrame,
    criteria: pl.DataFrame,
    responses: pl.DataFrame | None = None,
) -> WriteStats:
    """Insert one dataset's validated rows. The caller owns the transaction."""
    stats = WriteStats()
    judgments = conform(judgments, JUDGMENT_SCHEMA)
    labels = conform(labels, LABEL_SCHEMA)
    criteria = conform(criteria, CRITERIA_SCHEMA)
    _stage(con, "stage_j", judgments)
    _stage(con, "stage_l", labels)
    _stage(con, "stage_r", conform(responses, RESPONSE_SCHEMA))
    item_id = _id("'item'", "$dataset", "item_key")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sj AS
        WITH ids AS (
            SELECT *, {item_id} AS item_id, {_id("'judgment'", "$dataset", "judgment_key")} AS judgment_id
            FROM stage_j
        ), withr AS (
            SELECT *,
                CASE WHEN protocol = 'pointwise' THEN {_id("item_id", "model", "response")} END AS response_id,
                CASE WHEN protocol = 'pairwise' THEN {_id("item_id", "model_a", "response_a")} END AS rid_a,
                CASE WHEN protocol = 'pairwise' THEN {_id("item_id", "model_b", "response_b")} END AS rid_b
            FROM ids
        )
        SELECT *,
            md5(CAST(to_json(struct_pack(item_id, judge, protocol, criterion, response_id, rid_a, rid_b,
                shown_first, verdict, score, scale_min, scale_max, critique, raw_output, template, sample,
                probe, meta)) AS VARCHAR)) AS content_hash
        FROM withr
        """,
        {"dataset": dataset},
    )
    n_dup_keys = con.execute("SELECT count(*) - count(DISTINCT judgment_id) FROM sj").fetchall()[0][0]
    n_existing = con.execute("SELECT count(*) FROM sj SEMI JOIN judgments USING (judgment_id)").fetchall()[0][0]
    if n_dup_keys:
        # duplicates inside the batch: identical ones collapse, different ones are rejected
        dup_rows = con.execute(
            """
            WITH r AS (
                SELECT judgment_id, judgment_key, source, source_line, content_hash,
                       first_value(content_hash) OVER w AS first_hash,
                       first_value(source_line) OVER w AS first_line,
                       row_number() OVER w AS rn
                FROM sj WINDOW w AS (PARTITION BY judgment_id ORDER BY source, source_line)
            )
            SELECT source, source_line, judgment_key, first_line, content_hash = first_hash AS same
            FROM r WHERE rn > 1
            """
        ).fetchall()
        for source, line, key, first_line, same in dup_rows:
            if same:
                stats.n_judgments_present += 1
            else:
                stats.rejects.append(Reject(source, line, "judgment_key",
                                            f"same key as line {first_line} but different content "
                                            f"(map a judgment id or sample column to keep both)"))
    if n_existing:
        conflicts = con.execute(
            """
            WITH first AS (
                SELECT * FROM sj QUALIFY row_number() OVER (PARTITION BY judgment_id ORDER BY source, source_line) = 1
            )
            SELECT f.source, f.source_line, j.run_id, f.content_hash = j.content_hash AS same
            FROM first f JOIN judgments j USING (judgment_id)
            """
        ).fetchall()
        for source, line, other_run, same in conflicts:
            if same:
                stats.n_judgments_present += 1
            else:
                stats.rejects.append(Reject(source, line, "judgment_key",
                                            f"already in the workspace (run {other_run}) with different content"))
    if n_dup_keys or n_existing:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE sj_new AS
            SELECT * FROM sj
            WHERE judgment_id NOT IN (SELECT judgment_id FROM judgments)
            QUALIFY row_number() OVER (PARTITION BY judgment_id ORDER BY source, source_line) = 1
            """
        )
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW sj_new AS SELECT * FROM sj")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sl AS
        WITH ids AS (SELECT *, {item_id} AS item_id FROM stage_l)
        SELECT *,
            CASE WHEN response IS NOT NULL OR model IS NOT NULL THEN {_id("item_id", "model", "response")} END AS response_id,
            CASE WHEN model_a IS NOT NULL OR response_a IS NOT NULL THEN {_id("item_id", "model_a", "response_a")} END AS rid_a,
            CASE WHEN model_b IS NOT NULL OR response_b IS NOT NULL THEN {_id("item_id", "model_b", "response_b")} END AS rid_b,
            {_id("'label'", "$dataset", "label_key")} AS label_id
        FROM ids
        QUALIFY row_number() OVER (PARTITION BY label_id ORDER BY source, source_line) = 1
        """,
        {"dataset": dataset},
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sr AS
        WITH ids AS (SELECT *, {item_id} AS item_id FROM stage_r)
        SELECT *, CASE WHEN response IS NOT NULL OR model IS NOT NULL THEN {_id("item_id", "model", "response")} END
                  AS response_id
        FROM ids
        """,
        {"dataset": dataset},
    )
    # items: from new judgments and labels; the first row of each item gives its text
    stats.n_items_new = con.execute(
        """
        INSERT INTO items
        SELECT item_id, $run_id, $dataset, arg_min(item_key, ord),
               arg_min(prompt, ord) FILTER (WHERE prompt IS NOT NULL),
               arg_min(reference, ord) FILTER (WHERE reference IS NOT NULL),
               arg_min(category, ord) FILTER (WHERE category IS NOT NULL),
               arg_min(item_meta, ord) FILTER (WHERE item_meta IS NOT NULL)
        FROM (
            SELECT item_id, item_key, prompt, reference, category, item_meta, 0 AS grp, coalesce(source_line, 0) AS ord FROM sj_new
            UNION ALL
            SELECT item_id, item_key, prompt, reference, category, item_meta, 1, coalesce(source_line, 0) FROM sl
            UNION ALL
            SELECT item_id, item_key, prompt, reference, category, item_meta, 2, coalesce(source_line, 0) FROM sr
        )
        WHERE item_id NOT IN (SELECT item_id FROM items)
        GROUP BY item_id
        """,
        {"run_id": run_id, "dataset": dataset},
    ).fetchall()[0][0]
    stats.n_responses_new = con.execute(
        """
        INSERT INTO responses
        SELECT response_id, any_value(item_id), any_value(model), any_value(text), any_value(length(text))
        FROM (
            SELECT response_id, item_id, model, response AS text FROM sj_new WHERE response_id IS NOT NULL
            UNION ALL SELECT rid_a, item_id, model_a, response_a FROM sj_new WHERE rid_a IS NOT NULL
            UNION ALL SELECT rid_b, item_id, model_b, response_b FROM sj_new WHERE rid_b IS NOT NULL
            UNION ALL SELECT response_id, item_id, model, response FROM sl WHERE response_id IS NOT NULL
            UNION ALL SELECT rid_a, item_id, model_a, response_a FROM sl WHERE rid_a IS NOT NULL
            UNION ALL SELECT rid_b, item_id, model_b, response_b FROM sl WHERE rid_b IS NOT NULL
            UNION ALL SELECT response_id, item_id, model, response FROM sr WHERE response_id IS NOT NULL
        )
        WHERE response_id NOT IN (SELECT response_id FROM responses)
        GROUP BY response_id
        """
    ).fetchall()[0][0]
    stats.n_judgments_new = con.execute(
        """
        INSERT INTO judgments
        SELECT judgment_id, $run_id, item_id, judge, protocol, criterion, response_id, rid_a, rid_b,
               shown_first, verdict, score, scale_min, scale_max,
               CASE WHEN scale_max > scale_min THEN (score - scale_min) / (scale_max - scale_min) END,
               critique, raw_output,
               coalesce(parse_status,
                        CASE WHEN (protocol = 'pointwise' AND score IS NULL) OR (protocol = 'pairwise' AND verdict IS NULL)
                             THEN 'missing' ELSE 'ok' END),
               template, coalesce(sample, 0), probe, NULL, judgment_key, source_line, content_hash, meta
        FROM sj_new
        """,
        {"run_id": run_id},
    ).fetchall()[0][0]
    stats.n_labels_new = con.execute(
        """
        INSERT INTO labels
        SELECT label_id, $run_id, item_id, response_id, rid_a, rid_b, annotator, kind, criterion, score,
               scale_min, scale_max,
               CASE WHEN scale_max > scale_min THEN (score - scale_min) / (scale_max - scale_min) END,
               verdict, meta
        FROM sl WHERE label_id NOT IN (SELECT label_id FROM labels)
        """,
        {"run_id": run_id},
    ).fetchall()[0][0]
    if criteria.height:
        con.register("stage_c_df", criteria.unique(subset=["criterion"], keep="first", maintain_order=True).to_arrow())
        con.execute(
            """
            INSERT INTO criteria
            SELECT $run_id, criterion, description, scale_min, scale_max, CAST(levels AS JSON) FROM stage_c_df
            WHERE criterion NOT IN (SELECT criterion FROM criteria WHERE run_id = $run_id)
            """,
            {"run_id": run_id},
        )
        con.unregister("stage_c_df")
    con.execute("DROP TABLE IF EXISTS sj_new" if (n_dup_keys or n_existing) else "DROP VIEW IF EXISTS sj_new")
    for t in ("sj", "sl", "sr"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    for t in ("stage_j", "stage_l", "stage_r"):
        con.unregister(t)
    return stats


def write_rejects(con: duckdb.DuckDBPyConnection, run_id: str, rejects: list[Reject]) -> None:
    if not rejects:
        return
    frame = pl.DataFrame(
        {
            "source": [r.source for r in rejects],
            "line": [r.line for r in rejects],
            "column": [r.column for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
        },
        schema={"source": pl.String, "line": pl.Int64, "column": pl.String, "reason": pl.String, "raw": pl.String},
    )
    con.register("stage_r_df", frame.to_arrow())
    con.execute(
        f"""
        INSERT INTO rejects
        SELECT {_id("$run_id", "source", "line", '"column"', "reason", "row_number() OVER ()")}, $run_id,
               source, line, "column", reason, raw
        FROM stage_r_df
        """,
        {"run_id": run_id},
    )
    con.unregister("stage_r_df")


def write_run(con, run_id: str, name: str, fmt: str, path: str, sha: str, n_source: int, n_ingested: int,
              n_present: int, n_rejected: int, params: dict) -> None:
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, name, fmt, path, sha, datetime.now(timezone.utc).replace(tzinfo=None), n_source, n_ingested,
         n_present, n_rejected, json.dumps(params, default=str, sort_keys=True)],
    )
