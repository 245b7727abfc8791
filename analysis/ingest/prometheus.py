"""Prometheus rubric grading (prometheus-eval): a per-instance rubric with 1-5 level descriptions and
three sampled GPT-4 feedbacks and scores per response.

Fields: idx, response_source, category, instruction (the full judge prompt), gpt4_score [3],
gpt4_feedback [3], and, when present, parsed_instruction, parsed_response, parsed_reference_answer,
parsed_rubric (otherwise they are parsed out of `instruction`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from .batch import JUDGMENT_SCHEMA, Reject, SourceBatch, clip_raw, to_json
from .jsonscan import loads_or
from .readers import flat_frame, read_records, text_value

KEYS = {"idx", "response_source", "gpt4_score", "gpt4_feedback"}
_LEVEL = re.compile(r"^Score\s+(\d)\s*:\s*(.*)$")
_SECTIONS = {
    "parsed_instruction": ("###The instruction to evaluate:", "###Response to evaluate:"),
    "parsed_response": ("###Response to evaluate:", "###Reference Answer (Score 5):"),
    "parsed_reference_answer": ("###Reference Answer (Score 5):", "###Score Rubrics:"),
    "parsed_rubric": ("###Score Rubrics:", "###Feedback:"),
}


def parse_rubric(text: str | None) -> tuple[str | None, dict[str, str]]:
    """'[criterion?]\\nScore 1: ...\\nScore 5: ...' -> (criterion, {"1": description, ...})."""
    if not text:
        return None, {}
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    criterion = None
    levels: dict[str, str] = {}
    for ln in lines:
        m = _LEVEL.match(ln)
        if m:
            levels[m.group(1)] = m.group(2).strip()
        elif criterion is None:
            criterion = ln.strip().strip("[]").strip()
    return criterion, levels


def _section(instruction: str, start: str, end: str) -> str | None:
    i = instruction.find(start)
    if i < 0:
        return None
    j = instruction.find(end, i + len(start))
    return instruction[i + len(start) : j if j >= 0 else None].strip()


def _listed(value) -> list | None:
    """A list field, given as a list or as JSON text of one; None for anything else."""
    value = loads_or(value, None) if isinstance(value, str) else value
    return value if isinstance(value, list) else None


def read(path: Path) -> list[SourceBatch]:
    recs = read_records(path)
    dataset_part = path.stem
    rows, criteria, rejects = [], {}, list(recs.rejects)
    for line, r in zip(recs.lines, recs.rows):
        fields = {k: text_value(r.get(k)) for k in _SECTIONS}
        if any(v is None for v in fields.values()) and isinstance(r.get("instruction"), str):
            for k, (start, end) in _SECTIONS.items():
                fields[k] = fields[k] or _section(r["instruction"], start, end)
        scores, feedbacks = _listed(r.get("gpt4_score")), _listed(r.get("gpt4_feedback"))
        if r.get("idx") is None or scores is None or feedbacks is None:
            rejects.append(
                Reject(
                    recs.source, line, "gpt4_score", "expected idx, gpt4_score [..] and gpt4_feedback [..]", clip_raw(r)
                )
            )
            continue
        if not feedbacks:
            rejects.append(Reject(recs.source, line, "gpt4_feedback", "gpt4_feedback is an empty list", clip_raw(r)))
            continue
        criterion, levels = parse_rubric(fields["parsed_rubric"])
        if criterion and criterion not in criteria:
            criteria[criterion] = {
                "criterion": criterion,
                "description": fields["parsed_rubric"],
                "scale_min": 1.0,
                "scale_max": 5.0,
                "levels": json.dumps(levels, ensure_ascii=False),
            }
        model = str(r.get("response_source"))
        for sample, (score, feedback) in enumerate(zip(scores + [None] * (len(feedbacks) - len(scores)), feedbacks)):
            try:
                value = float(score) if score is not None else None
            except (TypeError, ValueError):
                value = None
            ok = value is not None and 1 <= value <= 5
            rows.append(
                {
                    "item_key": f"{dataset_part}/{r['idx']}",
                    "prompt": fields["parsed_instruction"],
                    "reference": fields["parsed_reference_answer"],
                    "category": r.get("category"),
                    "item_meta": to_json({"idx": r["idx"], "source_file": dataset_part, "category": r.get("category")}),
                    "protocol": "pointwise",
                    "judge": "gpt-4",
                    "template": "prometheus",
                    "criterion": criterion,
                    "model": model,
                    "response": fields["parsed_response"],
                    "score": value if ok else None,
                    "scale_min": 1.0,
                    "scale_max": 5.0,
                    "critique": feedback,
                    "raw_output": feedback,
                    "parse_status": "ok" if ok else ("unparsed" if feedback else "missing"),
                    "sample": sample,
                    "judgment_key": f"{dataset_part}\x1f{r['idx']}\x1f{model}\x1f{sample}",
                    "source": recs.source,
                    "source_line": line,
                    "meta": to_json({"raw_score": score} if not ok else None),
                }
            )
    return [
        SourceBatch(
            recs.source,
            recs.n_source_rows,
            judgments=flat_frame(rows, JUDGMENT_SCHEMA),
            criteria=pl.DataFrame(list(criteria.values())) if criteria else None,
            rejects=rejects,
            notes=recs.notes,
        )
    ]
