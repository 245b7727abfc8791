"""promptfoo result files: `promptfoo eval -o results.json` (and `promptfoo export`), or `-o results.jsonl`.

The JSON file is ``{"evalId", "results": {"version": 3, "prompts": [...], "results": [...]}, "config", ...}``;
each element of ``results.results`` (a line of the JSONL file) is one test case run with one prompt and one
provider: ``testIdx``, ``promptIdx``, ``vars``, ``prompt`` {raw, label}, ``provider`` {id, label},
``response`` {output, error}, ``success``, ``failureReason`` (0 none, 1 assertion, 2 error) and
``gradingResult`` {pass, score, reason, componentResults: one per assertion, each {pass, score, reason,
assertion {type, value, metric, provider, threshold, ...}, metadata}}.

Each assertion of each result is one pointwise judgment: criterion = the assertion's `metric`, else
``type: value`` for a short text value, else its type; judge = the assertion's grader (`provider`, else the
test's or defaultTest's `options.provider`) for model-graded assertions, else the assertion type (promptfoo's
default grader is not named in the file, and deterministic checks are their own judge); model = the provider
(its label when set); prompt = the rendered prompt; item = the test case (its description and vars), so every
prompt and provider is a response to the same item, and `--repeat n` (which copies each test case under new
test indices) gives sample = 0, 1, ... Score = the assertion's score (pass/fail alone -> 1/0), on 0-1 unless a
criterion's values need a wider usual scale. The reason is the critique when the grading model wrote it
(llm-rubric, g-eval, factuality, model-graded-closedqa, red-team graders ...); where promptfoo writes it
from a number or a choice (answer-relevance, context-*, select-best) or the check is deterministic (contains,
cost, latency, javascript ...) it is kept as raw output only. An assert-set's own aggregate is one more
judgment (criterion = its metric, else ``assert-set``); its children are judged once, where promptfoo lists
them.

``select-best`` compares the outputs of one test case: it becomes pairwise judgments, the selected output
against each other one (``template = select-best``). promptfoo does not record the order it listed the
outputs in for its grader (it is not the prompt or provider order), so ``shown_first`` stays unknown unless a
rendered grading prompt is in the file, where the response whose text comes first was shown first.

A result whose provider failed (no output) is rejected with the error; a result without assertions brings
its item and output only. Rejects carry line = the result's position in the file (1-based).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from ..errors import UserError
from .batch import JUDGMENT_SCHEMA, RESPONSE_SCHEMA, Reject, SourceBatch, clip_raw, to_json
from .readers import flat_frame, read_jsonl
from .values import guess_scale

KEYS = {"evalId", "results"}  # the top-level keys of a results.json
RESULT_KEYS = {"gradingResult", "promptIdx", "testIdx"}  # a line of a results.jsonl
# assertions whose reason is the grading model's own text (a critique)
CRITIQUE_TYPES = {
    "llm-rubric",
    "g-eval",
    "factuality",
    "model-graded-factuality",
    "model-graded-closedqa",
    "search-rubric",
    "trajectory:goal-success",
}
# assertions graded by a model whose reason promptfoo writes from a number ("Relevance 0.60 is less than ...")
SCORED_BY_MODEL = {
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "conversation-relevance",
    "moderation",
    "pi",
    "classifier",
    "select-best",
}
_CRITERION_VALUE_MAX = 120


def _base(kind: str | None) -> str:
    return (kind or "").removeprefix("not-")


def writes_critique(kind: str | None) -> bool:
    """Whether an assertion's reason is written by its grading model (red-team graders included)."""
    return _base(kind) in CRITIQUE_TYPES or _base(kind).startswith("promptfoo:redteam:")


def model_graded(kind: str | None) -> bool:
    return writes_critique(kind) or _base(kind) in SCORED_BY_MODEL


def _provider_name(p: Any) -> str | None:
    if isinstance(p, str):
        return p or None
    if isinstance(p, dict):
        return p.get("label") or p.get("id") or None
    return None


def _grader_name(p: Any) -> str | None:
    """A grading provider as written in an assertion or options: an id string or {id, label, config}."""
    if isinstance(p, str):
        return p or None
    if isinstance(p, dict):
        if isinstance(p.get("id"), str):
            return p.get("label") or p["id"]
        text = p.get("text") if isinstance(p.get("text"), (str, dict)) else None  # {text: ..., embedding: ...}
        return _grader_name(text)
    return None


def _dict(value: Any) -> dict:
    """A JSON object as it is; anything else as an empty one."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _criterion(assertion: dict) -> str:
    if assertion.get("metric"):
        return str(assertion["metric"])
    kind = str(assertion.get("type") or "assertion")
    value = assertion.get("value")
    if isinstance(value, str) and value.strip() and "\n" not in value.strip():
        v = value.strip()
        return f"{kind}: {v if len(v) <= _CRITERION_VALUE_MAX else v[:_CRITERION_VALUE_MAX] + '…'}"
    return kind


def _assert_set_of(component: dict, test_asserts: Any) -> dict:
    """The assert-set entry of a test whose children are this aggregate component's children."""
    kids = [
        ((c.get("assertion") or {}).get("type"), json.dumps((c.get("assertion") or {}).get("value"), sort_keys=True))
        for c in component.get("componentResults") or []
        if isinstance(c, dict)
    ]
    for a in test_asserts or []:
        if isinstance(a, dict) and a.get("type") == "assert-set":
            want = [
                (x.get("type"), json.dumps(x.get("value"), sort_keys=True))
                for x in a.get("assert") or []
                if isinstance(x, dict)
            ]
            if want == kids:
                return {k: v for k, v in a.items() if k != "assert"}
    return {"type": "assert-set"}


def _score(component: dict) -> tuple[float | None, bool | None]:
    passed = component.get("pass")
    passed = bool(passed) if isinstance(passed, bool) else None
    s = component.get("score")
    if isinstance(s, bool):
        s = float(s)
    if isinstance(s, (int, float)):
        return float(s), passed
    if isinstance(s, str):
        try:
            return float(s), passed
        except ValueError:
            pass
    if passed is not None:
        return (1.0 if passed else 0.0), passed
    return None, None


def _load(path: Path) -> tuple[dict, list[tuple[int, Any]], list[Reject], int, list[str]]:
    """(top-level object, [(line, result)], rejects, n_source_rows, notes)."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        recs = read_jsonl(path)
        return {}, list(zip(recs.lines, recs.rows)), list(recs.rejects), recs.n_source_rows, list(recs.notes)
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable promptfoo results file ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a promptfoo results object, got {type(data).__name__}")
    body = data.get("results")
    results = body.get("results") if isinstance(body, dict) else body
    if not isinstance(results, list):
        raise UserError(f"{path}: no results list (expected results.results)")
    return data, list(enumerate(results, start=1)), [], len(results), []


class _Run(NamedTuple):
    """What every result of one eval shares: the eval's id, its default grader and the promptfoo version."""

    eval_id: str
    default_grader: str | None
    version: Any


def _run_of(data: dict, path: Path) -> _Run:
    """The eval's id (else the file's name), its defaultTest grader and the promptfoo version that wrote it."""
    eval_id = str(data.get("evalId") or data.get("id") or path.stem)
    config = _dict(data.get("config"))
    default_test = _dict(config.get("defaultTest"))
    default_grader = _grader_name((default_test.get("options") or {}).get("provider"))
    version = data.get("metadata", {}).get("promptfooVersion") if isinstance(data.get("metadata"), dict) else None
    return _Run(eval_id, default_grader, version)


def _provider_failure(r: dict, response: dict, model: str, output: str | None, source: str, line: int) -> Reject | None:
    """The reject of a result whose provider failed (no output, with an error), else None."""
    error = response.get("error") or (r.get("error") if r.get("failureReason") == 2 else None)
    if output is None and (error or r.get("failureReason") == 2):
        return Reject(
            source,
            line,
            "response",
            f"provider {model} failed: {error or 'no output'}",
            clip_raw({k: r.get(k) for k in ("id", "testIdx", "promptIdx", "provider", "error")}),
        )
    return None


def _item(r: dict, test: dict, source: str, line: int) -> tuple[dict, str]:
    """(the item a result answers: its test case's description and vars; the test case as a key for repeats)."""
    vars_ = r.get("vars") if isinstance(r.get("vars"), dict) else (test.get("vars") or {})
    raw_prompt = r.get("prompt")
    prompt = raw_prompt if isinstance(raw_prompt, dict) else {"raw": raw_prompt}
    vars_text = json.dumps(vars_, sort_keys=True, ensure_ascii=False, default=str)
    description = test.get("description") if isinstance(test.get("description"), str) else None
    case = json.dumps([description, vars_, test.get("assert")], sort_keys=True, default=str)
    item = {
        "item_key": f"{description or ''}\x1f{vars_text}",
        "prompt": _text(prompt.get("raw")),
        "category": description,
        "item_meta": to_json(
            {
                "test_idx": r.get("testIdx"),
                "description": test.get("description"),
                "vars": vars_ if len(vars_text) <= 2000 else None,
            }
        ),
        "source": source,
        "source_line": line,
    }
    return item, case


def _judgment_meta(r: dict, assertion: dict, passed: bool | None, grader: str | None, graded: bool, run: _Run) -> dict:
    """What a judgment keeps of its assertion and its result beside the score: pass, threshold, prompt, eval."""
    raw_prompt = r.get("prompt")
    prompt = raw_prompt if isinstance(raw_prompt, dict) else {"raw": raw_prompt}
    return {
        "pass": passed,
        "assertion_value": assertion.get("value")
        if not isinstance(assertion.get("value"), str) or len(assertion["value"]) <= 2000
        else assertion["value"][:2000],
        "threshold": assertion.get("threshold"),
        "weight": assertion.get("weight"),
        "grader": None if grader or not graded else "promptfoo default grader (not recorded in the file)",
        "deterministic": None if graded else True,
        "prompt_label": prompt.get("label"),
        "prompt_idx": r.get("promptIdx"),
        "provider_id": (r.get("provider") or {}).get("id")
        if isinstance(r.get("provider"), dict)
        else r.get("provider"),
        "eval_id": run.eval_id,
        "result_id": r.get("id"),
        "test_success": r.get("success"),
        "named_scores": r.get("namedScores") or None,
        "latency_ms": r.get("latencyMs"),
        "promptfoo_version": run.version,
    }


def _judgments(
    r: dict, test: dict, components: list[dict], item: dict, model: str, output: str | None, sample: int, run: _Run
) -> Iterator[tuple[dict, dict]]:
    """(assertion, judgment) for each assertion graded on one output, in promptfoo's order."""
    test_grader = _grader_name((test.get("options") or {}).get("provider")) or run.default_grader
    rid = r.get("id") or f"{r.get('testIdx')}/{r.get('promptIdx')}/{model}"
    for k, c in enumerate(components):
        assertion = c.get("assertion") if isinstance(c.get("assertion"), dict) else None
        if assertion is None and c.get("componentResults"):
            assertion = _assert_set_of(c, test.get("assert"))
        assertion = assertion or {"type": "assertion"}
        kind = str(assertion.get("type") or "assertion")
        graded = model_graded(kind)
        grader = (_grader_name(assertion.get("provider")) or test_grader) if graded else None
        score, passed = _score(c)
        reason = c.get("reason") if isinstance(c.get("reason"), str) else None
        cmeta = _dict(c.get("metadata"))
        yield (
            assertion,
            {
                **item,
                "judge": grader or kind,
                "criterion": _criterion(assertion),
                "template": kind,
                "model": model,
                "response": output,
                "score": score,
                "critique": reason if writes_critique(kind) and reason else None,
                "raw_output": reason,
                "parse_status": "ok" if score is not None else "unparsed",
                "sample": sample,
                "judgment_key": "\x1f".join(str(x) for x in (run.eval_id, rid, k)),
                "meta": _judgment_meta(r, assertion, passed, grader, graded, run),
                "_rendered": cmeta.get("renderedGradingPrompt"),
            },
        )


def _set_scales(pointwise: list[dict], notes: list[str], name: str) -> None:
    """Put each pointwise judgment on 0-1 unless its criterion's scores need a wider usual scale (then guessed)."""
    scale: dict[str, tuple[float, float]] = {}
    lo: float | None
    hi: float | None
    for crit in {e["criterion"] for e in pointwise}:
        values = pl.Series([e["score"] for e in pointwise if e["criterion"] == crit], dtype=pl.Float64)
        scale[crit] = guess_scale(values) or (0.0, 1.0)
        if scale[crit] != (0.0, 1.0):
            notes.append(f"{name}: {crit!r} scores need the scale {scale[crit][0]:g}-{scale[crit][1]:g} (guessed)")
    for e in pointwise:
        lo, hi = scale[e["criterion"]]
        if not (lo <= (e["score"] if e["score"] is not None else lo) <= hi):
            lo, hi = None, None
        e["scale_min"], e["scale_max"] = lo, hi
        if (lo, hi) != (0.0, 1.0):
            e["meta"]["scale_guessed"] = True
        e["meta"] = to_json(e["meta"])


def read(path: Path) -> list[SourceBatch]:
    data, results, rejects, n_rows, notes = _load(path)
    source = str(path)
    run = _run_of(data, path)
    pointwise: list[dict] = []
    outputs: list[dict] = []
    best: dict[tuple, list[dict]] = {}  # (testIdx, assertion index) -> select-best entries of each output
    repeats: dict[tuple, int] = {}  # (test case, prompt, provider) -> results seen: `--repeat n` copies a test
    for line, r in results:
        if not isinstance(r, dict):
            rejects.append(Reject(source, line, None, "result is not a JSON object", clip_raw(r)))
            continue
        test = _dict(r.get("testCase"))
        model = _provider_name(r.get("provider")) or "unknown-provider"
        response = _dict(r.get("response"))
        output = _text(response.get("output"))
        failure = _provider_failure(r, response, model, output, source, line)
        if failure is not None:
            rejects.append(failure)
            continue
        item, case = _item(r, test, source, line)
        sample = repeats.get((case, r.get("promptIdx"), model), 0)
        repeats[(case, r.get("promptIdx"), model)] = sample + 1
        grading = _dict(r.get("gradingResult"))
        components = [c for c in grading.get("componentResults") or [] if isinstance(c, dict)]
        if not components:
            outputs.append({**item, "model": model, "response": output})
            continue
        for k, (assertion, entry) in enumerate(_judgments(r, test, components, item, model, output, sample, run)):
            if entry["template"] == "select-best":
                key = (r.get("testIdx"), k, json.dumps(assertion.get("value"), default=str))
                best.setdefault(key, []).append(entry)
            else:
                entry.pop("_rendered")
                entry["protocol"] = "pointwise"
                pointwise.append(entry)
    _set_scales(pointwise, notes, path.name)
    pairwise = _select_best_pairs(best, notes, path.name)
    rows = pointwise + pairwise
    return [
        SourceBatch(
            source,
            n_rows,
            judgments=flat_frame(rows, JUDGMENT_SCHEMA),
            responses=flat_frame(outputs, RESPONSE_SCHEMA),
            rejects=rejects,
            notes=notes,
        )
    ]


def _select_best_pairs(groups: dict[tuple, list[dict]], notes: list[str], name: str) -> list[dict]:
    """One pairwise judgment per (selected output, other output) of each select-best assertion of a test case."""
    rows = []
    for entries in groups.values():
        winners = [e for e in entries if e["meta"].get("pass")]
        if len(entries) < 2:
            continue
        if len(winners) != 1:
            notes.append(
                f"{name}: a select-best on test {entries[0]['item_meta']} has {len(winners)} selected outputs "
                f"among {len(entries)}; kept as pairs without a verdict"
            )
        winner = winners[0] if len(winners) == 1 else None
        rendered = next((e["_rendered"] for e in entries if isinstance(e.get("_rendered"), str)), None)
        anchor = winner or entries[0]
        for other in entries:
            if other is anchor:
                continue
            a, b = sorted((anchor, other), key=lambda e: e["source_line"])
            shown_first = None
            if rendered and a["response"] and b["response"]:
                ia, ib = rendered.find(a["response"]), rendered.find(b["response"])
                if ia >= 0 and ib >= 0 and ia != ib:
                    shown_first = "a" if ia < ib else "b"
            verdict = None if winner is None else ("a" if winner is a else "b")
            reason = (winner or anchor)["raw_output"]
            critique = reason if writes_critique("select-best") else None  # promptfoo's text, not the grader's
            rows.append(
                {
                    "item_key": a["item_key"],
                    "prompt": a["prompt"],
                    "category": a["category"],
                    "item_meta": a["item_meta"],
                    "protocol": "pairwise",
                    "judge": a["judge"],
                    "criterion": a["criterion"],
                    "template": "select-best",
                    "model_a": a["model"],
                    "response_a": a["response"],
                    "model_b": b["model"],
                    "response_b": b["response"],
                    "sample": a["sample"],
                    "shown_first": shown_first,
                    "verdict": verdict,
                    "critique": critique,
                    "raw_output": reason,
                    "parse_status": "ok" if verdict else "unparsed",
                    "judgment_key": a["judgment_key"] + "\x1fvs\x1f" + b["judgment_key"],
                    "source": a["source"],
                    "source_line": a["source_line"],
                    "meta": to_json(
                        {
                            "reason_a": a["raw_output"],
                            "reason_b": b["raw_output"],
                            "prompt_label_a": a["meta"].get("prompt_label"),
                            "prompt_label_b": b["meta"].get("prompt_label"),
                            "line_b": b["source_line"],
                            "n_outputs": len(entries),
                            "eval_id": a["meta"].get("eval_id"),
                            "grader": a["meta"].get("grader"),
                        }
                    ),
                }
            )
    return rows
