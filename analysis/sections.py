"""The one vocabulary of a critique written in parts: many judges return their praise and their complaints as
separate fields ({"strengths": …, "weaknesses": …}, a CSV's `pros` / `cons` columns). judgescope stores one
critique per judgment, so the parts are joined under headers the issue pipeline's segmenter reads
("Strengths: …" is praise unless it turns, "Weaknesses: …" a problem even where it reads as a plain
description).

The names a critique is written under are here too (`CRITIQUE`): a file's column and a judge's JSON key are
read by the same list.

Used by `ingest/mapping.py` (the roles `critique`, `strengths` and `weaknesses` and the column names guessed for
them), `ingest/generic.py` (joining the columns) and `judge/parse.py` (a JSON reply with these keys).
"""

from __future__ import annotations

import json
from typing import Any

# the names a whole critique is written under, in order of preference: a file's column (case-insensitive) and a
# judge's JSON key
CRITIQUE: list[str] = [
    "critique",
    "feedback",
    "explanation",
    "rationale",
    "reasoning",
    "justification",
    "evaluation",
    "judgment",
    "evaluation_text",
    "comment",
]

# role -> (header written before it, field and column names it is guessed from, case-insensitive, in order)
SECTIONS: dict[str, tuple[str, list[str]]] = {
    "strengths": ("Strengths", ["strengths", "strength", "pros", "positives"]),
    "weaknesses": ("Weaknesses", ["weaknesses", "weakness", "cons", "negatives", "areas_for_improvement"]),
}


def part_text(value: Any) -> str | None:
    """One part as text: a string as written, a list as one "- item" line per item (also a list a reader kept as
    JSON text); empty parts are None."""
    if isinstance(value, str) and value.lstrip().startswith("[") and value.rstrip().endswith("]"):
        try:
            listed = json.loads(value)
        except ValueError:
            listed = None
        if isinstance(listed, list) and all(isinstance(v, (str, int, float)) for v in listed):
            value = listed
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value if v is not None and str(v).strip()]
        return "\n".join(f"- {v}" for v in items) if items else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def join(critique: str | None, parts: dict[str, Any]) -> str | None:
    """The critique followed by each part under its header ("Strengths: …\\nWeaknesses: …"); None when all
    are empty. `parts` maps a role of SECTIONS to its value (a string or a list of strings)."""
    out = [critique.strip()] if critique and critique.strip() else []
    for role, (header, _) in SECTIONS.items():
        text = part_text(parts.get(role))
        if text is not None:
            out.append(f"{header}:{chr(10) if text.startswith('- ') else ' '}{text}")
    return "\n".join(out) or None


def critique_of_reply(obj: dict[str, Any]) -> str | None:
    """A judge's JSON reply as one critique: the first CRITIQUE key (case-insensitive) that holds text, then its
    parts (`strengths`, `weaknesses`, …) under their headers."""
    keys = {str(k).lower(): k for k in obj}
    text = next((obj[keys[n]] for n in CRITIQUE if n in keys and isinstance(obj[keys[n]], str)), None)
    return join(text, from_reply(obj))


def from_reply(obj: dict[str, Any]) -> dict[str, Any]:
    """The parts a judge's JSON reply holds, by role (its keys matched case-insensitively)."""
    keys = {str(k).lower(): k for k in obj}
    found: dict[str, Any] = {}
    for role, (_, names) in SECTIONS.items():
        key = next((keys[n] for n in names if n in keys), None)
        if key is not None:
            found[role] = obj[key]
    return found
