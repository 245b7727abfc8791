"""Read source files into records or frames, turning unreadable rows into Rejects.

Every row keeps a number that is its identity within the file: the physical line it starts on
(JSONL, CSV), its position (JSON array element, Parquet row). Rejects carry that number, and the
import counts rejected rows by it, so no two rows of a file may share one. Text is read line by line
(textio), so a truncated line, binary garbage, a broken character or a wrong encoding costs only that
line. The internal line column of a frame never takes a name a source column has (`line_column`).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UserError
from .batch import PlType, Reject, clip_raw
from .csvreader import CsvRows, header_names
from .jsonscan import MAX_DEPTH, TooDeep, brackets, loads, object_keys, skip_container, skip_space, too_deep
from .textio import MAX_LINE_BYTES, Bad, BinaryFile, TextLines, read_prefix, read_text

__all__ = [
    "CHUNK_ROWS",
    "first_record_keys",
    "MAX_LINE_BYTES",
    "Records",
    "file_kind",
    "flat_frame",
    "iter_csv",
    "iter_jsonl",
    "iter_parquet_frames",
    "line_column",
    "read_csv",
    "read_json_array",
    "read_jsonl",
    "read_parquet_frame",
    "read_records",
    "records_to_frame",
    "require",
    "text_value",
]

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}
CHUNK_ROWS = 100_000  # rows per batch when a large file is read in pieces
_INT64 = (-(2**63), 2**63 - 1)


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


DETECT_BYTES = 2 * 1024 * 1024  # format detection reads at most this much of a file


def first_record_keys(path: Path) -> set[str]:
    """The column names of a file's first record, from a bounded prefix: a first line longer than
    DETECT_BYTES is read only that far (its keys up to there count)."""
    kind = file_kind(path)
    try:
        if kind == "parquet":
            return set(pq.read_schema(path).names)
        text = read_prefix(path, DETECT_BYTES)
    except Exception:  # noqa: BLE001 - unreadable here means undetected; the reader reports the problem properly
        return set()
    if kind == "csv":
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        fields = next(csv.reader([first], delimiter="\t" if path.suffix.lower() == ".tsv" else ","), [])
        return {f.strip() for f in fields}
    start = skip_space(text, 0)
    if kind == "json" and text.startswith("[", start):
        start = skip_space(text, start + 1)
    return set(object_keys(text[start:]))


def require(path: Path, what: str, *names: str) -> None:
    """A directory format's files must be there: a one-line error naming the missing ones otherwise."""
    if not path.is_dir():
        raise UserError(f"{path}: not {what} (not a directory)")
    if missing := [n for n in names if not (path / n).exists()]:
        raise UserError(f"{path}: not {what} (missing {', '.join(missing)})")


def line_column(columns) -> str:
    """A name for the internal line-number column that no source column has."""
    taken = set(columns)
    name = "_line"
    while name in taken:
        name = "_" + name
    return name


def _binary_file(source: str, what: str) -> Records:
    recs = Records(source, [], [], 1)
    recs.rejects.append(Reject(source, None, None, f"binary file (NUL bytes), not {what} text"))
    return recs


# ---- JSONL -------------------------------------------------------------------------------------------
def _json_row(text: str) -> tuple[dict | None, str | None]:
    """(object, None) or (None, why the line is not a usable JSON object)."""
    try:
        value = loads(text)
    except TooDeep as exc:
        return None, f"invalid JSON: {exc}"
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at column {exc.colno}: {exc.msg}"
    except ValueError as exc:  # Python refuses integers of more than 4,300 digits
        return None, "invalid JSON: " + ("an integer with too many digits" if "digits" in str(exc) else str(exc))
    if not isinstance(value, dict):
        return None, f"expected a JSON object, got {type(value).__name__}"
    return value, None


def iter_jsonl(path: Path, chunk_rows: int | None = None) -> Iterator[Records]:
    """JSONL as Records of at most `chunk_rows` (default CHUNK_ROWS) rows each; rejected lines count too."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    source = str(path)
    try:
        lines = TextLines(path)
    except BinaryFile:
        yield _binary_file(source, "JSONL")
        return
    recs = Records(source, [], [], 0)
    for lineno, text in lines:
        if recs.n_source_rows >= chunk_rows:
            yield recs
            recs = Records(source, [], [], 0)
        if isinstance(text, Bad):
            recs.n_source_rows += 1
            recs.rejects.append(Reject(source, lineno, None, text.reason))
            continue
        if not text.strip():
            continue
        recs.n_source_rows += 1
        value, reason = _json_row(text)
        if reason:
            recs.rejects.append(Reject(source, lineno, None, reason, clip_raw(text)))
            continue
        assert value is not None  # _json_row gives a reason whenever it gives no object
        recs.rows.append(value)
        recs.lines.append(lineno)
    recs.notes.extend(lines.notes)
    yield recs


def read_jsonl(path: Path) -> Records:
    """A whole JSONL file as one Records (formats that need every row at once)."""
    chunks = list(iter_jsonl(path, chunk_rows=1 << 62))
    return chunks[0]


# ---- JSON documents ----------------------------------------------------------------------------------
def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line}, column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


def read_json_array(path: Path) -> Records:
    """A JSON array of objects (or one object), element by element: an element nested too deeply or that is
    not an object is rejected alone; JSON that does not parse is a one-line error naming line and column.
    A .json file holding JSON Lines is read as JSONL. Element numbers are the rows' identities."""
    source = str(path)
    try:
        text, notes = read_text(path)
    except BinaryFile:
        return _binary_file(source, "JSON")
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None
    recs = Records(source, [], [], 0, notes=notes, unit="element")
    decoder = json.JSONDecoder()
    pos = skip_space(text, 0)
    if not text.startswith("[", pos):
        if not text.startswith("{", pos):
            raise UserError(f"{path}: expected a JSON array of objects or one object, at {_where(text, pos)}")
        try:
            end = _element(path, text, pos, 1, decoder, recs)
        except UserError:
            if _second_line_is_object(text):
                return read_jsonl(path)  # JSON Lines in a .json file, its first line broken
            raise
        if skip_space(text, end) < len(text):
            return read_jsonl(path)  # several objects: JSON Lines in a .json file
        return recs
    pos = skip_space(text, pos + 1)
    i = 0
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            i += 1
            pos = skip_space(text, _element(path, text, pos, i, decoder, recs))
            if text.startswith(",", pos):
                pos = skip_space(text, pos + 1)
                continue
            if text.startswith("]", pos):
                pos += 1
                break
            raise UserError(f"{path}: invalid JSON at {_where(text, pos)}: expected ',' or ']' after element {i:,}")
    if skip_space(text, pos) < len(text):
        raise UserError(f"{path}: invalid JSON at {_where(text, skip_space(text, pos))}: extra data after the array")
    return recs


def _second_line_is_object(text: str) -> bool:
    lines = (ln for ln in text.split("\n", 64)[1:64] if ln.strip())
    second = next(lines, "")
    try:
        return isinstance(json.loads(second), dict)
    except (ValueError, RecursionError):
        return False


def _element(path: Path, text: str, pos: int, i: int, decoder: json.JSONDecoder, recs: Records) -> int:
    """Parse element `i` at `pos` into `recs` (a row or a reject); return where it ends."""
    recs.n_source_rows += 1
    if pos >= len(text):
        raise UserError(f"{path}: invalid JSON: the array is not closed ({_where(text, pos)})")
    try:
        value, end = decoder.raw_decode(text, pos)
    except RecursionError:
        end = skip_container(text, pos)
        if end < 0:
            raise UserError(f"{path}: invalid JSON: element {i:,} at {_where(text, pos)} is never closed") from None
        recs.rejects.append(
            Reject(
                recs.source,
                i,
                None,
                f"invalid JSON: nested deeper than {MAX_DEPTH} levels",
                clip_raw(text[pos : pos + 200]),
            )
        )
        return end
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise UserError(f"{path}: invalid JSON at {_where(text, pos)}: {exc}") from None
    if not isinstance(value, dict):
        recs.rejects.append(
            Reject(recs.source, i, None, f"expected a JSON object, got {type(value).__name__}", clip_raw(text[pos:end]))
        )
    elif too_deep(value, brackets(text, pos, end)):
        recs.rejects.append(
            Reject(
                recs.source,
                i,
                None,
                f"invalid JSON: nested deeper than {MAX_DEPTH} levels",
                clip_raw(text[pos : pos + 200]),
            )
        )
    else:
        recs.rows.append(value)
        recs.lines.append(i)
    return end


# ---- CSV ---------------------------------------------------------------------------------------------
def iter_csv(path: Path, chunk_rows: int | None = None) -> Iterator[Records]:
    """CSV/TSV as Records of at most `chunk_rows` rows; a row is numbered by the line it starts on."""
    chunk_rows = chunk_rows or CHUNK_ROWS
    source = str(path)
    try:
        rows = CsvRows(path)
    except BinaryFile:
        yield _binary_file(source, "CSV")
        return
    recs = Records(source, [], [], 0)
    header: list[str] | None = None
    raw: str | list[str] | None  # the text of a rejected line, or the fields of a row of the wrong width
    for lineno, fields, reason, raw in rows:
        if header is None:
            if reason:
                raise UserError(f"{path}:{lineno}: unreadable CSV header: {reason}")
            if not fields or all(not c.strip() for c in fields):
                continue
            header, note = header_names(fields)
            if note:
                recs.notes.append(f"{path.name}: {note}")
            continue
        if recs.n_source_rows >= chunk_rows:
            yield recs
            recs = Records(source, [], [], 0)
        if fields is not None and (not fields or all(not c.strip() for c in fields)):
            continue
        if fields is not None and len(fields) != len(header):
            stray = rows.reject_multiline(fields, len(header))
            if stray:
                lineno, fields, reason, raw = stray
            else:
                reason, raw = f"row has {len(fields)} fields, the header has {len(header)}", fields
                fields = None
        recs.n_source_rows += 1
        if fields is None:
            assert reason is not None  # CsvRows gives a reason with every row it has no fields for
            recs.rejects.append(Reject(source, lineno, None, reason, clip_raw(raw)))
            continue
        recs.rows.append({h: (v if v != "" else None) for h, v in zip(header, fields)})
        recs.lines.append(lineno)
    recs.notes.extend(rows.text.notes)
    yield recs


def read_csv(path: Path) -> Records:
    return list(iter_csv(path, chunk_rows=1 << 62))[0]


# ---- Parquet -----------------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return _bytes_text(value)
    return str(value)


def _bytes_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.hex()


def text_value(value: Any) -> str | None:
    """A cell as text: strings as they are, bytes as UTF-8 (else hex), containers as JSON, the rest as JSON
    scalars or str()."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return _bytes_text(value)
    if isinstance(value, (dict, list, tuple, bool, int, float)):
        try:
            return json.dumps(value, ensure_ascii=False, default=_json_default)
        except (ValueError, RecursionError):  # a huge integer, or nesting json cannot write
            return str(value)[:1_000_000]
    return str(value)


_PLAIN = (
    pa.types.is_integer,
    pa.types.is_float32,
    pa.types.is_float64,
    pa.types.is_boolean,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_string_view,
    pa.types.is_null,
    pa.types.is_timestamp,
    pa.types.is_date,
    pa.types.is_time,
    pa.types.is_decimal128,
)
_BINARY = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary, pa.types.is_binary_view)


def _plain_column(arr: pa.Array, name: str, nested_as_text: bool, notes: dict[str, str]) -> pa.Array:
    """One Arrow column in types polars and JSON handle: binary as UTF-8 text (else hex), nested values as
    JSON text (or kept when `nested_as_text` is False), anything unusual as text."""
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if any(test(t) for test in _PLAIN):
        return arr
    if pa.types.is_float16(t):
        return arr.cast(pa.float32())
    values = arr.to_pylist()
    if any(test(t) for test in _BINARY):
        ok = all(v is None or _is_utf8(v) for v in values)
        notes.setdefault(name, f"column {name!r} is binary: kept as {'UTF-8 text' if ok else 'hex text (not UTF-8)'}")
        return pa.array([None if v is None else (v.decode("utf-8") if ok else v.hex()) for v in values], pa.string())
    if not nested_as_text and pa.types.is_nested(t):
        return arr
    return pa.array([text_value(v) for v in values], pa.string())


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _plain_batch(batch: pa.RecordBatch, nested_as_text: bool, notes: dict[str, str]) -> pa.RecordBatch:
    names, note = header_names([str(n) for n in batch.schema.names])
    if note:
        notes.setdefault("\x00names", note)
    columns = [_plain_column(batch.column(i), names[i], nested_as_text, notes) for i in range(batch.num_columns)]
    return pa.RecordBatch.from_arrays(columns, names=names)


def _parquet_batches(
    path: Path, batch_rows: int, nested_as_text: bool, notes: dict[str, str], columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """A Parquet file's rows in Arrow batches of plain types; a file that cannot be read is a one-line error."""
    try:
        pf = pq.ParquetFile(path)
        if columns is not None:
            columns = [c for c in columns if c in pf.schema_arrow.names]
        batches = pf.iter_batches(batch_size=batch_rows, columns=columns)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise UserError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    done = 0
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - as above
            raise UserError(f"{path}: unreadable Parquet data after row {done:,} ({_first_line(exc)})") from None
        yield _plain_batch(batch, nested_as_text, notes)
        done += batch.num_rows


def _notes(path: Path, notes: dict[str, str]) -> list[str]:
    return [f"{path.name}: {n}" for n in notes.values()]


def iter_parquet_frames(path: Path, batch_rows: int | None = None) -> Iterator[tuple[pl.DataFrame, list[str]]]:
    """(frame, notes) for each piece of a Parquet file; list/struct columns arrive as JSON text, binary
    columns as text. The notes come once, with the first piece that needs them."""
    notes: dict[str, str] = {}
    told = 0
    for batch in _parquet_batches(path, batch_rows or CHUNK_ROWS, True, notes):
        try:
            frame = pl.from_arrow(batch)
        except (Exception, pl.exceptions.PanicException) as exc:  # noqa: BLE001 - polars panics too
            raise UserError(f"{path}: a column polars cannot read ({_first_line(exc)})") from None
        assert isinstance(frame, pl.DataFrame)  # a RecordBatch always becomes a DataFrame
        new = _notes(path, notes)[told:]
        told = len(notes)
        yield frame, new


def read_parquet_frame(path: Path) -> pl.DataFrame:
    """A whole Parquet file as one frame of plain types (see iter_parquet_frames)."""
    frames = [f for f, _ in iter_parquet_frames(path)]
    if not frames:
        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # noqa: BLE001 - as above
            raise UserError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
        return pl.DataFrame(schema={n: pl.String for n in schema.names})
    return pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]


def iter_parquet_records(
    path: Path, chunk_rows: int | None = None, columns: list[str] | None = None
) -> Iterator[Records]:
    """Parquet rows as dicts, in pieces; nested values stay lists and dicts, binary becomes text.
    `columns` reads only those (the ones the file has)."""
    notes: dict[str, str] = {}
    offset = 1
    told = 0
    for batch in _parquet_batches(path, chunk_rows or CHUNK_ROWS, False, notes, columns):
        rows = batch.to_pylist()
        recs = Records(str(path), rows, list(range(offset, offset + len(rows))), len(rows), unit="row")
        recs.notes = _notes(path, notes)[told:]
        told = len(notes)
        offset += len(rows)
        yield recs


def read_records(path: Path) -> Records:
    """Any supported file as records (Parquet included, for formats that want dicts)."""
    kind = file_kind(path)
    if kind == "jsonl":
        return read_jsonl(path)
    if kind == "json":
        return read_json_array(path)
    if kind == "csv":
        return read_csv(path)
    whole = Records(str(path), [], [], 0, unit="row")
    for recs in iter_parquet_records(path):
        whole.rows += recs.rows
        whole.lines += recs.lines
        whole.n_source_rows += recs.n_source_rows
        whole.notes += recs.notes
    return whole


# ---- frames from records -----------------------------------------------------------------------------
def _int64(values: list) -> bool:
    """No integer among the values is too large for Int64 (Python's json reads any size)."""
    return all(not isinstance(v, int) or _INT64[0] <= v <= _INT64[1] for v in values)


def records_to_frame(rows: list[dict[str, Any]], lines: list[int]) -> tuple[pl.DataFrame, str]:
    """(frame, name of its line column): one column per key seen in any row, plus the line numbers under a
    name no key has. Columns whose values are all numbers stay numeric; any other mixed column becomes
    text, so a bad value can be reported rather than lost."""
    keys: dict[str, None] = {}
    for row in rows:
        for k in row:
            keys.setdefault(k, None)
    line = line_column(keys)
    cols: dict[str, pl.Series] = {line: pl.Series(line, lines, dtype=pl.Int64)}
    for key in keys:
        values = [row.get(key) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int, float} and kinds and _int64(values):
            cols[key] = (
                pl.Series(key, [float(v) if v is not None else None for v in values], dtype=pl.Float64)
                if float in kinds
                else pl.Series(key, values, dtype=pl.Int64)
            )
        elif kinds == {bool}:
            cols[key] = pl.Series(key, values, dtype=pl.Boolean)
        elif kinds <= {str}:
            cols[key] = pl.Series(key, values, dtype=pl.String)
        else:
            cols[key] = pl.Series(key, [text_value(v) for v in values], dtype=pl.String)
    return pl.DataFrame(cols), line


def flat_frame(rows: list[dict[str, Any]], schema: dict[str, PlType]) -> pl.DataFrame | None:
    """Flat rows an adapter built from a file's values -> a frame in `schema`'s types. A value of another
    type than its column's (a list where text belongs, say) is converted, never an error."""
    if not rows:
        return None
    keys: dict[str, None] = {}
    for row in rows:
        for k in row:
            keys.setdefault(k, None)
    cols = []
    for key in keys:
        dtype = schema.get(key, pl.String)
        values = [row.get(key) for row in rows]
        if dtype == pl.String:
            values = [text_value(v) for v in values]
        elif dtype.is_float():
            values = [_float(v) for v in values]
        elif dtype.is_integer():
            values = [
                v if isinstance(v, int) and not isinstance(v, bool) and _INT64[0] <= v <= _INT64[1] else None
                for v in values
            ]
        cols.append(pl.Series(key, values, dtype=dtype, strict=False))
    return pl.DataFrame(cols)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
