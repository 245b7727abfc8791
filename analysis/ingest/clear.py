"""IBM CLEAR results: a zip with results.parquet or results.csv plus metadata.json.

Columns: question_id, model_input, response, score, evaluation_text, evaluation_summary,
recurring_issues_str, ground_truth. metadata.json names the generator and judge models. The issue
labels CLEAR found are kept per judgment (meta.clear_issues) so a user keeps them.

A zip is untrusted: each member's declared size and compression ratio are checked before it is read,
and the results are streamed to a temporary file and read from there in pieces.
"""

from __future__ import annotations

import json
import math
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from ..errors import UserError
from .batch import JUDGMENT_SCHEMA, UNKNOWN_JUDGE, Reject, SourceBatch, clip_raw, to_json
from .jsonscan import loads, loads_or
from .readers import Records, flat_frame, iter_csv, iter_parquet_records
from .values import guess_scale

MAX_MEMBER_BYTES = 2 * 1024**3  # a results member may unpack to at most this
MAX_METADATA_BYTES = 1024**2
MAX_RATIO = 200  # unpacked/packed; deflate reaches ~1000 only on degenerate (bomb-like) data
RATIO_FLOOR = 16 * 1024**2  # members smaller than this unpack to little whatever their ratio
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError)


def detect(path: Path) -> bool:
    if path.suffix.lower() != ".zip" or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            names = {Path(n).name for n in zf.namelist()}
    except _ZIP_ERRORS:
        return False
    return "metadata.json" in names and bool(names & {"results.parquet", "results.csv"})


def _find(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    return next((i for i in zf.infolist() if Path(i.filename).name == name and not i.is_dir()), None)


def _check_size(path: Path, info: zipfile.ZipInfo, limit: int) -> None:
    where = f"{path}!{info.filename}"
    if info.file_size > limit:
        raise UserError(f"{where}: unpacks to {info.file_size:,} bytes, over the {limit:,}-byte limit")
    packed = min(info.compress_size, path.stat().st_size)  # a header cannot claim more than the zip holds
    ratio = info.file_size / max(packed, 1)
    if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
        raise UserError(
            f"{where}: compressed {ratio:,.0f} to 1 ({packed:,} bytes unpack to "
            f"{info.file_size:,}), over the {MAX_RATIO:g} to 1 limit; refusing a likely zip bomb"
        )


def _extract(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, limit: int) -> Path:
    """Stream one member to `dest`, never past its declared size or `limit` (whichever is smaller)."""
    _check_size(path, info, limit)
    out = dest / Path(info.filename).name
    budget = min(info.file_size, limit)
    try:
        with zf.open(info) as src, open(out, "wb") as dst:
            while chunk := src.read(1 << 20):
                budget -= len(chunk)
                if budget < 0:
                    raise UserError(
                        f"{path}!{info.filename}: unpacks to more than its declared {info.file_size:,} bytes"
                    )
                dst.write(chunk)
    except UserError:
        raise
    except _ZIP_ERRORS as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}!{info.filename}: cannot unpack ({why})") from None
    return out


def _metadata(path: Path, zf: zipfile.ZipFile, tmp: Path) -> dict:
    info = _find(zf, "metadata.json")
    if info is None:
        return {}
    where = f"{path}!{info.filename}"
    raw = _extract(path, zf, info, tmp, MAX_METADATA_BYTES).read_bytes()
    try:
        meta = loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UserError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise UserError(f"{where}: invalid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(meta).__name__}")
    return meta


def _issues(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        parsed = loads_or(text, None)
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return [p.strip() for p in text.replace("\n", ";").split(";") if p.strip()]


def _score(value) -> float | None:
    """A score cell as a number; None when empty; ValueError when it is not a number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError
    return float(value)


def _pieces(results: Path, columns: list[str] | None = None) -> Iterator[Records]:
    return iter_parquet_records(results, columns=columns) if results.suffix == ".parquet" else iter_csv(results)


def _scale(results: Path) -> tuple[float, float]:
    """The scale every score fits (a first pass over the results, one piece at a time)."""
    lo, hi = math.inf, -math.inf
    for recs in _pieces(results, columns=["score"]):
        for r in recs.rows:
            try:
                s = _score(r.get("score"))
            except ValueError:
                continue
            if s is not None and not math.isnan(s):
                lo, hi = min(lo, s), max(hi, s)
    if lo > hi:
        return 0.0, 1.0
    return guess_scale(pl.Series([lo, hi])) or (0.0, 1.0)


def read(path: Path) -> Iterator[SourceBatch]:
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS:
        raise UserError(f"{path}: not a readable zip file") from None
    with zf, tempfile.TemporaryDirectory(prefix="judgescope-clear-") as tmp:
        meta = _metadata(path, zf, Path(tmp))
        member = _find(zf, "results.parquet") or _find(zf, "results.csv")
        if member is None:
            raise UserError(f"{path}: no results.parquet or results.csv in the zip")
        results = _extract(path, zf, member, Path(tmp), MAX_MEMBER_BYTES)
        try:
            yield from _batches(path, member.filename, results, meta)
        except UserError as exc:  # name the member, not the temporary file
            raise UserError(str(exc).replace(str(results), f"{path}!{member.filename}")) from None


def _batches(path: Path, member: str, results: Path, meta: dict) -> Iterator[SourceBatch]:
    generator = str(
        meta.get("gen_model_name") or meta.get("generator_model") or meta.get("gen_model") or "unknown-model"
    )
    judge = str(meta.get("eval_model_name") or meta.get("judge_model") or meta.get("eval_model") or UNKNOWN_JUDGE)
    source = f"{path}!{member}"
    scale = _scale(results)
    notes = [f"{path.name}: generator {generator}, judge {judge}, scale {scale[0]:g}–{scale[1]:g}"]
    for recs in _pieces(results):
        rejects = [Reject(source, r.line, r.column, r.reason, r.raw) for r in recs.rejects]
        out = []
        for line, r in zip(recs.lines, recs.rows):
            qid = r.get("question_id")
            if qid is None:
                rejects.append(Reject(source, line, "question_id", "missing question_id", clip_raw(r)))
                continue
            try:
                score = _score(r.get("score"))
            except ValueError:
                rejects.append(Reject(source, line, "score", f"score {r.get('score')!r} is not a number", clip_raw(r)))
                continue
            out.append(
                {
                    "item_key": str(qid),
                    "prompt": r.get("model_input"),
                    "reference": r.get("ground_truth"),
                    "item_meta": to_json({"question_id": qid}),
                    "protocol": "pointwise",
                    "judge": judge,
                    "template": "clear",
                    "model": generator,
                    "response": r.get("response"),
                    "score": score,
                    "scale_min": scale[0],
                    "scale_max": scale[1],
                    "critique": r.get("evaluation_text"),
                    "raw_output": r.get("evaluation_text"),
                    "judgment_key": f"{qid}\x1f{generator}\x1f{judge}",
                    "source": source,
                    "source_line": line,
                    "meta": to_json(
                        {
                            "evaluation_summary": r.get("evaluation_summary"),
                            "clear_issues": _issues(r.get("recurring_issues_str")) or None,
                        }
                    ),
                }
            )
        yield SourceBatch(
            source,
            recs.n_source_rows,
            judgments=flat_frame(out, JUDGMENT_SCHEMA),
            rejects=rejects,
            notes=notes + recs.notes,
        )
        notes = []
