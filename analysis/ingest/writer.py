"""Write validated flat batches into the canonical tables, in one transaction, with deterministic ids.

The flat frames are registered with DuckDB through Arrow (no copy). Ids are computed into a narrow
side table keyed by row number; the wide text columns move once, from Arrow into the final tables.
Content is compared only where an id collides (a duplicate in the batch, or a row already stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from ..identities import Identities
from ..records import RunRecord, insert_judgments
from ..records import write_run as write_run_record
from ..identities import apply as apply_identities
from .batch import CRITERIA_SCHEMA, JUDGMENT_SCHEMA, LABEL_SCHEMA, RESPONSE_SCHEMA, Reject, conform

# what makes two judgments with the same id the same judgment
CONTENT = [
    "item_id",
    "judge",
    "protocol",
    "criterion",
    "response_id",
    "response_a",
    "response_b",
    "shown_first",
    "verdict",
    "score",
    "scale_min",
    "scale_max",
    "critique",
    "raw_output",
    "template",
    "sample",
    "probe",
    "meta",
]


def _id(*parts: str) -> str:
    """SQL for a deterministic id: md5 of the parts, NULL-safe."""
    return "md5(concat_ws(chr(31), " + ", ".join(f"coalesce(CAST({p} AS VARCHAR), chr(0))" for p in parts) + "))"


def _same(a: str, b: str) -> str:
    """SQL: judgment rows a and b (stage rows joined with their ids, or stored rows) hold the same content."""

    def col(t: str, c: str) -> str:
        return f"coalesce({t}.sample, 0)" if c == "sample" else f"{t}.{c}"  # stored rows hold 0 for no sample

    return " AND ".join(f"{col(a, c)} IS NOT DISTINCT FROM {col(b, c)}" for c in CONTENT)


@dataclass
class WriteStats:
    n_judgments_new: int = 0
    n_judgments_present: int = 0
    n_labels_new: int = 0
    n_items_new: int = 0
    n_responses_new: int = 0
    rejects: list[Reject] = field(default_factory=list)


def _count(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> int:
    return con.execute(sql, params or {}).fetchall()[0][0]


def write_flat(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    dataset: str,
    judgments: pl.DataFrame,
    labels: pl.DataFrame,
    criteria: pl.DataFrame | None,
    responses: pl.DataFrame | None = None,
    identities: Identities | None = None,
) -> WriteStats:
    """Insert one dataset's validated rows. The caller owns the transaction. With `identities`, judge and
    model names are first resolved to one canonical name each (analysis/identities.py)."""
    stats = WriteStats()
    if identities is not None:
        judgments, labels, responses = apply_identities(con, identities, judgments, labels, responses)
    con.register("stage_j", conform(judgments, JUDGMENT_SCHEMA).with_row_index("_ord").to_arrow())
    con.register("stage_l", conform(labels, LABEL_SCHEMA).to_arrow())
    con.register("stage_r", conform(responses, RESPONSE_SCHEMA).to_arrow())
    try:
        _stage_ids(con, dataset)
        keep = _known_judgments(con, stats)
        _insert_items_and_responses(con, run_id, dataset, keep, stats)
        _insert_judgments(con, run_id, keep, stats)
        _insert_labels(con, run_id, dataset, stats)
        _insert_criteria(con, run_id, criteria)
    finally:
        _cleanup(con)
    return stats


ITEM_ID = _id("'item'", "$dataset", "item_key")  # an item's id from its dataset and key (SQL)


def _stage_ids(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """jid: each staged judgment's ids (item, judgment, responses); sjv: the staged rows under the stored names."""
    d = {"dataset": dataset}
    item_id = ITEM_ID
    # ---- judgment ids (narrow) --------------------------------------------------------------------
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE jid AS
        WITH i AS (SELECT _ord, protocol, model, response, model_a, response_a, model_b, response_b,
                          judgment_key, source, source_line, prompt IS NOT NULL AS has_prompt,
                          {item_id} AS item_id FROM stage_j)
        SELECT _ord, item_id, has_prompt, judgment_key, source, source_line,
               {_id("'judgment'", "$dataset", "judgment_key")} AS judgment_id,
               CASE WHEN protocol = 'pointwise' THEN {_id("item_id", "model", "response")} END AS response_id,
               CASE WHEN protocol = 'pairwise' THEN {_id("item_id", "model_a", "response_a")} END AS rid_a,
               CASE WHEN protocol = 'pairwise' THEN {_id("item_id", "model_b", "response_b")} END AS rid_b
        FROM i
        """,
        d,
    )
    # stage rows with their ids under the stored column names, for content comparisons
    con.execute("""
        CREATE OR REPLACE TEMP VIEW sjv AS
        SELECT s.* EXCLUDE (response_a, response_b), d.item_id, d.judgment_id, d.response_id,
               d.rid_a AS response_a, d.rid_b AS response_b
        FROM stage_j s JOIN jid d USING (_ord)""")


def _known_judgments(con: duckdb.DuckDBPyConnection, stats: WriteStats) -> str:
    """Judgments already in the file or repeated in the batch: the same content counts as present, different
    content is rejected with the line it repeats. Returns the SQL condition on `_ord` of the rows to write."""
    n_dup = _count(con, "SELECT count(*) - count(DISTINCT judgment_id) FROM jid")
    n_existing = _count(con, "SELECT count(*) FROM jid SEMI JOIN judgments USING (judgment_id)")
    if n_dup:
        rows = con.execute(f"""
            WITH d AS (
                SELECT _ord, judgment_id, source, source_line,
                       first_value(_ord) OVER w AS first_ord, first_value(source_line) OVER w AS first_line,
                       row_number() OVER w AS rn
                FROM jid WINDOW w AS (PARTITION BY judgment_id ORDER BY source, source_line, _ord))
            SELECT d.source, d.source_line, d.first_line, {_same("a", "b")} AS same
            FROM d JOIN sjv a ON a._ord = d._ord JOIN sjv b ON b._ord = d.first_ord
            WHERE d.rn > 1""").fetchall()
        _present_or_rejected(
            stats,
            [
                (
                    src,
                    line,
                    same,
                    f"same key as line {first} but different content (to keep both, import with --format generic and "
                    "map a judgment id or sample column)",
                )
                for src, line, first, same in rows
            ],
        )
    if n_existing:
        rows = con.execute(f"""
            SELECT a.source, a.source_line, j.run_id, {_same("a", "j")} AS same
            FROM sjv a JOIN judgments j USING (judgment_id)
            QUALIFY row_number() OVER (PARTITION BY a.judgment_id ORDER BY a.source, a.source_line, a._ord) = 1
            """).fetchall()
        _present_or_rejected(
            stats,
            [
                (src, line, same, f"already in the workspace (run {run}) with different content")
                for src, line, run, same in rows
            ],
        )
    keep = "TRUE"
    if n_dup or n_existing:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE keep AS
            SELECT _ord FROM jid WHERE judgment_id NOT IN (SELECT judgment_id FROM judgments)
            QUALIFY row_number() OVER (PARTITION BY judgment_id ORDER BY source, source_line, _ord) = 1""")
        keep = "_ord IN (SELECT _ord FROM keep)"
    return keep


def _present_or_rejected(stats: WriteStats, rows: list[tuple[str, int, bool, str]]) -> None:
    """A repeated judgment with the same content counts as present; with other content it is rejected, saying why."""
    for source, line, same, why in rows:
        if same:
            stats.n_judgments_present += 1
        else:
            stats.rejects.append(Reject(source, line, "judgment_key", why))


def _insert_items_and_responses(
    con: duckdb.DuckDBPyConnection, run_id: str, dataset: str, keep: str, stats: WriteStats
) -> None:
    rd = {"dataset": dataset, "run_id": run_id}
    # ---- items: one row each, from the first judgment that names it (one with a prompt if any) -----
    stats.n_items_new = _count(
        con,
        f"""
        INSERT INTO items
        SELECT d.item_id, $run_id, $dataset, s.item_key, s.prompt, s.reference, s.category, s.item_meta
        FROM (SELECT item_id, arg_min(_ord, (NOT has_prompt, _ord)) AS _ord FROM jid
              WHERE {keep} AND item_id NOT IN (SELECT item_id FROM items) GROUP BY item_id) d
        JOIN stage_j s USING (_ord)""",
        rd,
    )
    # ---- responses: pointwise and both sides of pairs ---------------------------------------------
    for rid, model, text in (
        ("response_id", "model", "response"),
        ("rid_a", "model_a", "response_a"),
        ("rid_b", "model_b", "response_b"),
    ):
        stats.n_responses_new += _count(
            con,
            f"""
            INSERT INTO responses
            SELECT d.rid, d.item_id, s.{model}, s.{text}, length(s.{text})
            FROM (SELECT {rid} AS rid, any_value(item_id) AS item_id, min(_ord) AS _ord FROM jid
                  WHERE {keep} AND {rid} IS NOT NULL AND {rid} NOT IN (SELECT response_id FROM responses)
                  GROUP BY {rid}) d
            JOIN stage_j s USING (_ord)""",
        )


def _insert_judgments(con: duckdb.DuckDBPyConnection, run_id: str, keep: str, stats: WriteStats) -> None:
    r = {"run_id": run_id}
    # ---- judgments ----------------------------------------------------------------------------------
    stats.n_judgments_new = insert_judgments(
        con,
        f"""
        SELECT d.judgment_id, $run_id AS run_id, d.item_id, s.judge, s.protocol, s.criterion, d.response_id,
               d.rid_a AS response_a, d.rid_b AS response_b, s.shown_first, s.verdict, s.score, s.scale_min,
               s.scale_max, s.critique, s.raw_output,
               coalesce(s.parse_status,
                        CASE WHEN (s.protocol = 'pointwise' AND s.score IS NULL)
                               OR (s.protocol = 'pairwise' AND s.verdict IS NULL) THEN 'missing' ELSE 'ok' END)
                   AS parse_status,
               s.template, coalesce(s.sample, 0) AS sample, s.probe, NULL AS parent_judgment_id,
               s.judgment_key AS source_key, s.source_line, s.meta
        FROM stage_j s JOIN jid d USING (_ord)
        WHERE {"TRUE" if keep == "TRUE" else "d." + keep}""",
        r,
    )


def _insert_labels(con: duckdb.DuckDBPyConnection, run_id: str, dataset: str, stats: WriteStats) -> None:
    """Labels, and the items and responses that come without a judgment (small frames)."""
    d = {"dataset": dataset}
    rd = {"dataset": dataset, "run_id": run_id}
    r = {"run_id": run_id}
    item_id = ITEM_ID
    # ---- labels, and items/responses that come without a judgment (small frames) ------------------
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
        QUALIFY row_number() OVER (PARTITION BY label_id ORDER BY source, source_line) = 1""",
        d,
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE sr AS
        WITH ids AS (SELECT *, {item_id} AS item_id FROM stage_r)
        SELECT *, CASE WHEN response IS NOT NULL OR model IS NOT NULL
                       THEN {_id("item_id", "model", "response")} END AS response_id
        FROM ids""",
        d,
    )
    stats.n_items_new += _count(
        con,
        """
        INSERT INTO items
        SELECT item_id, $run_id, $dataset, arg_min(item_key, ord),
               arg_min(prompt, ord) FILTER (WHERE prompt IS NOT NULL),
               arg_min(reference, ord) FILTER (WHERE reference IS NOT NULL),
               arg_min(category, ord) FILTER (WHERE category IS NOT NULL),
               arg_min(item_meta, ord) FILTER (WHERE item_meta IS NOT NULL)
        FROM (SELECT item_id, item_key, prompt, reference, category, item_meta, coalesce(source_line, 0) AS ord FROM sl
              UNION ALL
              SELECT item_id, item_key, prompt, reference, category, item_meta, coalesce(source_line, 0) FROM sr)
        WHERE item_id NOT IN (SELECT item_id FROM items)
        GROUP BY item_id""",
        rd,
    )
    stats.n_responses_new += _count(
        con,
        """
        INSERT INTO responses
        SELECT response_id, any_value(item_id), any_value(model), any_value(text), any_value(length(text))
        FROM (SELECT response_id, item_id, model, response AS text FROM sl WHERE response_id IS NOT NULL
              UNION ALL SELECT rid_a, item_id, model_a, response_a FROM sl WHERE rid_a IS NOT NULL
              UNION ALL SELECT rid_b, item_id, model_b, response_b FROM sl WHERE rid_b IS NOT NULL
              UNION ALL SELECT response_id, item_id, model, response FROM sr WHERE response_id IS NOT NULL)
        WHERE response_id NOT IN (SELECT response_id FROM responses)
        GROUP BY response_id""",
    )
    stats.n_labels_new = _count(
        con,
        """
        INSERT INTO labels
        SELECT label_id, $run_id, item_id, response_id, rid_a, rid_b, annotator, kind, criterion, score,
               scale_min, scale_max,
               CASE WHEN scale_max > scale_min THEN (score - scale_min) / (scale_max - scale_min) END,
               verdict, meta
        FROM sl WHERE label_id NOT IN (SELECT label_id FROM labels)""",
        r,
    )


def _insert_criteria(con: duckdb.DuckDBPyConnection, run_id: str, criteria: pl.DataFrame | None) -> None:
    """The batch's rubric criteria (None: it has none), each once per run."""
    criteria = conform(criteria, CRITERIA_SCHEMA)
    if criteria.height:
        con.register("stage_c", criteria.unique(subset=["criterion"], keep="first", maintain_order=True).to_arrow())
        con.execute(
            """
            INSERT INTO criteria
            SELECT $run_id, criterion, description, scale_min, scale_max, CAST(levels AS JSON) FROM stage_c
            WHERE criterion NOT IN (SELECT criterion FROM criteria WHERE run_id = $run_id)""",
            {"run_id": run_id},
        )
        con.unregister("stage_c")


def _cleanup(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the staging objects; after a failed statement the caller's ROLLBACK drops the temp ones."""
    for t in ("stage_j", "stage_l", "stage_r"):
        con.unregister(t)
    try:
        con.execute("DROP VIEW IF EXISTS sjv")
        for t in ("jid", "keep", "sl", "sr"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    except duckdb.TransactionException:
        pass


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
    con.register("stage_rejects", frame.to_arrow())
    con.execute(
        f"""
        INSERT INTO rejects
        SELECT {_id("$run_id", "source", "line", '"column"', "reason", "row_number() OVER ()")}, $run_id,
               source, line, "column", reason, raw
        FROM stage_rejects
        """,
        {"run_id": run_id},
    )
    con.unregister("stage_rejects")


def write_run(
    con,
    run_id: str,
    name: str,
    fmt: str,
    path: str,
    sha: str,
    n_source: int,
    n_ingested: int,
    n_present: int,
    n_rejected: int,
    params: dict,
) -> None:
    write_run_record(con, RunRecord(run_id, name, fmt, path, sha, n_source, n_ingested, n_present, n_rejected, params))
