"""Turn a judge's reply into a score or a verdict: structured JSON first, a strict text parser otherwise.
A reply that neither reads is `unparsed` (its raw text is kept); a number is never guessed.

Strict means: exactly one distinct rating marker (`Rating: [[7]]`, `[[7]]`, Prometheus' `[RESULT] 4`) or one
distinct verdict label (`[[A>B]]`, `[[A]]`, `[[tie]]` ...), and a score inside the template's scale."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from .. import sections, verdicts

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_RATING = re.compile(r"\[\[\s*(-?\d+(?:\.\d+)?)\s*\]\]")
_RESULT = re.compile(r"\[RESULT\]\s*\(?\s*(-?\d+(?:\.\d+)?)")
_VERDICT = re.compile(r"\[\[\s*(" + verdicts.label_pattern() + r")\s*\]\]", re.IGNORECASE)
# label -> (verdict about the first-shown / second-shown answer, strength): the slot letters of the one vocabulary
_SLOT = {"a": "first", "b": "second", "tie": "tie"}
VERDICTS = {label: (_SLOT[side], strength) for label, (side, strength) in verdicts.LABELS.items()}


@dataclass
class Parsed:
    status: str  # ok | unparsed
    score: float | None = None
    verdict: str | None = None  # first | second | tie (position frame: the runner maps it to a/b)
    strength: int | None = None
    critique: str | None = None
    how: str | None = None  # json | text
    span: tuple[int, int] | None = None  # where the score sits in the reply (for logprobs)
    criteria: dict[str, "Parsed"] = field(default_factory=dict)
    reason: str | None = None


def _json(text: str) -> dict | None:
    m = _FENCE.match(text)
    body = m.group(1) if m else text.strip()
    if not body.startswith("{"):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _number(value, scale: tuple[float, float]) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value) and scale[0] <= value <= scale[1]:
        return float(value)
    return None


def _score_span(text: str, score: float) -> tuple[int, int] | None:
    """Where the score's digits sit in a JSON reply: after the last "score" key."""
    key = text.rfind('"score"')
    if key < 0:
        return None
    m = re.compile(r"-?\d+(?:\.\d+)?").search(text, key + 7)
    return (m.start(), m.end()) if m and float(m.group()) == score else None


def parse_score(text: str | None, scale: tuple[float, float]) -> Parsed:
    if not text or not text.strip():
        return Parsed("unparsed", reason="empty reply")
    obj = _json(text)
    if obj is not None:
        score = _number(obj.get("score", obj.get("rating")), scale)
        critique = sections.critique_of_reply(obj)
        if score is None:
            return Parsed("unparsed", critique=critique, reason="JSON reply without a score inside the scale")
        return Parsed(
            "ok",
            score=score,
            critique=critique,
            how="json",
            span=_score_span(text, score),
        )
    found = [(m, m.group(1)) for rx in (_RATING, _RESULT) for m in rx.finditer(text)]
    values = {float(v) for _, v in found}
    if len(values) != 1:
        return Parsed("unparsed", reason="no rating marker" if not values else "several different ratings")
    score = _number(values.pop(), scale)
    if score is None:
        return Parsed("unparsed", reason="rating outside the scale")
    last = found[-1][0]
    critique = text[: min(m.start() for m, _ in found)].strip()
    critique = re.sub(r"^\s*Feedback:\s*", "", critique)
    critique = re.sub(r"(Rating:|\[RESULT\])\s*$", "", critique).strip()
    return Parsed("ok", score=score, critique=critique or None, how="text", span=(last.start(1), last.end(1)))


def parse_verdict(text: str | None) -> Parsed:
    if not text or not text.strip():
        return Parsed("unparsed", reason="empty reply")
    obj = _json(text)
    if obj is not None:
        label = obj.get("verdict", obj.get("winner"))
        critique = sections.critique_of_reply(obj)
        key = verdicts.compact(label) if isinstance(label, str) else None
        if key not in VERDICTS:
            return Parsed("unparsed", critique=critique, reason="JSON reply without a known verdict")
        v, s = VERDICTS[key]
        return Parsed("ok", verdict=v, strength=s, critique=critique, how="json")
    labels = {verdicts.compact(m.group(1)) for m in _VERDICT.finditer(text)}
    outcomes = {VERDICTS[k] for k in labels}
    if len(outcomes) != 1:
        return Parsed("unparsed", reason="no verdict label" if not outcomes else "several different verdicts")
    v, s = outcomes.pop()
    first = _VERDICT.search(text)
    cut = first.start() if first else len(text)
    critique = re.sub(r"(My final verdict is:?|Final verdict:?)\s*$", "", text[:cut].strip(), flags=re.I).strip()
    return Parsed("ok", verdict=v, strength=s, critique=critique or None, how="text")


def parse_criteria(text: str | None, names: list[str], scale: tuple[float, float]) -> Parsed:
    """One reply scoring several criteria: {"criteria": {name: {"score", "critique"}}} or one
    `<name>: Rating: [[n]]` line per criterion. Each criterion is parsed on its own."""
    out = Parsed("ok", how="json")
    obj = _json(text or "")
    if obj is not None and isinstance(obj.get("criteria"), dict):
        given = {str(k).strip().lower(): v for k, v in obj["criteria"].items()}
        for name in names:
            v = given.get(name.lower())
            if isinstance(v, dict):
                score = _number(v.get("score"), scale)
                crit = sections.critique_of_reply(v)
                out.criteria[name] = (
                    Parsed("ok", score=score, critique=crit, how="json")
                    if score is not None
                    else Parsed("unparsed", critique=crit, reason="no score inside the scale")
                )
            else:
                out.criteria[name] = Parsed("unparsed", reason="criterion missing from the reply")
        return out
    out.how = "text"
    lines = (text or "").splitlines()
    for name in names:
        rx = re.compile(r"^\W*" + re.escape(name) + r"\b.*?\[\[\s*(-?\d+(?:\.\d+)?)\s*\]\]", re.IGNORECASE)
        values = {float(m.group(1)) for line in lines if (m := rx.search(line))}
        score = _number(values.pop(), scale) if len(values) == 1 else None
        out.criteria[name] = (
            Parsed("ok", score=score, how="text")
            if score is not None
            else Parsed("unparsed", reason="no single rating line for this criterion")
        )
    return out


def expected_score(
    logprobs: list[dict] | None, span: tuple[int, int] | None, scale: tuple[float, float]
) -> tuple[float | None, dict[str, float] | None]:
    """With token logprobs: the probability-weighted mean over the integer ratings the model considered at the
    score's token (its top alternatives inside the scale), and those probabilities."""
    if not logprobs or span is None:
        return None, None
    pos = 0
    for tok in logprobs:
        text = tok.get("token") or ""
        end = pos + len(text)
        if pos <= span[0] < end or (text.strip() and span[0] <= pos < span[1]):
            probs: dict[int, float] = {}
            for alt in tok.get("top_logprobs") or [{"token": text, "logprob": tok.get("logprob")}]:
                t = (alt.get("token") or "").strip()
                if re.fullmatch(r"-?\d+", t) and alt.get("logprob") is not None and scale[0] <= int(t) <= scale[1]:
                    probs[int(t)] = probs.get(int(t), 0.0) + math.exp(alt["logprob"])
            total = sum(probs.values())
            if not total:
                return None, None
            return (
                sum(k * p for k, p in probs.items()) / total,
                {str(k): round(p / total, 6) for k, p in sorted(probs.items())},
            )
        pos = end
    return None, None
