"""Audits kept on disk beside the workspace, so that a selection audited once (by an import, the CLI, a notebook
or the dashboard) opens at once in every later process: `<workspace>.cache/audit/<key>.parquet`.

The key is everything the audit reads: the workspace's data (imports and judge runs; an issue set changes it only
for a selection that names issues), the selection, the grouping, the family map, the alias file, and the code that
computes it (the sources of the reliability package, the filters and the pairwise vocabulary, by their
digest). A file is written whole (a temporary file renamed), so a reader never sees half of one; a place
that cannot be written only means nothing is kept (said at -v)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import polars as pl

from ..query import Query

log = logging.getLogger(__name__)
PACKAGE = Path(__file__).resolve().parent.parent


def folder(workspace: Path) -> Path:
    return Path(str(Path(workspace).expanduser().resolve()) + ".cache") / "audit"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the code an audit's numbers come from (a changed formula never reads an old file)."""
    h = hashlib.sha256()
    own = ("filters.py", "verdicts.py", "identities.py", "sql.py", "query.py")
    for p in sorted([*(PACKAGE / "reliability").glob("*.py"), *(PACKAGE / name for name in own)]):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def data_version(q: Query, query: str) -> tuple:
    """What the workspace holds that the audit reads: imports and judge runs; issue sets too when the selection
    names issues (`issue_set=…&issue=…`)."""
    full = q.version()
    return full if "issue" in query else full[:4]


def key(q: Query, query: str, by: str, family_map: dict | None, aliases: int | None) -> str:
    parts = [code_version(), data_version(q, query), query, by, json.dumps(family_map, sort_keys=True), aliases]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def load(workspace: Path, k: str) -> pl.DataFrame | None:
    path = folder(workspace) / f"{k}.parquet"
    try:
        frame = pl.read_parquet(path)
        log.info("audit read from %s (kept by an earlier run)", path)
        return frame
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - an unreadable file is recomputed, never trusted
        log.info("kept audit %s unreadable (%s); computing it again", path, exc)
        return None


KEEP = 64  # files kept per workspace; the oldest go first


def save(workspace: Path, k: str, frame: pl.DataFrame) -> None:
    where = folder(workspace)
    tmp: str | None = None
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as readable as the files beside it (mkstemp makes it private)
        frame.write_parquet(tmp)
        os.replace(tmp, where / f"{k}.parquet")
        kept = sorted(where.glob("*.parquet"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in kept[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("could not keep the audit in %s (%s); it is computed again next time", where, exc)
        if tmp:
            Path(tmp).unlink(missing_ok=True)
