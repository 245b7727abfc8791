"""The DuckDB workspace: schema, versioning, read-only opening, one connection per process."""

from __future__ import annotations

import contextlib
import os
import re
import logging
import threading
import time
from importlib import resources
from pathlib import Path

import duckdb

from .errors import UserError, WorkspaceLocked

SCHEMA_VERSION = 4
DEFAULT_WORKSPACE = "judgescope.duckdb"


def workspace_path(path: str | os.PathLike | None = None) -> Path:
    """The workspace a command or notebook means: the path given, else $JUDGESCOPE_WORKSPACE, else
    judgescope.duckdb in the working directory."""
    return Path(path or os.environ.get("JUDGESCOPE_WORKSPACE", DEFAULT_WORKSPACE))


# Migrations from version N to N+1, applied in order inside one transaction.
MIGRATIONS: dict[int, list[str]] = {
    # 1 -> 2: judgments carry their item's dataset and category and their responses' models and lengths
    # (no join for filters); content_hash goes (content is compared only when ids collide); the issue
    # tables are added by schema.sql
    1: [
        "DROP VIEW IF EXISTS judgment_view",
        "ALTER TABLE judgments DROP COLUMN content_hash",
        *[
            f"ALTER TABLE judgments ADD COLUMN {c}"
            for c in (
                "dataset VARCHAR",
                "category VARCHAR",
                "model VARCHAR",
                "model_a VARCHAR",
                "model_b VARCHAR",
                "n_chars INTEGER",
                "n_chars_a INTEGER",
                "n_chars_b INTEGER",
            )
        ],
        "UPDATE judgments SET dataset = it.dataset, category = it.category FROM items it "
        "WHERE it.item_id = judgments.item_id",
        "UPDATE judgments SET model = r.model, n_chars = r.n_chars FROM responses r WHERE r.response_id = judgments.response_id",
        "UPDATE judgments SET model_a = r.model, n_chars_a = r.n_chars FROM responses r WHERE r.response_id = judgments.response_a",
        "UPDATE judgments SET model_b = r.model, n_chars_b = r.n_chars FROM responses r WHERE r.response_id = judgments.response_b",
    ],
    # 2 -> 3: issue sets know which response a segment is about and the outcome of every judged response
    # (issues vs strengths, lift); issues have a kind, a category and who named them
    2: [
        "ALTER TABLE segments ADD COLUMN IF NOT EXISTS response_id VARCHAR",
        "ALTER TABLE segments ADD COLUMN IF NOT EXISTS about VARCHAR",
        "UPDATE segments SET response_id = j.response_id FROM judgments j WHERE j.judgment_id = segments.judgment_id",
        "ALTER TABLE issues ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'issue'",
        "UPDATE issues SET kind = 'issue' WHERE kind IS NULL",
        "ALTER TABLE issues ADD COLUMN IF NOT EXISTS category VARCHAR",
        "ALTER TABLE issues ADD COLUMN IF NOT EXISTS named_by VARCHAR",
        "INSERT INTO issue_set_units SELECT m.issue_set_id, m.judgment_id, j.response_id, j.model, j.score_norm, NULL "
        "FROM issue_set_members m JOIN judgments j USING (judgment_id) WHERE j.protocol = 'pointwise' "
        "AND m.issue_set_id NOT IN (SELECT issue_set_id FROM issue_set_units)",
    ],
    # 3 -> 4: readers' checks of issue examples (issue_marks, created by schema.sql)
    3: [],
}

_connections: dict[tuple[str, bool], duckdb.DuckDBPyConnection] = {}
_leases: dict[str, int] = {}
log = logging.getLogger(__name__)
_lock = threading.RLock()


def _schema_sql() -> str:
    return resources.files("analysis").joinpath("schema.sql").read_text(encoding="utf-8")


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set lock" in text)


def lock_holder(message: str) -> str:
    """Which process holds a workspace's lock, from DuckDB's lock error: 'process 123 (judgescope ingest …)'."""
    m = re.search(r"\(PID (\d+)\)", message)
    if not m:
        return "another process"
    pid = int(m.group(1))
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        words = [
            os.path.basename(a.decode(errors="replace")) if i == 0 else a.decode(errors="replace")
            for i, a in enumerate(argv)
            if a
        ]
        command = " ".join(words)
    except OSError:
        command = ""
    command = re.sub(r"://[^/\s@]+@", "://…@", command)  # no user:password@ of a base URL
    if "streamlit" in command:
        command = "a judgescope dashboard"
    elif len(command) > 80:
        command = command[:77] + "…"
    return f"process {pid}" + (f" ({command})" if command else "")


def _resolved(path: str | os.PathLike) -> str:
    """The one name a workspace file has in this process's connection table."""
    return str(Path(path).expanduser().resolve())


def remove(path: str | os.PathLike) -> None:
    """Close this process's connections to the workspace at `path` and delete its file and write-ahead log."""
    close(path)
    for p in (Path(path), Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)


def connect(path: str | os.PathLike, read_only: bool = False, wait_s: float = 10.0) -> duckdb.DuckDBPyConnection:
    """Open (and create or migrate, when writable) the workspace at `path`.

    One connection per (path, mode) per process is kept and reused. When another process holds
    the write lock, retry for `wait_s` seconds, then raise WorkspaceLocked.
    """
    resolved = _resolved(path)
    key = (resolved, read_only)
    with _lock:
        con = _connections.get(key) or (_connections.get((resolved, False)) if read_only else None)
        if con is not None:  # a writable connection serves readers too (DuckDB allows one mode per file)
            return con
        if not read_only and (resolved, True) in _connections:
            # DuckDB allows one mode per file and process: the writable connection replaces the read-only one
            _connections.pop((resolved, True)).close()
        if read_only and not Path(resolved).exists():
            raise UserError(f"workspace {path} does not exist; create it with `judgescope ingest` or `judgescope demo`")
        deadline = time.monotonic() + wait_s
        delay = 0.1
        while True:
            try:
                con = duckdb.connect(resolved, read_only=read_only)
                break
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise UserError(f"cannot open workspace {path}: {str(exc).splitlines()[0]}") from None
                if time.monotonic() >= deadline:
                    who = lock_holder(str(exc))
                    raise WorkspaceLocked(
                        f"workspace {path} is locked by {who}, which is writing to it; waited {wait_s:.0f} s — "
                        f"try again when it has finished"
                        + ("" if read_only else " (or stop it; a dashboard never holds the lock for long)")
                    ) from None
                if delay == 0.1:
                    log.info("workspace %s is locked by %s; waiting up to %.0f s", path, lock_holder(str(exc)), wait_s)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except duckdb.Error as exc:
                raise UserError(f"{path} is not a judgescope workspace: {str(exc).splitlines()[0]}") from None
        try:
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:  # under Jupyter without ipywidgets DuckDB refuses to touch the setting
            pass
        try:
            _prepare(con, path, read_only)
        except BaseException:
            con.close()
            raise
        _connections[key] = con
        return con


def is_open(path: str | os.PathLike) -> bool:
    """Whether this process has a connection to `path` (either mode)."""
    resolved = _resolved(path)
    with _lock:
        return (resolved, False) in _connections or (resolved, True) in _connections


def close(path: str | os.PathLike) -> None:
    """Close this process's connections to `path` (both modes)."""
    resolved = _resolved(path)
    with _lock:
        for mode in (False, True):
            con = _connections.pop((resolved, mode), None)
            if con is not None:
                con.close()


@contextlib.contextmanager
def lease(path: str | os.PathLike):
    """Keep this process's connections to `path` open for the block; when the last lease ends they close, so
    the file's lock is held only while some block is working (the dashboard leases a workspace per page run,
    and `judgescope ingest` can write in between)."""
    resolved = _resolved(path)
    with _lock:
        _leases[resolved] = _leases.get(resolved, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _leases[resolved] -= 1
            if _leases[resolved] == 0:
                del _leases[resolved]
                close(resolved)


def release(path: str | os.PathLike) -> bool:
    """Close this process's connections to `path` unless a lease keeps them open, so that other processes can open
    the file (a long judge run lets go of it while it waits for replies). True when closed."""
    resolved = _resolved(path)
    with _lock:
        if _leases.get(resolved, 0):
            return False
        close(resolved)
        return True


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'workspace_meta'"
    ).fetchall()[0][0]
    if not has_meta:
        return None
    rows = con.execute("SELECT value FROM workspace_meta WHERE key = 'schema_version'").fetchall()
    row = rows[0] if rows else None
    return int(row[0]) if row else None


def _prepare(con: duckdb.DuckDBPyConnection, path, read_only: bool) -> None:
    version = schema_version(con)
    if version is None:
        n_tables = con.execute("SELECT count(*) FROM information_schema.tables").fetchall()[0][0]
        if n_tables:
            raise UserError(f"{path} is a DuckDB file but not a judgescope workspace (no schema version)")
        if read_only:
            raise UserError(f"workspace {path} is empty; ingest data first")
        con.execute("BEGIN")
        con.execute(_schema_sql())
        con.execute(
            "INSERT INTO workspace_meta VALUES ('schema_version', ?), ('created_by', 'judgescope')",
            [str(SCHEMA_VERSION)],
        )
        con.execute("COMMIT")
        return
    if version > SCHEMA_VERSION:
        raise UserError(
            f"workspace {path} has schema version {version}, newer than this judgescope knows "
            f"({SCHEMA_VERSION}); upgrade judgescope to open it"
        )
    if version == SCHEMA_VERSION and not read_only:
        con.execute(_schema_sql())  # idempotent: creates anything missing, refreshes the views
        return
    if version < SCHEMA_VERSION:
        if read_only:
            raise UserError(
                f"workspace {path} has schema version {version}; open it once with write access to migrate it "
                f"to {SCHEMA_VERSION}"
            )
        con.execute("BEGIN")
        con.execute(_schema_sql())  # tables a migration step expects exist (new ones in their newest shape)
        for v in range(version, SCHEMA_VERSION):
            for stmt in MIGRATIONS.get(v, []):
                con.execute(stmt)
        con.execute(_schema_sql())
        con.execute("UPDATE workspace_meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
        con.execute("COMMIT")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """A private cursor inside BEGIN ... COMMIT (ROLLBACK when the block raises)."""
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    finally:
        cur.close()
