"""Every source format -> the canonical tables, in one transaction per import.

`ingest(con, path, format=None, mapping=None)` detects the format when it is not given, reads the
source into flat batches, validates every row, and writes what passed plus a `rejects` row for what
did not. Importing the same source twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from ..errors import UserError
from ..identities import Identities
from ..store import transaction
from .batch import JUDGMENT_SCHEMA, LABEL_SCHEMA, UNKNOWN_JUDGE, Reject, SourceBatch, conform
from .mapping import Mapping, load_mapping
from .formats import ALIASES, CONTAINERS, FORMATS, REGISTRY, Format, resolve
from .readers import SUFFIXES, first_record_keys
from .validate import JUDGMENT_CHECKS, LABEL_CHECKS, split_valid
from .writer import write_flat, write_rejects, write_run

log = logging.getLogger(__name__)

__all__ = ["ALIASES", "FORMATS", "Format", "IngestResult", "detect_format", "ingest"]


@dataclass
class IngestResult:
    run_id: str
    format: str
    dataset: str
    source: str
    n_source_rows: int = 0
    n_ingested: int = 0
    n_rejected: int = 0
    n_already_present: int = 0
    n_judgments_new: int = 0
    n_labels_new: int = 0
    n_items_new: int = 0
    n_responses_new: int = 0
    already_imported: bool = False
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def summary(self) -> str:
        line = f"ingested {self.n_ingested:,}, rejected {self.n_rejected:,}"
        if self.already_imported:
            return line + f" ({self.source} was already imported as run {self.run_id}; nothing added)"
        line += (
            f" ({self.format}: {self.n_judgments_new:,} new judgments, {self.n_labels_new:,} labels, "
            f"{self.n_items_new:,} items, {self.n_responses_new:,} responses"
        )
        if self.n_already_present:
            line += f"; {self.n_already_present:,} judgments already present"
        return line + ")"

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "rejects"}
        d["rejects"] = [r.__dict__ for r in self.rejects[:100]]
        return d


def detect_format(path: str | Path) -> str:
    """The format of a file or directory, or 'generic' when no known layout matches (formats.REGISTRY)."""
    path = Path(path)
    if path.is_dir():
        return next((f.name for f in REGISTRY if f.directory and f.directory(path)), "generic")
    container = CONTAINERS.get(path.suffix.lower())
    if container:
        assert container.container is not None  # CONTAINERS holds only the formats that have one
        suffix, detect, holds = container.container
        if detect(path):
            return container.name
        raise UserError(f"{path}: a {suffix} file that is not {holds}")
    keys = first_record_keys(path)
    return next((f.name for f in REGISTRY if f.keys and f.keys(keys)), "generic")


def _sources(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [path]


def _sha256(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(str(p.relative_to(root) if root.is_dir() else p.name).encode())
        with open(p, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def _data_files(path: Path) -> list[Path]:
    return [p for p in _sources(path) if p.suffix.lower() in SUFFIXES or p.suffix.lower() in CONTAINERS]


def _read(path: Path, fmt: str, mapping: Mapping, explicit: bool) -> Iterator[SourceBatch]:
    if path.is_dir() and not FORMATS[fmt].directory:
        files = _data_files(path)
        if not files:
            raise UserError(f"{path}: no .jsonl, .json, .csv, .parquet, .zip or .eval files in this directory")
        for p in files:
            yield from FORMATS[fmt if explicit else detect_format(p)].read(p, mapping)
        return
    yield from FORMATS[fmt].read(path, mapping)


def count_rejected_rows(rejects: list[Reject]) -> int:
    """How many source rows the rejects are about. A row is identified by its source and its line (or row,
    or element) number, which readers give every row uniquely; several rejects may name one row (two of its
    judgments, say). A reject without a line is about the whole file and counts once."""
    rows = {(r.source, r.line) for r in rejects if r.line is not None}
    return len(rows) + sum(r.line is None for r in rejects)


def ingest(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    format: str | None = None,
    mapping: Mapping | dict | str | Path | None = None,
    strict: bool = False,
    dataset: str | None = None,
    map_pairs: list[str] | None = None,
    aliases: str | Path | Identities | None = None,
) -> IngestResult:
    """`aliases`: a judgescope.aliases.toml file or an Identities; judge and model names are resolved to one
    identity each (analysis/identities.py; the built-in rules apply without a file)."""
    identities = aliases if isinstance(aliases, Identities) else Identities.load(aliases, required=True)
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"{path} does not exist")
    mapping = load_mapping(mapping, map_pairs)
    explicit, fmt = _format_of(path, format, mapping)
    if path.is_file() and path.stat().st_size == 0:
        raise UserError(f"{path} is empty; nothing to ingest")
    dataset = dataset or mapping.dataset or FORMATS[fmt].dataset(path)
    files = _sources(path)
    sha = _sha256(files, path)
    params = {"format": fmt, "dataset": dataset, "mapping": mapping.to_dict(), "strict": strict}
    run_id = hashlib.md5(json.dumps([fmt, dataset, sha, mapping.to_dict()], sort_keys=True).encode()).hexdigest()[:16]
    result = IngestResult(run_id=run_id, format=fmt, dataset=dataset, source=str(path))
    if _already_imported(con, result):
        return result

    if fmt != "generic" and (mapping.columns or mapping.criteria or mapping.criteria_critiques):
        result.notes.append(  # a named format reads its own columns: say so rather than ignore the mapping
            f"format {fmt} reads its own columns; the column mapping ({', '.join(sorted(mapping.columns))}) is used "
            "only by --format generic"
        )
    ignored = sorted(set(mapping.constants) - set(NAMED_FORMAT_CONSTANTS))
    if fmt != "generic" and ignored:
        result.notes.append(
            f"format {fmt} reads its own columns; --set {', '.join(ignored)} is used only by --format generic "
            f"(with a named format, --set names only what the files leave out: {', '.join(NAMED_FORMAT_CONSTANTS)})"
        )
    with transaction(con) as cur:  # one transaction per import: a failed import leaves the store as it was
        rejects = _write_batches(cur, path, fmt, mapping, bool(explicit), strict, identities, result)
        _account_rows(result, rejects, path)
        _note_self_pairs(cur, result)
        write_rejects(cur, run_id, rejects)
        write_run(
            cur,
            run_id,
            dataset,
            fmt,
            str(path.resolve()),
            sha,
            result.n_source_rows,
            result.n_ingested,
            result.n_already_present,
            result.n_rejected,
            params,
        )
    return result


def _format_of(path: Path, format: str | None, mapping: Mapping) -> tuple[str, str]:
    """(the format asked for, lowercased, or ""; the format read): a directory of files of one detected format
    is read as that format."""
    explicit = (format or mapping.format or "").strip().lower()
    fmt = resolve(explicit) or detect_format(path)
    if not explicit and fmt == "generic" and path.is_dir():
        kinds = {detect_format(p) for p in _data_files(path)}
        fmt = kinds.pop() if len(kinds) == 1 else "generic"
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return explicit, fmt


def _already_imported(con: duckdb.DuckDBPyConnection, result: IngestResult) -> bool:
    """Whether this run (same format, dataset, files and mapping) was imported before; if so, `result` gets its
    counts."""
    rows = con.execute(
        "SELECT n_source_rows, n_ingested, n_rejected FROM runs WHERE run_id = ?", [result.run_id]
    ).fetchall()
    prior = rows[0] if rows else None
    if prior:
        result.already_imported = True
        result.n_source_rows, result.n_already_present, result.n_rejected = prior[0], prior[1], prior[2]
        return True
    return False


def _write_batches(
    cur: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    mapping: Mapping,
    explicit: bool,
    strict: bool,
    identities: Identities,
    result: IngestResult,
) -> list[Reject]:
    """Read, check and write the source's batches one at a time (a large file never sits in memory whole),
    counting into `result`; returns the rejects. With `strict`, the first reject stops the import."""
    rejects: list[Reject] = []

    def stop_if_strict() -> None:
        if strict and rejects:
            raise UserError(f"--strict: {rejects[0].describe()} (nothing was ingested)")

    for b in _read(path, fmt, mapping, explicit=explicit):
        rejects.extend(b.rejects)
        result.notes.extend(b.notes)
        result.n_source_rows += b.n_source_rows
        stop_if_strict()
        judgments = conform(b.judgments, JUDGMENT_SCHEMA)
        if fmt != "generic":
            judgments = _fill_named(judgments, mapping)
        good_j, bad_j = split_valid(judgments, JUDGMENT_CHECKS)
        good_l, bad_l = split_valid(conform(b.labels, LABEL_SCHEMA), LABEL_CHECKS)
        rejects.extend(bad_j + bad_l)
        stop_if_strict()
        stats = write_flat(
            cur,
            result.run_id,
            result.dataset,
            good_j,
            good_l,
            b.criteria,  # write_flat conforms it (None: no criteria)
            b.responses,
            identities=identities,
        )
        rejects.extend(stats.rejects)
        stop_if_strict()
        result.n_already_present += stats.n_judgments_present
        result.n_judgments_new += stats.n_judgments_new
        result.n_labels_new += stats.n_labels_new
        result.n_items_new += stats.n_items_new
        result.n_responses_new += stats.n_responses_new
        log.info(
            "%s: batch of %d source rows: %d judgments new, %d already present, %d labels new, %d rejected so far",
            path.name,
            b.n_source_rows,
            stats.n_judgments_new,
            stats.n_judgments_present,
            stats.n_labels_new,
            len(rejects),
        )
    return rejects


# what `--set ROLE=VALUE` names in a file of a named format: only what the file leaves out (FastChat judgment files
# without a judge column, arena-bench-v1's per-model files)
NAMED_FORMAT_CONSTANTS = ("judge", "template")


def _fill_named(judgments: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    """A named format's judgments with the --set judge / template where its files name none."""
    fills = []
    for role in NAMED_FORMAT_CONSTANTS:
        if role in mapping.constants:
            value = str(mapping.constants[role]).strip()
            unknown = pl.col(role).is_null()
            if role == "judge":  # a reader's placeholder for a judge its file does not name
                unknown = unknown | (pl.col(role) == UNKNOWN_JUDGE)
            fills.append(pl.when(unknown).then(pl.lit(value)).otherwise(pl.col(role)).alias(role))
    return judgments.with_columns(fills) if fills else judgments


def _note_self_pairs(cur: duckdb.DuckDBPyConnection, result: IngestResult) -> None:
    """A note on the run's pairwise judgments of a model against itself (AlpacaEval's baseline file, a position
    probe): kept, but they say nothing about which model is better."""
    rows = cur.execute(
        "SELECT model_a, count(*) FROM judgments WHERE run_id = ? AND protocol = 'pairwise' AND model_a = model_b "
        "GROUP BY model_a ORDER BY count(*) DESC, model_a",
        [result.run_id],
    ).fetchall()
    if rows:
        n = sum(k for _, k in rows)
        shown = ", ".join(f"{m} ({k:,})" for m, k in rows[:3]) + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")
        result.notes.append(
            f"{n:,} pairwise judgments compare a model with itself: {shown}. They are kept: they say nothing about "
            "which model is better, and their verdicts show the judge's preference for a position or a sample"
        )


def _account_rows(result: IngestResult, rejects: list[Reject], path: Path) -> None:
    """Every source row is ingested or rejected: set the counts and the rejects on `result` (no rows at all, or
    more rows rejected than read, stops the import)."""
    if result.n_source_rows == 0:
        raise UserError(f"{path}: no rows to ingest (the file or directory is empty)")
    result.n_rejected = count_rejected_rows(rejects)
    if result.n_rejected > result.n_source_rows:
        raise RuntimeError(
            f"{result.n_rejected} rejected rows out of {result.n_source_rows}: a reader numbered its rows wrongly"
        )
    result.n_ingested = result.n_source_rows - result.n_rejected
    result.rejects = rejects
