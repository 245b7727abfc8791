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
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from ..query import Query

log = logging.getLogger(__name__)
PACKAGE = Path(__file__).resolve().parent.parent
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once, at import: changing it later would race other threads' files


def folder(workspace: Path) -> Path:
    return Path(str(Path(workspace).expanduser().resolve()) + ".cache") / "audit"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the code an audit's numbers come from (a changed formula never reads an old file)."""
    from importlib.metadata import version

    h = hashlib.sha256()
    own = (
        "filters.py",
        "verdicts.py",
        "identities.py",
        "sql.py",
        "query.py",
        "store.py",
        "schema.sql",
        "groups.py",
        "records.py",
    )
    for p in sorted([*(PACKAGE / "reliability").glob("*.py"), *(PACKAGE / name for name in own)]):
        h.update(p.name.encode() + p.read_bytes())
    for lib in ("numpy", "polars", "scipy", "duckdb"):
        h.update(f"{lib}={version(lib)}".encode())
    return h.hexdigest()[:16]


def data_version(q: Query, query: str) -> tuple:
    """What the workspace holds that the audit reads: imports and judge runs; issue sets too when the selection
    names issues (`issue_set=…&issue=…`)."""
    full = q.version()
    return full if "issue" in query else full[:4]


def file_digest(path: Path) -> str | None:
    """A file's content digest (None when it does not exist): an alias file rewritten within one timestamp tick,
    or copied with its old time, still changes the key."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return None


def alias_digest(workspace: Path) -> str | None:
    """The digest of the alias file beside the workspace (identities may change with it), None without one."""
    from ..identities import ALIAS_FILE

    return file_digest(Path(workspace).expanduser().resolve().parent / ALIAS_FILE)


def key(q: Query, query: str, by: str, family_map: dict | None, aliases: str | None) -> str:
    parts = [code_version(), data_version(q, query), query, by, json.dumps(family_map, sort_keys=True), aliases]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def _trusted(where: Path) -> bool:
    """Only a folder this user owns that nobody else can write into is read (a shared directory could hold a
    folder another user made)."""
    st = where.stat()
    mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return mine and not st.st_mode & 0o022


def load(workspace: Path, k: str) -> pl.DataFrame | None:
    path = folder(workspace) / f"{k}.parquet"
    try:
        if not _trusted(path.parent):
            log.info("kept audits in %s not read: the folder is not this user's alone", path.parent)
            return None
        frame = pl.read_parquet(path)
        os.utime(path)  # kept longest: the audits read most recently
        log.info("audit read from %s (kept by an earlier run)", path)
        return frame
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - an unreadable file is recomputed, never trusted
        log.info("kept audit %s unreadable (%s); computing it again", path, exc)
        return None


def tables(
    q: Query,
    workspace: Path,
    query: str,
    kind: str,
    names: tuple[str, ...],
    compute: Callable[[], dict[str, pl.DataFrame]],
) -> dict[str, pl.DataFrame]:
    """Named tables of one selection (`kind`: which family, e.g. the Rubrics page's), read from beside the workspace
    when all of them were kept, else computed together and kept: the audit's rule for what a key holds."""
    aliases = alias_digest(workspace)
    keys = {name: key(q, query, f"{kind}:{name}", None, aliases) for name in names}
    kept = {name: load(workspace, k) for name, k in keys.items()}
    if all(frame is not None for frame in kept.values()):
        return {name: frame for name, frame in kept.items() if frame is not None}
    out = compute()
    for name, frame in out.items():
        save(workspace, keys[name], frame)
    return out


KEEP = 64  # files kept per workspace; the oldest go first


def save(workspace: Path, k: str, frame: pl.DataFrame) -> None:
    where = folder(workspace)
    tmp: str | None = None
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(where):
            return
        fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)  # as readable as the files beside it (mkstemp makes it private)
        frame.write_parquet(tmp)
        os.replace(tmp, where / f"{k}.parquet")
        _prune(where)
    except OSError as exc:
        log.info("could not keep the audit in %s (%s); it is computed again next time", where, exc)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def _prune(where: Path) -> None:
    """At most KEEP audits, the least recently used going first; temporaries a crash left, after an hour."""

    def used(p: Path) -> int:
        try:
            return p.stat().st_mtime_ns
        except FileNotFoundError:  # another process pruned it
            return 0

    kept = sorted(where.glob("*.parquet"), key=used, reverse=True)
    stale = [p for p in where.glob("*.tmp") if used(p) < (time.time() - 3600) * 1e9]
    for old in [*kept[KEEP:], *stale]:
        old.unlink(missing_ok=True)
