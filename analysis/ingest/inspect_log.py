"""Inspect AI eval logs: `.json` (one JSON object) and `.eval` (a zip of JSON members).

A log holds one task run against one model: `eval` (task, model, model_roles, scorers with their options,
config.epochs), and per sample and epoch the `input`, `target`, `output`, `messages` and `scores`
({scorer: {value, answer, explanation, metadata}}), plus `events` (the transcript, where a scorer's own model
calls sit in its span). In a `.eval` the header is `header.json` (or `_journal/start.json` while a run is
still going) and the samples are `samples/<id>_epoch_<n>.json`; recent versions compress the members with
zstd (method 93), older ones with deflate.

Each (sample, epoch, scorer) is one pointwise judgment: criterion and template = the scorer's name (a dict
value gives one judgment per key, criterion ``scorer/key``); judge = the scorer's model (model calls inside
its span, else its `model` option, else the eval's `grader` role), or the scorer's name when it calls no
model; sample = the epoch; model = the eval's model; prompt = the input, reference = the target, item =
``task/sample id``. Values: C / P / I / N (Inspect's correct, partial, incorrect, no answer) -> 1 / 0.5 / 0 /
0 on 0-1; booleans and yes/no -> 1 / 0; numbers on a scale guessed from the scorer's values in the log
(`meta.scale_guessed`); anything else is kept in `meta.value` with parse_status `unparsed`. The explanation is
the critique unless it only repeats the extracted answer or the output (as `match` and `choice` do); it is the
raw output either way. A sample without scores brings its item and output only (judge it later); one that
errored without scores is rejected with its error. Rejects and judgments carry line = the sample's position
in the log (1-based; `.eval` members ordered by sample id and epoch).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from ..errors import UserError
from .batch import JUDGMENT_SCHEMA, RESPONSE_SCHEMA, Reject, SourceBatch, clip_raw, to_json
from .readers import flat_frame
from .values import guess_scale

_MEMBER = re.compile(r"^samples/(.+)_epoch_(\d+)\.json$")
_LETTERS = {"C": 1.0, "P": 0.5, "I": 0.0, "N": 0.0}
_WORDS = {"yes": 1.0, "true": 1.0, "correct": 1.0, "no": 0.0, "false": 0.0, "incorrect": 0.0}
ZSTD = 93  # zip compression method of zstandard members


KEYS = {"version", "status", "eval"}  # the top-level keys of a .json log


def detect(path: Path) -> bool:
    """An Inspect .eval: a zip with header.json or (while a run goes on) _journal/start.json."""
    try:
        if path.suffix.lower() != ".eval" or not zipfile.is_zipfile(path):
            return False
        names = set(zipfile.ZipFile(path).namelist())
    except OSError:
        return False
    return "header.json" in names or "_journal/start.json" in names


_TASK = re.compile(r'"task"\s*:\s*"((?:[^"\\]|\\.)*)"')


def dataset_name(path: Path) -> str:
    """The default dataset name: the log's task (a directory's name for a directory of logs)."""
    if path.is_dir():
        return path.name
    try:
        if path.suffix.lower() == ".eval":
            with zipfile.ZipFile(path) as zf:
                infos = {i.filename: i for i in zf.infolist()}
                name = "header.json" if "header.json" in infos else "_journal/start.json"
                task = (json.loads(_member(zf, infos[name])).get("eval") or {}).get("task")
        else:
            with open(path, "rb") as fh:
                m = _TASK.search(fh.read(65536).decode("utf-8", errors="replace"))
            task = json.loads(f'"{m.group(1)}"') if m else None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, UserError):
        task = None
    return str(task) if task else path.stem


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes; zstd members (Python < 3.14 cannot) are decompressed here."""
    if info.compress_type != ZSTD:
        return zf.read(info)
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is a dependency
        raise UserError(f"{zf.filename}: zstd-compressed log; install the 'zstandard' package") from None
    fh = zf.fp
    assert fh is not None  # the archive is open: callers read its members inside `with`
    fh.seek(info.header_offset)
    head = fh.read(30)
    start = info.header_offset + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
    fh.seek(start)
    raw = fh.read(info.compress_size)
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True) as r:
        return r.read()


def _read_eval(path: Path) -> tuple[dict, list[tuple[str, Any]], list[str]]:
    """(header, [(where, sample dict or error text)], notes) of a .eval zip."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UserError(f"{path}: not a readable .eval (zip) file") from None
    with zf:
        infos = {i.filename: i for i in zf.infolist()}
        head_name = "header.json" if "header.json" in infos else "_journal/start.json"
        if head_name not in infos:
            raise UserError(f"{path}: an .eval without header.json or _journal/start.json")
        header = json.loads(_member(zf, infos[head_name]))
        notes = (
            []
            if head_name == "header.json"
            else [f"{path.name}: no header.json (the run had not finished); read _journal/start.json"]
        )
        order = {
            str(s): i for i, s in enumerate(((header.get("eval") or {}).get("dataset") or {}).get("sample_ids") or [])
        }

        def sort_key(name: str):
            m = _MEMBER.match(name)
            assert m is not None  # only the names _MEMBER matches are sorted
            sid, epoch = m.group(1), int(m.group(2))
            natural = (0, int(sid), "") if sid.isdigit() else (1, 0, sid)
            return (order.get(sid, len(order)), natural, epoch)

        samples: list[tuple[str, Any]] = []
        for name in sorted((n for n in infos if _MEMBER.match(n)), key=sort_key):
            try:
                samples.append((name, json.loads(_member(zf, infos[name]))))
            except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
                samples.append((name, f"unreadable sample member: {exc}"))
    return header, samples, notes


def _read_json(path: Path) -> tuple[dict, list[tuple[str, Any]], list[str]]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable Inspect JSON log ({exc})") from None
    if not isinstance(data, dict) or "eval" not in data:
        raise UserError(f"{path}: not an Inspect log (no 'eval' object)")
    samples = data.pop("samples", None) or []
    return data, [(f"samples[{i}]", s) for i, s in enumerate(samples)], []


# ---- values -------------------------------------------------------------------------------------------------
def _resolver(attachments: dict[str, str]):
    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("attachment://"):
                return attachments.get(value[len("attachment://") :], value)
            return value
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    return resolve


def _content_text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict):
                if p.get("type") == "text" or "text" in p:
                    parts.append(str(p.get("text") or ""))
                elif p.get("type") == "reasoning":
                    continue
                else:
                    parts.append(f"[{p.get('type', 'content')}]")
            elif isinstance(p, str):
                parts.append(p)
        return "\n".join(x for x in parts if x)
    return json.dumps(content, ensure_ascii=False, default=str)


def _prompt(value: Any) -> str | None:
    """A sample's input: a string, or chat messages rendered as 'role: text' when there is more than a user turn."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        msgs = [m for m in value if isinstance(m, dict)]
        if len(msgs) == 1 and msgs[0].get("role", "user") == "user":
            return _content_text(msgs[0].get("content"))
        return "\n\n".join(f"{m.get('role', 'user')}: {_content_text(m.get('content')) or ''}" for m in msgs)
    return json.dumps(value, ensure_ascii=False, default=str)


def _target(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _completion(sample: dict) -> str | None:
    out = sample.get("output") or {}
    if isinstance(out, dict):
        if out.get("completion"):
            return out["completion"]
        for choice in out.get("choices") or []:
            text = _content_text(((choice or {}).get("message") or {}).get("content"))
            if text:
                return text
    for m in reversed(sample.get("messages") or []):
        if isinstance(m, dict) and m.get("role") == "assistant":
            text = _content_text(m.get("content"))
            if text:
                return text
    return None


def score_value(value: Any) -> tuple[float | None, str | None]:
    """(score, kind) of one Inspect score value: kind 'grade' (0-1 by definition), 'number' (scale to guess),
    or None when the value has no numeric reading."""
    if isinstance(value, bool):
        return (1.0 if value else 0.0), "grade"
    if isinstance(value, (int, float)):
        return float(value), "number"
    if isinstance(value, str):
        text = value.strip()
        if text.upper() in _LETTERS and len(text) == 1:
            return _LETTERS[text.upper()], "grade"
        if text.lower() in _WORDS:
            return _WORDS[text.lower()], "grade"
        try:
            return float(text), "number"
        except ValueError:
            return None, None
    return None, None


def _grader_models(events: list) -> dict[str, list[str]]:
    """scorer name -> models called inside its span (span_begin/end events, or the older step events)."""
    spans: dict[str, tuple[str | None, str | None, str | None]] = {}  # id -> (parent, type, name)
    out: dict[str, list[str]] = {}
    step_stack: list[str] = []

    def scorer_of(span_id: str | None) -> str | None:
        seen = set()
        while span_id and span_id in spans and span_id not in seen:
            seen.add(span_id)
            parent, kind, name = spans[span_id]
            if kind == "scorer":
                return name
            span_id = parent
        return None

    for e in events or []:
        if not isinstance(e, dict):
            continue
        kind = e.get("event")
        if kind == "span_begin" and e.get("id"):
            spans[e["id"]] = (e.get("parent_id"), e.get("type"), e.get("name"))
        elif kind == "step" and e.get("type") == "scorer":
            if e.get("action") == "begin":
                step_stack.append(str(e.get("name")))
            elif step_stack:
                step_stack.pop()
        elif kind == "model" and e.get("model"):
            scorer = scorer_of(e.get("span_id")) or (step_stack[-1] if step_stack else None)
            if scorer:
                models = out.setdefault(scorer, [])
                if e["model"] not in models:
                    models.append(e["model"])
    return out


def _option_model(options: Any) -> str | None:
    if not isinstance(options, dict):
        return None
    m = options.get("model")
    if isinstance(m, str) and m:
        return m
    if isinstance(m, list) and m and all(isinstance(x, str) for x in m):
        return m[0]
    return None


def _role_model(roles: Any, name: str = "grader") -> str | None:
    role = (roles or {}).get(name) if isinstance(roles, dict) else None
    if isinstance(role, str):
        return role
    if isinstance(role, dict):
        return role.get("model")
    return None


def _scalar_meta(meta: Any, limit: int = 300) -> dict | None:
    """Scalar and short entries of a metadata dict (long transcripts are left out)."""
    if not isinstance(meta, dict):
        return None
    out: dict = {}
    for k, v in meta.items():
        if isinstance(v, (bool, int, float)) or (isinstance(v, str) and len(v) <= limit):
            out[k] = v
        elif isinstance(v, (list, dict)):
            text = json.dumps(v, ensure_ascii=False, default=str)
            if len(text) <= limit:
                out[k] = v
    return out or None


def _grading_reply(meta: Any) -> tuple[str | None, str | None]:
    """(last assistant text, its model) of a model-graded scorer's `metadata.grading` transcript."""
    grading = meta.get("grading") if isinstance(meta, dict) else None
    if isinstance(grading, list):
        for m in reversed(grading):
            if isinstance(m, dict) and m.get("role") == "assistant":
                return _content_text(m.get("content")), m.get("model")
    return None, None


# ---- reading ------------------------------------------------------------------------------------------------
class _Eval(NamedTuple):
    """What every sample of one log shares: the task, the model evaluated and how the scorers were graded."""

    task: str
    model: Any
    eval_id: Any
    eval_key: str
    scorer_opts: dict
    role_grader: str | None


class _Sample(NamedTuple):
    """What every judgment of one sample repeats: its item, id, epoch, output and error."""

    item: dict
    sid: Any
    epoch: Any
    completion: str | None
    error_text: str | None
    output_model: Any


def _eval_of(header: dict, path: Path) -> _Eval:
    """The log's task (else the file's name), model, run key, each scorer's options and the grader role's model."""
    ev = header.get("eval") or {}
    return _Eval(
        task=str(ev.get("task") or path.stem),
        model=ev.get("model"),
        eval_id=ev.get("eval_id"),
        eval_key=ev.get("eval_id") or "/".join(str(x) for x in (ev.get("run_id"), ev.get("task_id")) if x) or path.stem,
        scorer_opts={s.get("name"): s.get("options") for s in ev.get("scorers") or [] if isinstance(s, dict)},
        role_grader=_role_model(ev.get("model_roles")),
    )


def _sample_item(s: dict, task: str, sid: Any, source: str, line: int) -> dict:
    """The item a sample is about: task/sample id, its input as the prompt and its target as the reference."""
    return {
        "item_key": f"{task}/{sid}",
        "prompt": _prompt(s.get("input")),
        "reference": _target(s.get("target")),
        "item_meta": to_json({"task": task, "sample_id": sid, **(_scalar_meta(s.get("metadata")) or {})}),
        "source": source,
        "source_line": line,
    }


def _scorer_judgments(scorer: str, sc: Any, called: list[str], sample: _Sample, run: _Eval) -> Iterator[dict]:
    """One scorer's judgments of a sample (one per key of a dict value), with the kind of score for the scale."""
    if not isinstance(sc, dict):
        sc = {"value": sc}
    grader = (called[0] if called else None) or _option_model(run.scorer_opts.get(scorer)) or run.role_grader
    explanation = sc.get("explanation")
    answer = sc.get("answer")
    reply, reply_model = _grading_reply(sc.get("metadata"))
    echo = isinstance(explanation, str) and explanation.strip() in {
        (answer or "").strip() if isinstance(answer, str) else None,
        (sample.completion or "").strip(),
    }
    critique = explanation if isinstance(explanation, str) and explanation.strip() and not echo else None
    value = sc.get("value")
    parts = value.items() if isinstance(value, dict) else [(None, value)]
    for key, v in parts:
        score, kind = score_value(v)
        criterion = scorer if key is None else f"{scorer}/{key}"
        yield {
            **sample.item,
            "protocol": "pointwise",
            "judge": grader or scorer,
            "criterion": criterion,
            "template": scorer,
            "model": run.model,
            "response": sample.completion,
            "score": score,
            "_kind": kind,
            "critique": critique,
            "raw_output": reply or (explanation if isinstance(explanation, str) else None),
            "parse_status": "ok" if score is not None else ("missing" if v is None else "unparsed"),
            "sample": sample.epoch,
            "judgment_key": "\x1f".join(str(x) for x in (run.eval_key, sample.sid, sample.epoch, criterion)),
            "meta": {
                "value": v if score is None or not isinstance(v, (int, float, bool)) else None,
                "answer": answer if isinstance(answer, (str, int, float)) else clip_raw(answer),
                "explanation_is_output": True if echo else None,
                "grader_models": called if len(called) > 1 else None,
                "grader_model_version": reply_model,
                "scorer_metadata": _scalar_meta(sc.get("metadata")),
                "output_model": sample.output_model,
                "eval_id": run.eval_id,
                "epoch": sample.epoch,
                "sample_error": sample.error_text,
                "task": run.task,
            },
        }


def _with_scales(pending: list[dict], notes: list[str], name: str) -> list[dict]:
    """The judgments with their scale: C/I/P and booleans on 0-1, numbers on the smallest usual scale holding every
    value of their criterion (guessed)."""
    scales: dict[str, tuple[float, float] | None] = {}
    for crit in {r["criterion"] for r in pending if r["_kind"] == "number"}:
        values = pl.Series(
            [r["score"] for r in pending if r["criterion"] == crit and r["_kind"] == "number"], dtype=pl.Float64
        )
        scales[crit] = guess_scale(values)
        if scales[crit] is None:
            notes.append(f"{name}: scorer {crit!r} has values outside every usual scale; stored without one")
    rows = []
    lo_hi: tuple[float, float] | None
    for r in pending:
        kind = r.pop("_kind")
        if kind == "grade" or (kind is None and r["criterion"] not in scales):
            lo_hi = (0.0, 1.0)
        else:
            lo_hi = scales.get(r["criterion"])
            if kind == "number":
                r["meta"]["scale_guessed"] = True
        r["scale_min"], r["scale_max"] = lo_hi if lo_hi else (None, None)
        r["meta"] = to_json(r["meta"])
        rows.append(r)
    return rows


def read(path: Path) -> list[SourceBatch]:
    header, samples, notes = _read_eval(path) if path.suffix.lower() == ".eval" else _read_json(path)
    source = str(path)
    run = _eval_of(header, path)
    status = header.get("status")
    if status and status != "success":
        notes.append(f"{path.name}: the log's status is {status!r}; its {len(samples)} logged samples are imported")

    rejects: list[Reject] = []
    pending: list[dict] = []  # judgment rows, scale filled once every value of a scorer is seen
    outputs: list[dict] = []
    unscored = 0
    for line, (where, s) in enumerate(samples, start=1):
        if not isinstance(s, dict):
            rejects.append(
                Reject(source, line, None, f"{where}: {s if isinstance(s, str) else 'not a JSON object'}", clip_raw(s))
            )
            continue
        s = _resolver(s.get("attachments") or {})(s)
        sid, epoch = s.get("id"), s.get("epoch")
        if sid is None:
            rejects.append(Reject(source, line, "id", f"{where}: sample without an id", clip_raw(s)))
            continue
        error = s.get("error")
        error_text = (error.get("message") if isinstance(error, dict) else str(error)) if error else None
        scores = s.get("scores") or {}
        item = _sample_item(s, run.task, sid, source, line)
        completion = _completion(s)
        if not isinstance(scores, dict) or not scores:
            if error_text:
                reason = f"{where}: sample errored and has no scores: {error_text}"
                rejects.append(
                    Reject(source, line, "error", reason, clip_raw({"id": sid, "epoch": epoch, "error": error}))
                )
                continue
            unscored += 1
            outputs.append({**item, "model": run.model, "response": completion})
            continue
        graders = _grader_models(s.get("events"))
        out = s.get("output") if isinstance(s.get("output"), dict) else {}
        sample = _Sample(item, sid, epoch, completion, error_text, out.get("model"))
        for scorer, sc in scores.items():
            pending.extend(_scorer_judgments(scorer, sc, graders.get(scorer) or [], sample, run))
    rows = _with_scales(pending, notes, path.name)
    if unscored:
        notes.append(
            f"{path.name}: {unscored} sample(s) without scores: their inputs and outputs were imported, no judgments"
        )
    return [
        SourceBatch(
            source,
            len(samples),
            judgments=flat_frame(rows, JUDGMENT_SCHEMA),
            responses=flat_frame(outputs, RESPONSE_SCHEMA),
            rejects=rejects,
            notes=notes,
        )
    ]
