"""Column mappings for generic files: which source column plays which role, guessed or given."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..sections import CRITIQUE, SECTIONS

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
    "critique": list(CRITIQUE),
    # a critique written in fields: joined after the critique under their headers (analysis/sections.py)
    **{role: list(names) for role, (_, names) in SECTIONS.items()},
    "raw_output": ["raw_output", "raw_completion", "judge_output"],
    "criterion": ["criterion", "aspect", "dimension", "rubric_criterion"],
    "template": ["template", "strategy", "prompt_template"],
    "sample": ["sample", "sample_idx", "sample_index", "repeat"],
    "model_a": ["model_a", "model_1", "generator_a", "generator_1", "model1"],
    "model_b": ["model_b", "model_2", "generator_b", "generator_2", "model2"],
    "response_a": [
        "response_a",
        "output_a",
        "answer_a",
        "response_1",
        "output_1",
        "response1",
        "completion_a",
    ],
    "response_b": [
        "response_b",
        "output_b",
        "answer_b",
        "response_2",
        "output_2",
        "response2",
        "completion_b",
    ],
    "verdict": ["verdict", "winner", "preference", "decision", "choice"],
    # a pairwise judge that scores each answer (FastChat's Vicuna-80 reviews: "8 9"): the higher one wins
    "score_a": ["score_a", "score_1", "rating_a", "rating_1", "score1"],
    "score_b": ["score_b", "score_2", "rating_b", "rating_2", "score2"],
    "shown_first": ["shown_first", "first_shown"],
    "label_score": ["human_score", "gold_score", "label_score"],
    "label_verdict": ["human_verdict", "gold_verdict", "human_winner", "gold_winner", "human_preference", "gold_label"],
    "annotator": ["annotator", "rater", "labeler"],
}
ROLES = list(GUESSES)
NUMERIC_ROLES = ["score", "scale_min", "scale_max", "label_score", "sample", "score_a", "score_b"]  # numbers
FORMAT_OPTIONS = {"baseline": "arena-hard: the model shown as A in game 1 (default gpt-4-0314)"}
OPTIONS = {
    "dataset",
    "scale",
    "verdict_frame",
    "label_kind",
    "format",
    "criteria",
    "criteria_critiques",
    "columns",
    "constants",
    "labels",
}


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)  # role -> source column
    constants: dict[str, Any] = field(default_factory=dict)  # role -> value for every row
    criteria: list[str] = field(default_factory=list)  # wide: one score column per criterion
    criteria_critiques: dict[str, str] = field(default_factory=dict)
    scale: tuple[float, float] | None = None
    dataset: str | None = None
    verdict_frame: str = "response"  # or "position": the verdict names the slot shown first/second
    label_kind: str = "human"
    format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "constants": self.constants,
            "criteria": self.criteria,
            "criteria_critiques": self.criteria_critiques,
            "scale": list(self.scale) if self.scale else None,
            "dataset": self.dataset,
            "verdict_frame": self.verdict_frame,
            "label_kind": self.label_kind,
        }


_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_SCALE = re.compile(rf"\s*({_NUM})\s*(?:\.\.|-|–|,|:|to)\s*({_NUM})\s*")


def _finite(value: Any) -> float | None:
    """A number (or numeric text) as a finite float; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not re.fullmatch(rf"\s*{_NUM}\s*", value):
            return None
        value = float(value)
    if not isinstance(value, (int, float)):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def parse_scale(text: str | list | tuple) -> tuple[float, float]:
    """'1-10', '-5..5', '0,1', '1 to 7' or [1, 10] -> (min, max): finite numbers, min below max."""
    if isinstance(text, (list, tuple)):
        if len(text) != 2:
            raise UserError(f"scale {list(text)!r} must be two numbers, like [1, 10]")
        lo, hi = (_finite(v) for v in text)
    else:
        m = _SCALE.fullmatch(str(text))
        if not m:
            raise UserError(f"scale {text!r} must look like 1-10 (two numbers: 1-10, -5..5, 0,1)")
        lo, hi = _finite(m.group(1)), _finite(m.group(2))
    if lo is None or hi is None:
        raise UserError(f"scale {text!r} must be two finite numbers, like 1-10")
    if not lo < hi:
        raise UserError(f"scale {text!r}: the minimum must be below the maximum")
    return lo, hi


def constant_value(role: str, value: Any, where: str) -> Any:
    """A checked constant: one scalar value; a number for the numeric roles (a whole one for sample)."""
    if isinstance(value, (dict, list, tuple)) or value is None:
        raise UserError(f"{where}: the constant for {role} must be a single value, got {value!r}")
    if role not in NUMERIC_ROLES:
        return value
    number = _finite(value)
    if number is None:
        raise UserError(f"{where}: {role} = {value!r} is not a number (a constant for {role} must be one)")
    if role == "sample" and (number != int(number) or number < 0):
        raise UserError(f"{where}: sample = {value!r} must be a whole number, 0 or more")
    return number


def numeric_constants(mapping: "Mapping", where: str = "mapping") -> dict[str, float]:
    """The mapping's numeric constants as floats, checked (also against each other)."""
    out = {r: constant_value(r, mapping.constants[r], where) for r in NUMERIC_ROLES if r in mapping.constants}
    if "scale_min" in out and "scale_max" in out and not out["scale_min"] < out["scale_max"]:
        raise UserError(f"{where}: scale_min {out['scale_min']:g} must be below scale_max {out['scale_max']:g}")
    return out


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
            raise UserError(f"{path}: invalid TOML: {_one_line(exc)}") from None
        except UnicodeDecodeError:
            raise UserError(f"{path}: a mapping file must be UTF-8 TOML text") from None
        except OSError as exc:
            raise UserError(f"mapping file {path}: {exc.strerror or exc}") from None
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


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise UserError(f"{where}: {key} must be a table of name = value, got {value!r}")
    return value


def _names(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        return [c.strip() for c in value.split(",") if c.strip()]
    if not isinstance(value, list) or not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in value):
        raise UserError(f"{where}: {key} must be a list of column names, got {value!r}")
    return [str(c) for c in value]


def _from_dict(data: dict[str, Any], where: str) -> Mapping:
    unknown = set(data) - OPTIONS - set(GUESSES)
    if unknown:
        raise UserError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; expected [columns], [constants], "
            f"criteria, scale, dataset, verdict_frame, label_kind"
        )
    m = Mapping()
    columns = dict(_table(data, "columns", where))
    for role in GUESSES:  # top-level role = column is accepted too
        if role in data:
            columns[role] = data[role]
    for role, col in columns.items():
        _check_role(role, where)
        if isinstance(col, (dict, list)):
            raise UserError(f"{where}: the column for {role} must be a name, got {col!r}")
        m.columns[role] = str(col)
    for role, value in _table(data, "constants", where).items():
        if role not in FORMAT_OPTIONS:
            _check_role(role, f"{where} [constants]")
        constant_value(role, value, f"{where} [constants]")  # checked; kept as given (it is part of the run id)
        m.constants[role] = value
    numeric_constants(m, f"{where} [constants]")
    if "scale" in data:
        m.scale = parse_scale(data["scale"])
    m.criteria = _names(data.get("criteria", []), "criteria", where)
    m.criteria_critiques = {str(k): str(v) for k, v in _table(data, "criteria_critiques", where).items()}
    m.dataset = None if data.get("dataset") is None else str(data.get("dataset"))
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
            found = lower.get(name)
            if found is not None and found not in used:
                resolved[role] = found
                guessed[role] = found
                used.add(found)
                break
    # a pair of responses means pairwise: then `response`/`model` guesses are not the pair's
    return resolved, guessed
