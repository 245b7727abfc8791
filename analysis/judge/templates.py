"""Judge prompt templates: the built-in `rubric`, `prometheus` and `pairwise`, and user templates from a
TOML file with named fields.

A template is a system message and a user message with `{field}` placeholders:

- pointwise: prompt, response, reference_block, reference, criterion, criterion_description, rubric,
  criteria_list, scale_min, scale_max, output_format (the reply format the run asks for: one score, or one
  score per criterion when several criteria are scored in one call)
- pairwise: prompt, response_a, response_b (A is the answer shown first), reference_block, reference,
  criterion, criterion_description, criteria_list

`reference_block` is empty when the item has no reference (or references are switched off), so one template
serves plain and reference-guided grading.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

POINTWISE_FIELDS = {
    "prompt",
    "response",
    "reference_block",
    "reference",
    "criterion",
    "criterion_description",
    "rubric",
    "criteria_list",
    "scale_min",
    "scale_max",
    "output_format",
}
PAIRWISE_FIELDS = {
    "prompt",
    "response_a",
    "response_b",
    "reference_block",
    "reference",
    "criterion",
    "criterion_description",
    "criteria_list",
}


@dataclass(frozen=True)
class Template:
    name: str
    protocol: str  # pointwise | pairwise
    system: str
    user: str
    scale: tuple[float, float] = (1, 10)
    reference_text: str = "[The Start of Reference Answer]\n{reference}\n[The End of Reference Answer]\n\n"
    levels: dict[int, str] = field(default_factory=dict)  # default level descriptions (prometheus)

    def fields(self) -> set[str]:
        return {f for text in (self.system, self.user) for _, f, _, _ in string.Formatter().parse(text) if f}

    def check(self, where: str) -> None:
        allowed = POINTWISE_FIELDS if self.protocol == "pointwise" else PAIRWISE_FIELDS
        unknown = sorted(self.fields() - allowed)
        if unknown:
            raise UserError(
                f"{where}: unknown field(s) {', '.join('{' + u + '}' for u in unknown)} in a "
                f"{self.protocol} template; allowed: {', '.join(sorted(allowed))}"
            )
        need = {"response"} if self.protocol == "pointwise" else {"response_a", "response_b"}
        if not need <= self.fields():
            raise UserError(
                f"{where}: a {self.protocol} template must show {', '.join('{' + n + '}' for n in sorted(need))}"
            )

    def render(self, values: dict[str, str]) -> list[dict[str, str]]:
        vals = dict(values)
        ref = vals.get("reference")
        vals["reference_block"] = self.reference_text.format(reference=ref) if ref else ""
        vals.setdefault("scale_min", _num(self.scale[0]))
        vals.setdefault("scale_max", _num(self.scale[1]))
        for f in POINTWISE_FIELDS | PAIRWISE_FIELDS:
            vals.setdefault(f, "")
        out = []
        if self.system:
            out.append({"role": "system", "content": self.system.format(**vals)})
        out.append({"role": "user", "content": self.user.format(**vals)})
        return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# filled into {output_format} by the runner (plain strings: they are not formatted again)
ONE_SCORE = (
    'Reply with a JSON object only: {"critique": "<your critique>", "score": <integer from '
    '{lo} to {hi}>}. If you cannot reply in JSON, end your reply with the line "Rating: [[<score>]]".'
)
PER_CRITERION = (
    'Score each criterion separately. Reply with a JSON object only: {"criteria": {"<criterion '
    'name>": {"critique": "...", "score": <integer from {lo} to {hi}>}, ...}}. If you cannot '
    'reply in JSON, write one line per criterion: "<criterion name>: Rating: [[<score>]]".'
)

RUBRIC = Template(
    name="rubric",
    protocol="pointwise",
    system=(
        "You are a careful, impartial judge of AI assistant answers. Evaluate the answer for correctness, "
        "helpfulness, completeness, relevance and clarity; point out every concrete problem, then give a score. "
        "Do not let the answer's length or style sway you."
    ),
    user=(
        "[Question]\n{prompt}\n\n{reference_block}[The Start of Answer]\n{response}\n[The End of Answer]\n\n"
        "{criteria_list}Write a short critique, then rate the answer from {scale_min} (worst) to {scale_max} "
        "(best). {output_format}"
    ),
    scale=(1, 10),
)

PROMETHEUS = Template(
    name="prometheus",
    protocol="pointwise",
    system="You are a fair judge assistant tasked with providing clear, objective feedback based on specific criteria.",
    user=(
        "###Task Description:\nAn instruction, a response to evaluate, a reference answer when one is given, and a score rubric are given.\n"
        "1. Write detailed feedback that assesses the response strictly by the score rubric.\n"
        "2. Then give a score, an integer from {scale_min} to {scale_max}, referring to the rubric.\n"
        '3. Output format: "Feedback: <feedback> [RESULT] <score>", or the JSON object '
        '{{"critique": "<feedback>", "score": <score>}}.\n\n'
        "###The instruction to evaluate:\n{prompt}\n\n###Response to evaluate:\n[The Start of Answer]\n{response}\n"
        "[The End of Answer]\n\n{reference_block}###Score Rubric:\n[{criterion}] {criterion_description}\n{rubric}\n\n"
        "###Feedback:"
    ),
    scale=(1, 5),
    levels={
        1: "The response fails the criterion entirely.",
        2: "The response addresses the criterion poorly, with major problems.",
        3: "The response partly meets the criterion; some problems remain.",
        4: "The response mostly meets the criterion, with minor problems.",
        5: "The response fully meets the criterion.",
    },
)

PAIRWISE = Template(
    name="pairwise",
    protocol="pairwise",
    system=(
        "Please act as an impartial judge and evaluate the two answers to the user prompt below. Identify and "
        "correct any mistakes, judge helpfulness, relevance, conciseness and missing important information. "
        "Do not let the order in which the answers are shown, their length or the assistants' names influence you."
    ),
    user=(
        "<|User Prompt|>\n{prompt}\n\n{reference_block}{criteria_list}"
        "[The Start of Assistant A's Answer]\n{response_a}\n[The End of Assistant A's Answer]\n\n"
        "[The Start of Assistant B's Answer]\n{response_b}\n[The End of Assistant B's Answer]\n\n"
        "Explain your comparison, then give your verdict, one of: [[A>>B]] (A is significantly better), [[A>B]] "
        "(A is slightly better), [[A=B]] (tie), [[B>A]] (B is slightly better), [[B>>A]] (B is significantly "
        'better). Reply with a JSON object only: {{"critique": "<your explanation>", "verdict": "<A>>B, '
        'A>B, A=B, B>A or B>>A>"}}; if you cannot reply in JSON, end with the verdict label, e.g. "My final '
        'verdict is [[A>B]]".'
    ),
)

BUILTIN = {t.name: t for t in (RUBRIC, PROMETHEUS, PAIRWISE)}


def load_template(name_or_path: str | Path) -> Template:
    """A built-in template by name, or a user template from a TOML file:

    name = "my-judge"            # optional, default: the file name
    protocol = "pointwise"       # or "pairwise"
    scale = [1, 5]               # pointwise only
    system = "..."               # optional
    user = "... {prompt} ... {response} ..."
    """
    key = str(name_or_path)
    if key in BUILTIN:
        return BUILTIN[key]
    path = Path(key)
    if not path.exists():
        raise UserError(f"unknown template {key!r}: use one of {', '.join(BUILTIN)} or a TOML file path")
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a valid TOML template: {exc}") from None
    protocol = spec.get("protocol", "pointwise")
    if protocol not in ("pointwise", "pairwise"):
        raise UserError(f"{path}: protocol must be 'pointwise' or 'pairwise', not {protocol!r}")
    if not isinstance(spec.get("user"), str) or not spec["user"].strip():
        raise UserError(f"{path}: a template needs a 'user' message")
    scale = spec.get("scale", [1, 10])
    if (
        not isinstance(scale, list)
        or len(scale) != 2
        or not all(isinstance(s, (int, float)) for s in scale)
        or scale[0] >= scale[1]
    ):
        raise UserError(f"{path}: scale must be [min, max] with min < max, not {scale!r}")
    unknown = sorted(set(spec) - {"name", "protocol", "scale", "system", "user", "reference_text"})
    if unknown:
        raise UserError(f"{path}: unknown key(s) {', '.join(unknown)}")
    t = Template(
        name=str(spec.get("name") or path.stem),
        protocol=protocol,
        system=spec.get("system", ""),
        user=spec["user"],
        scale=(float(scale[0]), float(scale[1])),
        **({"reference_text": spec["reference_text"]} if "reference_text" in spec else {}),
    )
    t.check(str(path))
    return t
