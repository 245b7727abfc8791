"""FastChat / MT-Bench LLM-judge files, and directories laid out like FastChat's `data/<bench>/`.

- single-answer grading: question_id, model, judge, judgment, score, turn (score -1 = no rating found)
- pairwise: question_id, model_1, model_2, g1_winner, g2_winner, g1_judgment, g2_judgment, judge, turn;
  game 2 showed the answers swapped, and both winners are already written as model_1 / model_2 / tie / error
- a directory with question.jsonl, model answers, reference answers and model judgments (arena-bench v1
  as published, or its flattened copy with model_answer.parquet and model_judgment.parquet)

A judgment file on its own (not beside question.jsonl and model_answer/) still has its texts: FastChat keeps the
prompt it sent the judge (`user_prompt`, `g1_user_prompt`), and the question, the reference and the answers are read
out of its single-turn templates ("[User Question]", "[The Start of Assistant A's Answer]" …). A multi-turn prompt
is not taken apart; the import says when texts are missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .batch import JUDGMENT_SCHEMA, RESPONSE_SCHEMA, UNKNOWN_JUDGE, Reject, SourceBatch, clip_raw, to_json
from .jsonscan import loads_or
from .readers import Records, first_record_keys, flat_frame, read_records, require, text_value
from .values import parse_bracket_rating

SINGLE_KEYS = {"question_id", "model", "judgment", "score"}
PAIR_KEYS = {"question_id", "model_1", "model_2", "g1_winner", "g2_winner"}
WINNERS = {"model_1": "a", "model_2": "b", "tie": "tie", "tie (inconsistent)": "tie"}


def detect_dir(path: Path) -> bool:
    return (
        path.is_dir()
        and (path / "question.jsonl").exists()
        and (
            (path / "model_judgment.parquet").exists()
            or (path / "model_judgment").is_dir()
            or any(judged for _, judged in _flat_files(path))  # (stops at the first judgment file)
        )
    )


def _flat_files(path: Path) -> Iterator[tuple[Path, bool]]:
    """A flat copy of a bench folder (question.jsonl beside the judgment files, as downloaded one by one): each file
    that is not the questions, answers or references, and whether its first record is a FastChat judgment (the
    others are left out, and said so)."""
    for f in sorted(path.glob("*.jsonl")):
        if f.name == "question.jsonl" or f.name.startswith(("reference_answer", "model_answer")):
            continue
        keys = first_record_keys(f)
        yield f, SINGLE_KEYS <= keys or PAIR_KEYS <= keys


def _judge(value: Any, default: str) -> tuple[str, str | None]:
    """FastChat writes judge as [model, prompt name]; return (judge, template)."""
    if isinstance(value, str) and value.startswith("["):
        value = loads_or(value, value)
    if isinstance(value, (list, tuple)) and value:
        return str(value[0]), (str(value[1]) if len(value) > 1 else None)
    if value:
        text = text_value(value)
        assert text is not None  # text_value gives None only for None
        return text, None
    return default, None


def _turns(value: Any) -> list:
    """A list of turns: a list as it is, one text as one turn, anything else as none."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, str) else []


def _turn(value: Any) -> int:
    try:
        t = int(float(value))
    except (TypeError, ValueError):
        return 1
    return t if t >= 1 else 1


def _item(qid: str, turn: int) -> str:
    return qid if turn == 1 else f"{qid}#turn{turn}"


class Context:
    """Questions, answers and reference answers by id, for filling in the judge's inputs."""

    def __init__(self) -> None:
        self.questions: dict[str, dict] = {}
        self.answers: dict[tuple[str, str], list[str]] = {}
        self.references: dict[str, list[str]] = {}

    def prompt(self, qid: str, turn: int) -> str | None:
        turns = _turns((self.questions.get(qid) or {}).get("turns"))
        return turns[turn - 1] if len(turns) >= turn else None

    def category(self, qid: str) -> str | None:
        return (self.questions.get(qid) or {}).get("category")

    def answer(self, qid: str, model: str, turn: int) -> str | None:
        turns = self.answers.get((qid, model)) or []
        return turns[turn - 1] if len(turns) >= turn else None

    def reference(self, qid: str, turn: int) -> str | None:
        turns = self.references.get(qid) or []
        return turns[turn - 1] if len(turns) >= turn else None


def _answer_turns(row: dict) -> list[str]:
    if row.get("answer") is not None:
        return [row["answer"]]
    choices = row.get("choices")
    if isinstance(choices, str):
        choices = loads_or(choices, None)
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return _turns(choices[0].get("turns"))
    return []


def load_context(path: Path, batches: list[SourceBatch]) -> Context:
    ctx = Context()
    q = read_records(path / "question.jsonl")
    items = []
    for _line, row in zip(q.lines, q.rows):
        qid = str(row.get("question_id"))
        ctx.questions[qid] = row
    answer_rows: list[dict] = []
    answer_files = (
        [path / "model_answer.parquet"]
        if (path / "model_answer.parquet").exists()
        else sorted((path / "model_answer").glob("*.jsonl"))
        if (path / "model_answer").is_dir()
        else []
    )
    ref_files = sorted(path.glob("reference_answer*.jsonl")) + (
        sorted((path / "reference_answer").glob("*.jsonl")) if (path / "reference_answer").is_dir() else []
    )
    for files, target in ((ref_files, None), (answer_files, ctx.answers)):
        for f in files:
            recs = read_records(f)
            for row in recs.rows:
                qid = str(row.get("question_id"))
                turns = _answer_turns(row)
                if target is None:
                    ctx.references.setdefault(qid, turns)
                else:
                    model = str(row.get("model_id") or row.get("model") or f.stem)
                    target[(qid, model)] = turns
                    for t, text in enumerate(turns, start=1):
                        answer_rows.append(
                            {**_item_fields(ctx, qid, t), "model": model, "response": text, "source": recs.source}
                        )
            batches.append(SourceBatch(recs.source, recs.n_source_rows, rejects=recs.rejects, notes=recs.notes))
    for line, row in zip(q.lines, q.rows):
        qid = str(row.get("question_id"))
        for t in range(1, max(1, len(_turns(row.get("turns")))) + 1):
            items.append({**_item_fields(ctx, qid, t), "source": q.source, "source_line": line})
    qbatch = SourceBatch(q.source, q.n_source_rows, rejects=q.rejects, notes=q.notes)
    qbatch.responses = flat_frame(items + answer_rows, RESPONSE_SCHEMA)
    batches.insert(0, qbatch)
    return ctx


def _item_fields(ctx: Context, qid: str, turn: int, shown: dict[str, str] | None = None) -> dict:
    shown = shown or {}
    return {
        "item_key": _item(qid, turn),
        "prompt": _first(ctx.prompt(qid, turn), shown.get("question")),
        "reference": _first(ctx.reference(qid, turn), shown.get("reference")),
        "category": ctx.category(qid),
        "item_meta": to_json({"question_id": qid, "turn": turn}),
    }


_SHOWN = {
    "question": re.compile(r"\[(?:User )?Question\]\n(.*?)\n\n\[The Start of ", re.S),
    "reference": re.compile(r"\[The Start of Reference Answer\]\n(.*?)\n\[The End of Reference Answer\]", re.S),
    "answer": re.compile(r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", re.S),
    "a": re.compile(r"\[The Start of Assistant A's Answer\]\n(.*?)\n\[The End of Assistant A's Answer\]", re.S),
    "b": re.compile(r"\[The Start of Assistant B's Answer\]\n(.*?)\n\[The End of Assistant B's Answer\]", re.S),
}


def _first(known: str | None, shown: str | None) -> str | None:
    """The text the files beside the judgments give (an empty answer is an answer), else what the prompt showed."""
    return known if known is not None else shown


def shown_texts(prompt: Any) -> dict[str, str]:
    """What a FastChat single-turn judge prompt showed the judge: question, reference, answer (single grading) or
    a / b (the answers in the order shown); empty for a prompt in another form."""
    if not isinstance(prompt, str):
        return {}
    return {k: m.group(1) for k, rx in _SHOWN.items() if (m := rx.search(prompt))}


def _config_judge(path: Path) -> str | None:
    for cfg in sorted(path.glob("*config*.yaml")) + sorted(path.parent.glob("*config*.yaml")):
        m = re.search(r"^judge_model:\s*['\"]?([^'\"\s#]+)", cfg.read_text(encoding="utf-8", errors="replace"), re.M)
        if m:
            return m.group(1)
    return None


def read_dir(path: Path) -> list[SourceBatch]:
    require(path, "a FastChat bench directory", "question.jsonl")
    batches: list[SourceBatch] = []
    ctx = load_context(path, batches)
    default_judge = _config_judge(path) or UNKNOWN_JUDGE
    if (path / "model_judgment.parquet").exists():
        judgment_files = [path / "model_judgment.parquet"]
    elif (path / "model_judgment").is_dir():
        judgment_files = sorted((path / "model_judgment").glob("*.jsonl"))
    else:
        files = list(_flat_files(path))
        judgment_files = [f for f, judged in files if judged]
        other = [f for f, judged in files if not judged]
        if other:
            batches[0].notes.append(
                f"{len(other)} file(s) beside question.jsonl are neither FastChat judgments, answers "
                f"(model_answer*.jsonl) nor references (reference_answer*.jsonl), and were left out: "
                + ", ".join(f.name for f in other[:5])
                + (" …" if len(other) > 5 else "")
            )
    for f in judgment_files:
        recs = read_records(f)
        keys = set().union(*(r.keys() for r in recs.rows)) if recs.rows else set()
        if PAIR_KEYS <= keys:
            batches.append(pair_batch(recs, ctx, default_judge))
        else:
            batches.append(single_batch(recs, ctx, default_judge))
    return batches


def single_batch(recs: Records, ctx: Context | None = None, default_judge: str = UNKNOWN_JUDGE) -> SourceBatch:
    ctx = ctx or Context()
    rows, rejects = [], list(recs.rejects)
    for line, r in zip(recs.lines, recs.rows):
        qid, model = r.get("question_id"), r.get("model")
        if qid is None or model is None:
            rejects.append(
                Reject(
                    recs.source,
                    line,
                    "question_id" if qid is None else "model",
                    "missing question_id or model",
                    clip_raw(r),
                )
            )
            continue
        qid, model = str(qid), str(model)
        turn = _turn(r.get("turn"))
        judge, template = _judge(r.get("judge"), default_judge)
        text = text_value(r.get("judgment"))
        # the file's own score is the authority (FastChat writes -1, arena-bench null, for no rating);
        # only a file without a score field has its rating parsed out of the text
        score = r.get("score") if "score" in r else parse_bracket_rating(text)
        try:
            score = float(score) if score is not None else None
        except (TypeError, ValueError):
            rejects.append(Reject(recs.source, line, "score", f"score {score!r} is not a number", clip_raw(r)))
            continue
        ok = score is not None and 1 <= score <= 10
        shown = shown_texts(r.get("user_prompt"))
        rows.append(
            {
                **_item_fields(ctx, qid, turn, shown),
                "protocol": "pointwise",
                "judge": judge,
                "template": template,
                "model": model,
                "response": _first(ctx.answer(qid, model, turn), shown.get("answer")),
                "score": score if ok else None,
                "scale_min": 1.0,
                "scale_max": 10.0,
                "critique": text,
                "raw_output": text,
                "parse_status": "ok" if ok else ("unparsed" if text else "missing"),
                "judgment_key": "\x1f".join([qid, str(turn), model, judge, template or ""]),
                "source": recs.source,
                "source_line": line,
                "meta": to_json(
                    {
                        "tstamp": r.get("tstamp"),
                        "raw_score": r.get("score"),
                        "rating_in_text": parse_bracket_rating(text) if not ok else None,
                    }
                ),
            }
        )
    return SourceBatch(
        recs.source,
        recs.n_source_rows,
        judgments=flat_frame(rows, JUDGMENT_SCHEMA),
        rejects=rejects,
        notes=[*recs.notes, *_missing_texts(recs.source, rows)],
    )


def pair_batch(recs: Records, ctx: Context | None = None, default_judge: str = UNKNOWN_JUDGE) -> SourceBatch:
    ctx = ctx or Context()
    rows, rejects = [], list(recs.rejects)
    for line, r in zip(recs.lines, recs.rows):
        qid, m1, m2 = r.get("question_id"), r.get("model_1"), r.get("model_2")
        if qid is None or m1 is None or m2 is None:
            rejects.append(
                Reject(recs.source, line, "question_id", "missing question_id, model_1 or model_2", clip_raw(r))
            )
            continue
        qid, m1, m2 = str(qid), str(m1), str(m2)
        turn = _turn(r.get("turn"))
        judge, template = _judge(r.get("judge"), default_judge)
        if all(r.get(f"{g}_winner") is None and r.get(f"{g}_judgment") is None for g in ("g1", "g2")):
            rejects.append(Reject(recs.source, line, "g1_winner", "no winner or judgment in either game", clip_raw(r)))
            continue
        for game, shown in (("g1", "a"), ("g2", "b")):
            winner = r.get(f"{game}_winner")
            text = text_value(r.get(f"{game}_judgment"))
            if winner is None and text is None:
                continue
            verdict = WINNERS.get(str(winner).strip().lower()) if winner is not None else None
            # the judge's own prompt, where the files beside it do not give the texts: game 2 showed model_2 as A
            seen = shown_texts(r.get(f"{game}_user_prompt"))
            first, second = (seen.get("a"), seen.get("b")) if shown == "a" else (seen.get("b"), seen.get("a"))
            rows.append(
                {
                    **_item_fields(ctx, qid, turn, seen),
                    "protocol": "pairwise",
                    "judge": judge,
                    "template": template,
                    "model_a": m1,
                    "response_a": _first(ctx.answer(qid, m1, turn), first),
                    "model_b": m2,
                    "response_b": _first(ctx.answer(qid, m2, turn), second),
                    "shown_first": shown,
                    "verdict": verdict,
                    "critique": text,
                    "raw_output": text,
                    "parse_status": "ok" if verdict else ("unparsed" if winner is not None or text else "missing"),
                    "judgment_key": "\x1f".join([qid, str(turn), m1, m2, judge, template or "", game]),
                    "source": recs.source,
                    "source_line": line,
                    "meta": to_json({"game": game, "winner": winner, "tstamp": r.get("tstamp")}),
                }
            )
    return SourceBatch(
        recs.source,
        recs.n_source_rows,
        judgments=flat_frame(rows, JUDGMENT_SCHEMA),
        rejects=rejects,
        notes=[*recs.notes, *_missing_texts(recs.source, rows)],
    )


def _missing_texts(source: str, rows: list[dict]) -> list[str]:
    """A note when judgments come without the answers they judged (no FastChat layout around the file, and judge
    prompts that are multi-turn or absent): what the response text shows (empty, cut off …) cannot be read then."""
    keys = ("response", "response_a", "response_b")
    n = sum(1 for row in rows if all(row.get(k) is None for k in keys))
    if not n:
        return []
    return [
        f"{Path(source).name}: {n:,} of {len(rows):,} judgments without the answers they judged; put the file in "
        "FastChat's layout (<bench>/model_judgment/, beside question.jsonl and model_answer/) to import them"
    ]


def read_single(path: Path) -> list[SourceBatch]:
    return [single_batch(read_records(path), _sibling_context(path), _config_judge(path.parent) or UNKNOWN_JUDGE)]


def read_pair(path: Path) -> list[SourceBatch]:
    return [pair_batch(read_records(path), _sibling_context(path), _config_judge(path.parent) or UNKNOWN_JUDGE)]


def _sibling_context(path: Path) -> Context | None:
    """A judgment file inside FastChat's layout (<bench>/model_judgment/x.jsonl), or beside question.jsonl in a flat
    copy of it, gets its questions and answers."""
    bench = path.parent.parent if path.parent.name == "model_judgment" else path.parent
    if (bench / "question.jsonl").exists():
        return load_context(bench, [])
    return None
