"""Read source files into records or frames, turning unreadable rows into Rejects.

JSONL is read line by line so that a truncated line, binary garbage or a wrong encoding costs only
that line; each rejected line keeps its number and, for JSON errors, the column.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from ..errors import UserError
from .batch import Reject, clip_raw

MAX_LINE_BYTES = 16 * 1024 * 1024  # a longer line is rejected, not parsed
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}


@dataclass
class Records:
    """Rows of one file as dicts, with their 1-based line (JSONL/CSV) or row (JSON/Parquet) numbers."""

    source: str
    rows: list[dict[str, Any]]
    lines: list[int]
    n_source_rows: int
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unit: str = "line"


def file_kind(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UserError(f"{path}: unknown file type {path.suffix!r}; expected .jsonl, .json, .csv or .parquet")
    return kind


def _decode(raw: bytes, notes_counter: list[int]) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        notes_counter[0] += 1
        return raw.decode("cp1252", errors="replace")


def _check_text_file(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not head:
        return head
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head
    if b"\x00" in head:
        raise _BinaryFile()
    return head


class _BinaryFile(Exception):
    pass


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) for each line; a line over MAX_LINE_BYTES is yielded truncated with a flag."""
    with open(path, "rb") as fh:
        lineno = 0
        while True:
            chunk = fh.readline(MAX_LINE_BYTES + 1)
            if not chunk:
                return
            lineno += 1
            if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                size = len(chunk)
                while True:  # skip the rest of the overlong line
                    more = fh.readline(MAX_LINE_BYTES)
                    size += len(more)
                    if not more or more.endswith(b"\n"):
                        break
                yield lineno, _Overlong(size)
                continue
            yield lineno, chunk


class _Overlong(bytes):
    def __new__(cls, size: int):
        obj = super().__new__(cls, b"")
        obj.size = size
        return obj


CHUNK_ROWS = 100_000  # rows per batch when a large file is read in pieces


def iter_jsonl(path: Path, chunk_rows: int | None = None) -> Iterator[Records]:
    """JSONL as Records of at most `chunk_rows` (default CHUNK_ROWS) rows each; rejected lines count too."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    source = str(path)
    recs = Records(source, [], [], 0)
    try:
        head = _check_text_file(path)
    except _BinaryFile:
        recs.rejects.append(Reject(source, None, None, "binary file (NUL bytes), not JSONL text"))
        recs.n_source_rows = 1
        yield recs
        return
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = path.read_bytes().decode("utf-16")
        lines: Iterator[tuple[int, bytes]] = ((i + 1, ln.encode("utf-8")) for i, ln in enumerate(text.splitlines()))
        recs.notes.append(f"{path.name}: decoded as UTF-16")
    else:
        lines = _jsonl_lines(path)
    cp1252 = [0]
    for lineno, raw in lines:
        if recs.n_source_rows >= chunk_rows:
            yield recs
            recs = Records(source, [], [], 0)
        if isinstance(raw, _Overlong):
            recs.n_source_rows += 1
            recs.rejects.append(Reject(source, lineno, None,
                                       f"line is {raw.size:,} bytes, over the {MAX_LINE_BYTES:,}-byte limit"))
            continue
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        recs.n_source_rows += 1
        text = _decode(raw, cp1252)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            recs.rejects.append(Reject(source, lineno, None, f"invalid JSON at column {exc.colno}: {exc.msg}", clip_raw(text)))
            continue
        except RecursionError:
            recs.rejects.append(Reject(source, lineno, None, "invalid JSON: nested too deeply", clip_raw(text)))
            continue
        if not isinstance(value, dict):
            recs.rejects.append(Reject(source, lineno, None, f"expected a JSON object, got {type(value).__name__}", clip_raw(text)))
            continue
        recs.rows.append(value)
        recs.lines.append(lineno)
    if cp1252[0]:
        recs.notes.append(f"{path.name}: {cp1252[0]} line(s) were not UTF-8 and were decoded as Windows-1252")
    yield recs


def read_jsonl(path: Path) -> Records:
    """A whole JSONL file as one Records (formats that need every row at once)."""
    chunks = list(iter_jsonl(path, chunk_rows=1 << 62))
    return chunks[0]


def read_json_array(path: Path) -> Records:
    source = str(path)
    recs = Records(source, [], [], 0, unit="element")
    try:
        _check_text_file(path)
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except _BinaryFile:
        recs.rejects.append(Reject(source, None, None, "binary file (NUL bytes), not JSON text"))
        recs.n_source_rows = 1
        return recs
    except UnicodeDecodeError:
        data = json.loads(path.read_bytes().decode("cp1252", errors="replace"))
        recs.notes.append(f"{path.name}: not UTF-8, decoded as Windows-1252")
    except json.JSONDecodeError as exc:
        # a JSON file that is really JSONL
        if exc.msg.startswith("Extra data"):
            return read_jsonl(path)
        raise UserError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON array of objects, got {type(data).__name__}")
    for i, value in enumerate(data, start=1):
        recs.n_source_rows += 1
        if not isinstance(value, dict):
            recs.rejects.append(Reject(source, i, None, f"expected a JSON object, got {type(value).__name__}", clip_raw(value)))
            continue
        recs.rows.append(value)
        recs.lines.append(i)
    return recs


def read_csv(path: Path) -> Records:
    source = str(path)
    recs = Records(source, [], [], 0)
    try:
        _check_text_file(path)
    except _BinaryFile:
        recs.rejects.append(Reject(source, None, None, "binary file (NUL bytes), not CSV text"))
        recs.n_source_rows = 1
        return recs
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        recs.notes.append(f"{path.name}: not UTF-8, decoded as Windows-1252")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return recs
    header = [h.strip() for h in header]
    width = len(header)
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            recs.n_source_rows += 1
            recs.rejects.append(Reject(source, reader.line_num, None, f"unreadable CSV row: {exc}"))
            continue
        lineno = start
        start = reader.line_num + 1
        if not row or all(not c.strip() for c in row):
            continue
        recs.n_source_rows += 1
        if len(row) != width:
            recs.rejects.append(Reject(source, lineno, None, f"row has {len(row)} fields, the header has {width}", clip_raw(row)))
            continue
        recs.rows.append({h: (v if v != "" else None) for h, v in zip(header, row)})
        recs.lines.append(lineno)
    return recs


def read_parquet_frame(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # pyarrow/polars raise many types for a bad file
        raise UserError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None


def read_records(path: Path) -> Records:
    """Any supported file as records (Parquet included, for formats that want dicts)."""
    kind = file_kind(path)
    if kind == "jsonl":
        return read_jsonl(path)
    if kind == "json":
        return read_json_array(path)
    if kind == "csv":
        return read_csv(path)
    frame = read_parquet_frame(path)
    rows = frame.to_dicts()
    return Records(str(path), rows, list(range(1, len(rows) + 1)), len(rows), unit="row")


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def records_to_frame(rows: list[dict[str, Any]], lines: list[int]) -> pl.DataFrame:
    """A frame with one column per key seen in any row. Columns whose values are all numbers stay
    numeric; any other mixed column becomes text, so a bad value can be reported rather than lost."""
    keys: dict[str, None] = {}
    for row in rows:
        for k in row:
            keys.setdefault(k, None)
    cols: dict[str, pl.Series] = {"_line": pl.Series("_line", lines, dtype=pl.Int64)}
    for key in keys:
        values = [row.get(key) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int, float} and kinds:
            cols[key] = pl.Series(key, [float(v) if v is not None else None for v in values], dtype=pl.Float64) \
                if float in kinds else pl.Series(key, values, dtype=pl.Int64, strict=False)
        elif kinds == {bool}:
            cols[key] = pl.Series(key, values, dtype=pl.Boolean)
        elif kinds <= {str}:
            cols[key] = pl.Series(key, values, dtype=pl.String)
        else:
            cols[key] = pl.Series(key, [None if v is None else _cell(v) for v in values], dtype=pl.String)
    return pl.DataFrame(cols)
