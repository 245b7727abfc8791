"""PandaLM test set (WeOpenML/PandaLM): 999 pairs, three human annotators each, judges with reasons.

`testset-v1.jsonl` holds the pairs and the annotators (1 or 2 = better response, 0 = tie); each
`<judge>-testset-v1.jsonl` beside it holds one judge's `<prefix>_result`, `_reason`, `_reference` by `idx`.
`cmp_key` names the two models, response1's first ("bloom-7b_llama-7b").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from .batch import JUDGMENT_SCHEMA, LABEL_SCHEMA, Reject, SourceBatch, clip_raw, to_json
from .readers import flat_frame, read_jsonl, require, text_value

JUDGE_NAMES = {"gpt-3.5-turbo": "gpt-3.5-turbo", "pandalm-7b": "PandaLM-7B"}
RESULT = {"1": "a", "2": "b", "0": "tie", "tie": "tie"}


def detect(path: Path) -> bool:
    return path.is_dir() and (path / "testset-v1.jsonl").exists()


def _models(cmp_key) -> tuple[str | None, str | None]:
    if not isinstance(cmp_key, str) or "_" not in cmp_key:
        return None, None
    a, b = cmp_key.split("_", 1)
    return a, b


def _pair(r: dict, idx: Any) -> dict:
    """A pair of testset-v1.jsonl: the instruction (and input) as the prompt, the two models and their responses."""
    model_a, model_b = _models(r.get("cmp_key"))
    prompt = text_value(r.get("instruction")) or ""
    if r.get("input"):
        prompt = f"{prompt}\n\n{text_value(r['input'])}"
    return {
        "item_key": str(idx),
        "prompt": prompt,
        "category": r.get("motivation_app"),
        "item_meta": to_json({"idx": idx, "motivation_app": r.get("motivation_app"), "cmp_key": r.get("cmp_key")}),
        "model_a": model_a,
        "response_a": r.get("response1"),
        "model_b": model_b,
        "response_b": r.get("response2"),
    }


def _human_labels(r: dict, pair: dict, source: str, line: int) -> tuple[list[dict], list[Reject]]:
    """(each annotator's verdict on a pair, the annotator values that are not 0, 1 or 2)."""
    labels, rejects = [], []
    for ann in ("annotator1", "annotator2", "annotator3"):
        value = r.get(ann)
        if value is None:
            continue
        verdict = RESULT.get(str(value).strip().lower())
        if verdict is None:
            rejects.append(Reject(source, line, ann, f"annotator value {value!r} is not 0, 1 or 2"))
            continue
        labels.append(
            {
                **pair,
                "annotator": ann,
                "kind": "human",
                "verdict": verdict,
                "label_key": f"{pair['item_key']}\x1f{ann}",
                "source": source,
                "source_line": line,
            }
        )
    return labels, rejects


def _read_pairs(path: Path) -> tuple[dict[str, dict], SourceBatch]:
    """(the pairs of testset-v1.jsonl by idx, its batch: the human labels and the rows rejected)."""
    test = read_jsonl(path)
    pairs: dict[str, dict] = {}
    labels, rejects = [], list(test.rejects)
    for line, r in zip(test.lines, test.rows):
        idx = r.get("idx")
        if idx is None:
            rejects.append(Reject(test.source, line, "idx", "missing idx", clip_raw(r)))
            continue
        pair = _pair(r, idx)
        pairs[str(idx)] = pair
        row_labels, row_rejects = _human_labels(r, pair, test.source, line)
        labels += row_labels
        rejects += row_rejects
    batch = SourceBatch(
        test.source, test.n_source_rows, labels=flat_frame(labels, LABEL_SCHEMA), rejects=rejects, notes=test.notes
    )
    return pairs, batch


def _read_judge(f: Path, pairs: dict[str, dict]) -> SourceBatch:
    """One judge's file (<judge>-testset-v1.jsonl): its verdict and reason on each pair of testset-v1.jsonl."""
    name = f.name[: -len("-testset-v1.jsonl")]
    recs = read_jsonl(f)
    rows, rejects = [], list(recs.rejects)
    for line, r in zip(recs.lines, recs.rows):
        prefix = next((k[: -len("_result")] for k in r if k.endswith("_result")), None)
        idx = r.get("idx")
        if prefix is None or idx is None:
            rejects.append(
                Reject(
                    recs.source,
                    line,
                    "idx" if idx is None else None,
                    "expected idx and a <judge>_result field",
                    clip_raw(r),
                )
            )
            continue
        pair = pairs.get(str(idx))
        if pair is None:
            rejects.append(Reject(recs.source, line, "idx", f"no pair {idx} in testset-v1.jsonl"))
            continue
        result = r.get(f"{prefix}_result")
        verdict = RESULT.get(str(result).strip().lower()) if result is not None else None
        rows.append(
            {
                **pair,
                "protocol": "pairwise",
                "judge": JUDGE_NAMES.get(name, name),
                "shown_first": "a",
                "verdict": verdict,
                "critique": r.get(f"{prefix}_reason"),
                "raw_output": None if verdict else str(result),
                "parse_status": "ok" if verdict else ("unparsed" if result is not None else "missing"),
                "judgment_key": f"{idx}\x1f{name}",
                "source": recs.source,
                "source_line": line,
                "meta": to_json({"result": result, "judge_reference": r.get(f"{prefix}_reference")}),
            }
        )
    return SourceBatch(
        recs.source, recs.n_source_rows, judgments=flat_frame(rows, JUDGMENT_SCHEMA), rejects=rejects, notes=recs.notes
    )


def read(path: Path) -> list[SourceBatch]:
    require(path, "a PandaLM directory", "testset-v1.jsonl")
    pairs, labels = _read_pairs(path / "testset-v1.jsonl")
    judge_files = sorted(p for p in path.glob("*-testset-v1.jsonl"))
    if not judge_files:
        raise UserError(f"{path}: no judge files (<judge>-testset-v1.jsonl) beside testset-v1.jsonl")
    return [labels, *(_read_judge(f, pairs) for f in judge_files)]
