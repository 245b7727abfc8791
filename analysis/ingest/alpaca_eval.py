"""AlpacaEval annotations: instruction, output_1, generator_1, output_2, generator_2, annotator,
preference (1 or 2, 1.5 for a tie), raw_completion, referenced_models ({"m": name shown first, "M": ...})."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from .batch import Reject, SourceBatch, clip_raw, to_json
from .readers import read_records

KEYS = {"instruction", "output_1", "output_2", "preference"}


def _obj(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _verdict(pref: Any) -> str | None:
    try:
        p = float(pref)
    except (TypeError, ValueError):
        return None
    if p == 1:
        return "a"
    if p == 2:
        return "b"
    if p == 1.5:
        return "tie"
    return None


def read(path: Path) -> list[SourceBatch]:
    recs = read_records(path)
    rows, rejects = [], list(recs.rejects)
    for line, r in zip(recs.lines, recs.rows):
        if r.get("instruction") is None or r.get("output_1") is None or r.get("output_2") is None:
            rejects.append(Reject(recs.source, line, "instruction", "expected instruction, output_1 and output_2", clip_raw(r)))
            continue
        g1, g2 = r.get("generator_1"), r.get("generator_2")
        refs = _obj(r.get("referenced_models"))
        shown_first = None
        if isinstance(refs, dict) and refs.get("m") is not None:
            shown_first = "a" if refs["m"] == g1 else "b" if refs["m"] == g2 else None
        raw = _obj(r.get("raw_completion"))
        critique = None
        if isinstance(raw, dict):
            critique = raw.get("concise_explanation") or raw.get("explanation")
        elif isinstance(raw, str):
            critique = raw
        pref = r.get("preference")
        verdict = _verdict(pref)
        annotator = str(r.get("annotator") or "unknown-judge")
        rows.append({
            "item_key": r.get("dataset", "") + "\x1f" + r["instruction"] if r.get("dataset") else r["instruction"],
            "prompt": r["instruction"], "category": r.get("dataset"),
            "item_meta": to_json({"dataset": r.get("dataset")}),
            "protocol": "pairwise", "judge": annotator, "template": annotator,
            "model_a": g1, "response_a": r["output_1"], "model_b": g2, "response_b": r["output_2"],
            "shown_first": shown_first, "verdict": verdict, "critique": critique,
            "raw_output": raw if isinstance(raw, str) else (json.dumps(raw, ensure_ascii=False) if raw else None),
            "parse_status": "ok" if verdict else ("unparsed" if pref is not None or raw else "missing"),
            "judgment_key": "\x1f".join(str(x) for x in (r["instruction"], g1, g2, annotator, r.get("output_1"),
                                                         r.get("output_2"))),
            "source": recs.source, "source_line": line,
            "meta": to_json({"preference": pref, "referenced_models": refs if isinstance(refs, dict) else None,
                             "price_per_example": r.get("price_per_example"), "time_per_example": r.get("time_per_example")}),
        })
    return [SourceBatch(recs.source, recs.n_source_rows,
                        judgments=pl.DataFrame(rows, infer_schema_length=None) if rows else None,
                        rejects=rejects, notes=recs.notes)]
