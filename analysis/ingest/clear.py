"""IBM CLEAR results: a zip with results.parquet or results.csv plus metadata.json.

Columns: question_id, model_input, response, score, evaluation_text, evaluation_summary,
recurring_issues_str, ground_truth. metadata.json names the generator and judge models. The issue
labels CLEAR found are kept per judgment (meta.clear_issues) so a user keeps them.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import polars as pl

from ..errors import UserError
from .batch import Reject, SourceBatch, clip_raw, to_json
from .readers import read_csv
from .values import guess_scale


def detect(path: Path) -> bool:
    if path.suffix.lower() != ".zip" or not zipfile.is_zipfile(path):
        return False
    names = {Path(n).name for n in zipfile.ZipFile(path).namelist()}
    return "metadata.json" in names and bool(names & {"results.parquet", "results.csv"})


def _find(zf: zipfile.ZipFile, name: str) -> str | None:
    return next((n for n in zf.namelist() if Path(n).name == name), None)


def _issues(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return [str(v) for v in json.loads(text)]
        except json.JSONDecodeError:
            pass
    return [p.strip() for p in text.replace("\n", ";").split(";") if p.strip()]


def read(path: Path) -> list[SourceBatch]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UserError(f"{path}: not a readable zip file") from None
    meta_name = _find(zf, "metadata.json")
    meta = json.loads(zf.read(meta_name)) if meta_name else {}
    generator = meta.get("gen_model_name") or meta.get("generator_model") or meta.get("gen_model") or "unknown-model"
    judge = meta.get("eval_model_name") or meta.get("judge_model") or meta.get("eval_model") or "unknown-judge"
    source = f"{path}!"
    pq = _find(zf, "results.parquet")
    if pq:
        frame = pl.read_parquet(io.BytesIO(zf.read(pq)))
        frame = frame.with_row_index("_line", offset=1)
        rows, lines, n = frame.to_dicts(), frame["_line"].to_list(), frame.height
        source += pq
        rejects: list[Reject] = []
    else:
        name = _find(zf, "results.csv")
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "results.csv"
            p.write_bytes(zf.read(name))
            recs = read_csv(p)
        rows, lines, n = recs.rows, recs.lines, recs.n_source_rows
        source += name
        rejects = [Reject(source, r.line, r.column, r.reason, r.raw) for r in recs.rejects]
    scores = pl.Series([r.get("score") for r in rows], strict=False).cast(pl.Float64, strict=False)
    scale = guess_scale(scores) or (0.0, 1.0)
    out = []
    for line, r in zip(lines, rows):
        qid = r.get("question_id")
        if qid is None:
            rejects.append(Reject(source, line, "question_id", "missing question_id", clip_raw(r)))
            continue
        try:
            score = float(r["score"]) if r.get("score") not in (None, "") else None
        except (TypeError, ValueError):
            rejects.append(Reject(source, line, "score", f"score {r.get('score')!r} is not a number", clip_raw(r)))
            continue
        out.append({
            "item_key": str(qid), "prompt": r.get("model_input"), "reference": r.get("ground_truth"),
            "item_meta": to_json({"question_id": qid}),
            "protocol": "pointwise", "judge": str(judge), "template": "clear", "model": str(generator),
            "response": r.get("response"), "score": score, "scale_min": scale[0], "scale_max": scale[1],
            "critique": r.get("evaluation_text"), "raw_output": r.get("evaluation_text"),
            "judgment_key": f"{qid}\x1f{generator}\x1f{judge}", "source": source, "source_line": line,
            "meta": to_json({"evaluation_summary": r.get("evaluation_summary"),
                             "clear_issues": _issues(r.get("recurring_issues_str")) or None}),
        })
    return [SourceBatch(source, n, judgments=pl.DataFrame(out, infer_schema_length=None) if out else None,
                        rejects=rejects, notes=[f"{path.name}: generator {generator}, judge {judge}, scale "
                                                f"{scale[0]:g}–{scale[1]:g}"])]
