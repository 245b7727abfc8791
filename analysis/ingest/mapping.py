"""Column mappings for generic files: which source column plays which role, guessed or given."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError

# role -> common column names, tried case-insensitively in this order
GUESSES: dict[str, list[str]] = {
    "item_id": ["item_id", "question_id", "prompt_id", "example_id", "instance_id", "task_id"],
    "judgment_id": ["judgment_id", "id", "uid", "row_id"],
    "prompt": ["prompt", "instruction", "question", "input", "query", "user_prompt"],
    "reference": ["reference", "reference_answer", "ref_answer", "gold_answer", "ground_truth", "target"],
    "category": ["category", "subset", "task_type", "domain"],
    "model": ["model", "generator", "model_name", "model_id", "system"],
    "response": ["response", "output", "answer", "completion", "generation", "model_output", "prediction"],
    "judge": ["judge", "judge_model", "evaluator", "grader"],
    "score": ["score", "rating", "grade", "judge_score"],
    "scale_min": ["scale_min", "score_min", "min_score"],
    "scale_max": ["scale_max", "score_max", "max_score"],
    "critique": ["critique", "feedback", "explanation", "rationale", "reasoning", "justification", "evaluation",
                 "judgment", "evaluation_text", "comment"],
    "raw_output": ["raw_output", "raw_completion", "judge_output"],
    "criterion": ["criterion", "aspect", "dimension", "rubric_criterion"],
    "template": ["template", "strategy", "prompt_template"],
    "sample": ["sample", "sample_idx", "sample_index", "repeat"],
    "model_a": ["model_a", "model_1", "generator_a", "generator_1", "model1"],
    "model_b": ["model_b", "model_2", "generator_b", "generator_2", "model2"],
    "response_a": ["response_a", "output_a", "answer_a", "response_1", "output_1", "response1", "completion_a"],
    "response_b": ["response_b", "output_b", "answer_b", "response_2", "output_2", "response2", "completion_b"],
    "verdict": ["verdict", "winner", "preference", "decision", "choice"],
    "shown_first": ["shown_first", "first_shown"],
    "label_score": ["human_score", "gold_score", "label_score"],
    "label_verdict": ["human_verdict", "gold_verdict", "human_winner", "gold_winner", "human_preference", "gold_label"],
    "annotator": ["annotator", "rater", "labeler"],
}
ROLES = list(GUESSES)
FORMAT_OPTIONS = {"baseline": "arena-hard: the model shown as A in game 1 (default gpt-4-0314)"}
OPTIONS = {"dataset", "scale", "verdict_frame", "label_kind", "format", "criteria", "criteria_critiques", "columns",
           "constants", "labels"}


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)   # role -> source column
    constants: dict[str, Any] = field(default_factory=dict)  # role -> value for every row
    criteria: list[str] = field(default_factory=list)       # wide: one score column per criterion
    criteria_critiques: dict[str, str] = field(default_factory=dict)
    scale: tuple[float, float] | None = None
    dataset: str | None = None
    verdict_frame: str = "response"  # or "position": the verdict names the slot shown first/second
    label_kind: str = "human"
    format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns, "constants": self.constants, "criteria": self.criteria,
            "criteria_critiques": self.criteria_critiques, "scale": list(self.scale) if self.scale else None,
            "dataset": self.dataset, "verdict_frame": self.verdict_frame, "label_kind": self.label_kind,
        }


def parse_scale(text: str | list | tuple) -> tuple[float, float]:
    if isinstance(text, (list, tuple)) and len(text) == 2:
        lo, hi = text
    else:
        parts = str(text).replace("..", "-").replace(",", "-").split("-")
        if len(parts) != 2:
            raise UserError(f"scale {text!r} must look like 1-10")
        lo, hi = parts
    try:
        lo_f, hi_f = float(lo), float(hi)
    except ValueError:
        raise UserError(f"scale {text!r} must be two numbers, like 1-10") from None
    if not lo_f < hi_f:
        raise UserError(f"scale {text!r}: the minimum must be below the maximum")
    return lo_f, hi_f


def _check_role(role: str, where: str) -> None:
    if role not in GUESSES:
        raise UserError(f"{where}: unknown role {role!r}; roles are {', '.join(ROLES)}")


def load_mapping(spec: "Mapping | dict | str | Path | None", pairs: list[str] | None = None) -> Mapping:
    """A Mapping from a Mapping, a dict (TOML's shape), a TOML file path, plus `role=column` pairs."""
    if isinstance(spec, Mapping):
        mapping = spec
    elif spec is None:
        mapping = Mapping()
    elif isinstance(spec, dict):
        mapping = _from_dict(spec, "mapping")
    else:
        path = Path(spec)
        if not path.exists():
            raise UserError(f"mapping file {path} does not exist")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{path}: invalid TOML: {exc}") from None
        mapping = _from_dict(data, str(path))
    for pair in pairs or []:
        if "=" not in pair:
            raise UserError(f"--map {pair!r}: expected ROLE=COLUMN (or a TOML file)")
        role, column = (s.strip() for s in pair.split("=", 1))
        if role == "scale":
            mapping.scale = parse_scale(column)
        elif role == "dataset":
            mapping.dataset = column
        elif role == "criteria":
            mapping.criteria = [c.strip() for c in column.split(",") if c.strip()]
        else:
            _check_role(role, f"--map {pair}")
            mapping.columns[role] = column
    return mapping


def _from_dict(data: dict[str, Any], where: str) -> Mapping:
    unknown = set(data) - OPTIONS - set(GUESSES)
    if unknown:
        raise UserError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; expected [columns], [constants], "
                        f"criteria, scale, dataset, verdict_frame, label_kind")
    m = Mapping()
    columns = dict(data.get("columns", {}))
    for role in GUESSES:  # top-level role = column is accepted too
        if role in data:
            columns[role] = data[role]
    for role, col in columns.items():
        _check_role(role, where)
        m.columns[role] = str(col)
    for role, value in dict(data.get("constants", {})).items():
        if role not in FORMAT_OPTIONS:
            _check_role(role, f"{where} [constants]")
        m.constants[role] = value
    if "scale" in data:
        m.scale = parse_scale(data["scale"])
    m.criteria = [str(c) for c in data.get("criteria", [])]
    m.criteria_critiques = {str(k): str(v) for k, v in dict(data.get("criteria_critiques", {})).items()}
    m.dataset = data.get("dataset")
    m.verdict_frame = data.get("verdict_frame", "response")
    if m.verdict_frame not in ("response", "position"):
        raise UserError(f"{where}: verdict_frame must be 'response' or 'position'")
    m.label_kind = data.get("label_kind", "human")
    if m.label_kind not in ("human", "gold"):
        raise UserError(f"{where}: label_kind must be 'human' or 'gold'")
    m.format = data.get("format")
    return m


def resolve(mapping: Mapping, columns: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Roles -> columns present in the file: the given ones (checked) plus guesses for the rest.

    Returns (resolved, guessed)."""
    lower = {c.lower(): c for c in columns}
    resolved: dict[str, str] = {}
    for role, col in mapping.columns.items():
        if col not in columns:
            hint = lower.get(col.lower())
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise UserError(f"column {col!r} mapped to {role} is not in the file{extra}; columns: {', '.join(columns)}")
        resolved[role] = col
    used = set(resolved.values()) | set(mapping.criteria) | set(mapping.criteria_critiques.values())
    guessed: dict[str, str] = {}
    for role, names in GUESSES.items():
        if role in resolved or role in mapping.constants:
            continue
        for name in names:
            col = lower.get(name)
            if col is not None and col not in used:
                resolved[role] = col
                guessed[role] = col
                used.add(col)
                break
    # a pair of responses means pairwise: then `response`/`model` guesses are not the pair's
    return resolved, guessed
