"""Arena-Hard style pairwise judgments, and JudgeBench's output files.

Arena-Hard: question_id, model, judge, games: [{user_prompt, judgment, score}, ...]. Game 1 shows
the baseline answer as A and the model's as B; game 2 swaps them. Each score ("A>>B", "A>B", "A=B",
"B>A", "B>>A") is written in the frame the judge saw, so game 2's is mapped back here.

JudgeBench: pair_id, question, response_A, response_B, label, judgments: [{judgment: {judge_model,
response}, decision}, ...]; game 2 saw B first and its decision is in that frame too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import verdicts
from .batch import JUDGMENT_SCHEMA, LABEL_SCHEMA, UNKNOWN_JUDGE, Reject, SourceBatch, clip_raw, to_json
from .jsonscan import loads_or
from .readers import flat_frame, read_records, text_value

ARENA_KEYS = {"question_id", "model", "games"}
JUDGEBENCH_KEYS = {"pair_id", "response_A", "response_B", "judgments"}
DEFAULT_BASELINE = "gpt-4-0314"
_SCORE = re.compile(r"^\s*\[?\[?\s*[AB]\s*(>>|>|=|<<|<)\s*[AB]\s*\]?\]?\s*$")  # the shape of a game score


def parse_preference(text: Any) -> tuple[str | None, str | None]:
    """'A>>B' -> ('A', 'strong'); 'A=B' -> ('tie', None); anything else -> (None, None). Frame: as shown.
    Only comparison labels count here (a bare 'A' or 'tie' is no game score); the vocabulary is verdicts.LABELS."""
    if not isinstance(text, str) or not _SCORE.match(text):
        return None, None
    hit = verdicts.read_label(text)
    if hit is None:
        return None, None
    side, strength = hit
    if side == "tie":
        return "tie", None
    return side.upper(), "strong" if strength == 2 else "weak"


def _to_response_frame(shown_winner: str | None, shown_first: str) -> str | None:
    """A verdict about the shown slots ('A' first, 'B' second) -> about the pair's responses a/b."""
    if shown_winner in (None, "tie"):
        return shown_winner
    first_won = shown_winner == "A"
    if shown_first == "a":
        return "a" if first_won else "b"
    return "b" if first_won else "a"


def _as_list(value: Any) -> list | None:
    """A list field, given as a list or as JSON text of one; None for anything else."""
    if isinstance(value, str):
        value = loads_or(value, None)
    return value if isinstance(value, list) else None


def read_arena_hard(path: Path, baseline: str = DEFAULT_BASELINE) -> list[SourceBatch]:
    recs = read_records(path)
    rows, rejects = [], list(recs.rejects)
    for line, r in zip(recs.lines, recs.rows):
        qid, model = r.get("question_id"), r.get("model")
        games = _as_list(r.get("games"))
        if qid is None or model is None or not games:
            rejects.append(
                Reject(recs.source, line, "games", "expected question_id, model and a list of games", clip_raw(r))
            )
            continue
        judge = text_value(r.get("judge") or UNKNOWN_JUDGE)
        for g, game in enumerate(games, start=1):
            if not isinstance(game, dict):
                rejects.append(Reject(recs.source, line, "games", f"game {g} is not an object", clip_raw(game)))
                continue
            shown_first = "a" if g % 2 == 1 else "b"
            winner, strength = parse_preference(game.get("score"))
            verdict = _to_response_frame(winner, shown_first)
            text = game.get("judgment")
            if isinstance(text, dict):  # newer arena-hard writes {"answer": ...}
                text = text.get("answer") or text
            text = text_value(text)
            rows.append(
                {
                    "item_key": str(qid),
                    "prompt": _question(game.get("user_prompt")),
                    "item_meta": to_json({"question_id": qid}),
                    "protocol": "pairwise",
                    "judge": judge,
                    "template": "arena-hard",
                    "model_a": baseline,
                    "model_b": str(model),
                    "shown_first": shown_first,
                    "verdict": verdict,
                    "critique": text,
                    "raw_output": text,
                    "parse_status": "ok" if verdict else ("unparsed" if text or game.get("score") else "missing"),
                    "judgment_key": f"{qid}\x1f{baseline}\x1f{model}\x1f{judge}\x1fgame{g}",
                    "source": recs.source,
                    "source_line": line,
                    "meta": to_json({"game": g, "score": game.get("score"), "strength": strength}),
                }
            )
    return [
        SourceBatch(
            recs.source,
            recs.n_source_rows,
            judgments=flat_frame(rows, JUDGMENT_SCHEMA),
            rejects=rejects,
            notes=recs.notes,
        )
    ]


def _question(user_prompt: Any) -> str | None:
    """The user question out of Arena-Hard's judge prompt, else the prompt itself."""
    if not isinstance(user_prompt, str):
        return None
    m = re.search(r"<\|User Prompt\|>\s*(.*?)\s*<\|The Start of Assistant A's Answer\|>", user_prompt, re.S)
    return m.group(1).strip() if m else user_prompt


def _judgebench_pair(r: dict, pid: Any) -> dict:
    """A JudgeBench pair: the question, its source as the category, and the two responses of one model."""
    return {
        "item_key": str(pid),
        "prompt": r.get("question"),
        "category": r.get("source"),
        "item_meta": to_json({"pair_id": pid, "source": r.get("source")}),
        "model_a": r.get("response_model"),
        "response_a": r.get("response_A"),
        "model_b": r.get("response_model"),
        "response_b": r.get("response_B"),
    }


def _judgebench_game(r: dict, pair: dict, g: int, game: Any, source: str, line: int) -> dict:
    """Game `g` of a pair as a pairwise judgment: odd games showed A first, even ones B, and the decision (in the
    order shown) is mapped back to the responses."""
    pid = r.get("pair_id")
    inner = game.get("judgment") if isinstance(game, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    judge = text_value(inner.get("judge_model") or r.get("judge_name") or UNKNOWN_JUDGE)
    shown_first = "a" if g % 2 == 1 else "b"
    winner, strength = parse_preference(game.get("decision") if isinstance(game, dict) else None)
    verdict = _to_response_frame(winner, shown_first)
    text = text_value(inner.get("response"))
    return {
        **pair,
        "protocol": "pairwise",
        "judge": judge,
        "template": r.get("judge_name") or "judgebench",
        "shown_first": shown_first,
        "verdict": verdict,
        "critique": text,
        "raw_output": text,
        "parse_status": "ok" if verdict else ("unparsed" if text else "missing"),
        "judgment_key": f"{pid}\x1f{judge}\x1fgame{g}",
        "source": source,
        "source_line": line,
        "meta": to_json(
            {"game": g, "decision": game.get("decision") if isinstance(game, dict) else None, "strength": strength}
        ),
    }


def read_judgebench(path: Path) -> list[SourceBatch]:
    recs = read_records(path)
    rows, labels, rejects = [], [], list(recs.rejects)
    for line, r in zip(recs.lines, recs.rows):
        pid = r.get("pair_id")
        judgments = _as_list(r.get("judgments"))
        if pid is None or r.get("response_A") is None or r.get("response_B") is None:
            rejects.append(
                Reject(recs.source, line, "pair_id", "expected pair_id, response_A and response_B", clip_raw(r))
            )
            continue
        if judgments is None and r.get("judgments") is not None:
            rejects.append(Reject(recs.source, line, "judgments", "judgments must be a list", clip_raw(r)))
            continue
        judgments = judgments or []
        pair = _judgebench_pair(r, pid)
        gold, _ = parse_preference(r.get("label"))
        if gold:
            labels.append(
                {
                    **pair,
                    "annotator": "judgebench-gold",
                    "kind": "gold",
                    "verdict": {"A": "a", "B": "b"}.get(gold, gold),
                    "label_key": f"{pid}\x1fgold",
                    "source": recs.source,
                    "source_line": line,
                }
            )
        for g, game in enumerate(judgments, start=1):
            rows.append(_judgebench_game(r, pair, g, game, recs.source, line))
        if not judgments and not gold:
            rejects.append(Reject(recs.source, line, "judgments", "no judgments and no label", clip_raw(r)))
    return [
        SourceBatch(
            recs.source,
            recs.n_source_rows,
            judgments=flat_frame(rows, JUDGMENT_SCHEMA),
            labels=flat_frame(labels, LABEL_SCHEMA),
            rejects=rejects,
            notes=recs.notes,
        )
    ]
