"""The one pairwise verdict vocabulary: how judges and annotators write "A wins", "B wins" and "tie".

A verdict label is read in the frame it was written in, by slot letter: `a` is the first letter of the
label's pair (the response shown first, or the pair's response a, whichever the writer meant), `b` the
other. Readers map the letter to their own frame: the judge runner to first/second-shown, an importer
to the pair's responses. Strength: 2 for a strong preference (`A>>B`), 1 for a plain one, 0 for a tie.

Used by `judge/parse.py` (a judge's `[[A>B]]`), `ingest/values.py` (verdict columns of any file) and
`ingest/arena_hard.py` (games' `A>>B` scores).
"""

from __future__ import annotations

import re

SIDES = ("a", "b", "tie")

# compact label (lower case, no brackets, no spaces) -> (side, strength)
LABELS: dict[str, tuple[str, int]] = {
    "a>>b": ("a", 2),
    "a>b": ("a", 1),
    "a": ("a", 1),
    "b<a": ("a", 1),
    "b<<a": ("a", 2),
    "b>>a": ("b", 2),
    "b>a": ("b", 1),
    "b": ("b", 1),
    "a<b": ("b", 1),
    "a<<b": ("b", 2),
    "a=b": ("tie", 0),
    "b=a": ("tie", 0),
    "tie": ("tie", 0),
    "c": ("tie", 0),
}

# how annotation files name a side in words; compared after lower-casing and trimming
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        (
            "1",
            "1.0",
            "model_a",
            "response_a",
            "output_a",
            "answer_a",
            "output (a)",
            "response 1",
            "output 1",
            "assistant a",
        ),
        "a",
    ),
    **dict.fromkeys(
        (
            "2",
            "2.0",
            "model_b",
            "response_b",
            "output_b",
            "answer_b",
            "output (b)",
            "response 2",
            "output 2",
            "assistant b",
        ),
        "b",
    ),
    **dict.fromkeys(("draw", "equal", "same", "both", "0.5", "1.5", "tie (bothbad)", "tie (bothgood)"), "tie"),
}


def compact(text: str) -> str:
    """A label as LABELS spells it: lower case, surrounding brackets and all spaces removed."""
    return re.sub(r"\s+", "", text.strip().strip("[]").lower())


def read_label(text: object) -> tuple[str, int] | None:
    """(side, strength) of a verdict label such as `[[A>B]]`, `A >> B`, `B`, `tie`; None for anything else."""
    if not isinstance(text, str):
        return None
    return LABELS.get(compact(text))


def value_table() -> dict[str, str]:
    """Every spelling of a side that a verdict column may hold, for an exact (vectorised) lookup after
    lower-casing and trimming: the synonyms, and each label bare, spaced (`a > b`) and in double brackets.
    A bare `c` is no tie here (files use C for a third option); `[[C]]` is, as MT-Bench writes it."""
    table = dict(SYNONYMS)
    for label, (side, _) in LABELS.items():
        spaced = re.sub(r"(>>|<<|>|<|=)", r" \1 ", label)
        forms = {f"[[{label}]]", f"[[{spaced}]]"} | ({label, spaced} if label != "c" else set())
        for form in forms:
            table[form] = side
    return table


VALUES = value_table()


def read_value(text: object) -> str | None:
    """The side (a, b or tie) of a verdict value as files write it, or None."""
    return VALUES.get(text.strip().lower()) if isinstance(text, str) else None


def label_pattern() -> str:
    """A regex alternation matching every label inside `[[ ]]` with free spacing (longest first)."""
    parts = []
    for label in sorted(LABELS, key=len, reverse=True):
        parts.append(r"\s*".join(re.escape(ch) for ch in label))
    return "|".join(parts)


# ---- what a stored pairwise judgment means, in SQL (the one definition every query uses) ----------------------
def winner_sql(alias: str = "", tie: str = "'tie'") -> str:
    """The response a pairwise row's verdict prefers (`{alias}verdict` over `{alias}response_a/_b`); a tie gives
    `tie` (SQL: "'tie'", or "NULL" where a tie prefers no response); no verdict gives NULL. `alias` ends in a dot
    ("j.") or is empty."""
    return f"(CASE {alias}verdict WHEN 'a' THEN {alias}response_a WHEN 'b' THEN {alias}response_b WHEN 'tie' THEN {tie} END)"


def outcome_sql(alias: str = "", side: str = "a") -> str:
    """What a pairwise row's verdict gives the response in slot `side` ('a' or 'b'): 1.0 preferred, 0.5 a tie, 0.0
    the other preferred, NULL no verdict (a win rate counts a tie as half a win)."""
    other = {"a": "b", "b": "a"}[side]
    return f"(CASE {alias}verdict WHEN '{side}' THEN 1.0 WHEN 'tie' THEN 0.5 WHEN '{other}' THEN 0.0 END)"


def shown_sql(alias: str = "", which: str = "first", known_only: bool = False) -> str:
    """The response the judge saw first (or second): `{alias}shown_first` names its slot. An unknown order reads
    as response a shown first (what a file without an order means), or as NULL with `known_only` (where the
    order itself is measured: position bias, swapped twins)."""
    a, b = f"{alias}response_a", f"{alias}response_b"
    shown, other = (a, b) if which == "first" else (b, a)
    if known_only:
        return f"(CASE {alias}shown_first WHEN 'a' THEN {shown} WHEN 'b' THEN {other} END)"
    return f"(CASE WHEN {alias}shown_first = 'b' THEN {other} ELSE {shown} END)"
