"""`Query`: what the layers below the facade are given instead of the Workspace.

It reads one workspace through a fresh cursor per query (DuckDB wants one per thread; the dashboard runs
its sessions in threads), writes through `transaction()`, and knows the workspace's own names (metadata
keys, grouping keys) so that a name from data, a link or an option is checked before it reaches SQL.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from . import store
from .errors import UserError
from .groups import Group, resolve_group


def read_limit(default: float | None) -> float | None:
    """Seconds a read may take: JUDGESCOPE_QUERY_SECONDS when set (0: no limit), else `default`."""
    raw = os.environ.get("JUDGESCOPE_QUERY_SECONDS")
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"JUDGESCOPE_QUERY_SECONDS must be a number of seconds, not {raw!r}") from None
    if value != value or value < 0:
        raise UserError(f"JUDGESCOPE_QUERY_SECONDS must be 0 or more, not {raw!r}")
    return value or None


class Query:
    def __init__(self, path: str | os.PathLike, read_only: bool = False, time_limit: float | None = None):
        self.path = Path(path)
        self.read_only = read_only
        self.time_limit = time_limit  # seconds a read may take before it is stopped (None: no limit)
        self._names_lock = threading.Lock()
        self._meta_keys: tuple[tuple, list[str]] | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """This process's connection to the workspace (opened on demand)."""
        return store.connect(self.path, read_only=self.read_only)

    # ---- reading --------------------------------------------------------------------------------
    def frame(self, sql: str, params: list[Any] | dict | None = None) -> pl.DataFrame:
        with self.cursor() as cur, self._bounded(cur):
            return cur.sql(sql, params=params or None).pl()

    def rows(self, sql: str, params: list[Any] | dict | None = None) -> list[tuple]:
        with self.cursor() as cur, self._bounded(cur):
            return cur.execute(sql, params or []).fetchall()

    @contextlib.contextmanager
    def _bounded(self, cur):
        """Stop a read that runs past `time_limit` with a one-line error saying what to do."""
        if not self.time_limit:
            yield
            return
        timer = threading.Timer(self.time_limit, cur.interrupt)
        timer.daemon = True
        timer.start()
        try:
            yield
        except duckdb.InterruptException:
            raise UserError(
                f"a query took longer than {self.time_limit:g} s and was stopped: narrow the selection (a judge, "
                f"dataset, model or issue) or raise the limit (JUDGESCOPE_QUERY_SECONDS)"
            ) from None
        finally:
            timer.cancel()

    def scalar(self, sql: str, params: list[Any] | dict | None = None) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    @contextlib.contextmanager
    def cursor(self):
        """`with q.cursor() as cur:` — a private cursor for a block of reads (closed after it)."""
        cur = self.con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    # ---- writing --------------------------------------------------------------------------------
    def transaction(self):
        """`with q.transaction() as cur:` — BEGIN … COMMIT on a private cursor (ROLLBACK on error)."""
        if self.read_only:
            raise UserError(f"workspace {self.path} is open read-only")
        return store.transaction(self.con)

    # ---- the workspace's own names ----------------------------------------------------------------
    def version(self) -> tuple:
        """Changes whenever an import, a judge run (a resumed one too) or an issue set changes the workspace."""
        return tuple(
            self.rows(
                "SELECT (SELECT count(*) FROM runs), (SELECT max(created_at) FROM runs), "
                "(SELECT sum(n_ingested) FROM runs), (SELECT count(*) FROM judgments), "
                "(SELECT count(*) FROM issue_sets), (SELECT count(*) FROM issue_events)"
            )[0]
        )

    def meta_keys(self) -> list[str]:
        """Every metadata key on judgments and items (the names `meta.<key>` may use)."""
        version = self.version()
        with self._names_lock:
            if self._meta_keys is not None and self._meta_keys[0] == version:
                return self._meta_keys[1]
        keys = [
            r[0]
            for r in self.rows("""
            SELECT DISTINCT k FROM (
                SELECT unnest(json_keys(meta)) AS k FROM judgments WHERE meta IS NOT NULL
                UNION ALL SELECT unnest(json_keys(meta)) FROM items WHERE meta IS NOT NULL)
            WHERE k IS NOT NULL AND k <> '' ORDER BY k""")
        ]
        with self._names_lock:
            self._meta_keys = (version, keys)
        return keys

    def group(self, by: str, allowed: tuple[str, ...] | None = None) -> Group:
        """A grouping key checked against the workspace: a known column key or `meta.<one of its keys>`."""
        return resolve_group(by, self.meta_keys, allowed)

    def newest_issue_set(self) -> str | None:
        return self.scalar("SELECT issue_set_id FROM issue_sets ORDER BY created_at DESC, issue_set_id LIMIT 1")
