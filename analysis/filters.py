"""One Filter value for the CLI (--filter), notebooks and dashboard links.

It compiles to a parameterised WHERE clause over `judgment_view` and round-trips to a URL query
string, e.g. `judge=GPT-4&template=Swap_CoT&score_max=3&meta.subset=LLMBar/Natural`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .errors import UserError
from .sql import json_path, placeholders
from .verdicts import shown_sql, winner_sql

LIST_KEYS = (
    "model",
    "judge",
    "criterion",
    "template",
    "dataset",
    "run",
    "protocol",
    "status",
    "category",
    "issue",
    "issue_all",
    "issue_none",
    "issue_only",
    "probe",
    "item",
    "swap",
    "won",
)
ISSUE_KEYS = ("issue", "issue_all", "issue_none", "issue_only")
NUMBER_KEYS = ("score_min", "score_max", "norm_min", "norm_max")
TEXT_KEYS = ("q", "issue_set", "label")
LABEL_VALUES = ("any", "none", "disagree")
# pairwise: how a judgment fared against its swapped twin (the same pair, judge, template, criterion and sample
# shown in the other order), and which response it preferred
SWAP_VALUES = ("consistent", "inconsistent", "flipped", "first_twice", "second_twice", "unpaired")
WON_VALUES = ("first", "second", "tie", "longer", "shorter", "none")
CHOICES = {
    "swap": SWAP_VALUES,
    "won": WON_VALUES,
    "protocol": ("pointwise", "pairwise"),
    "status": ("ok", "unparsed", "missing"),
}
OVERALL = "overall"  # the criterion value for whole-response judgments (criterion IS NULL)
NONE = "(none)"  # the value of a missing template or category (IS NULL), as group labels show it
NULLABLE = ("template", "category")
ANY_PROBE = "any"  # probe=any: probe variants and plain judgments alike (default: plain judgments only)
# filter key -> column of judgment_view
COLUMNS = {
    "judge": "judge",
    "template": "template",
    "dataset": "dataset",
    "run": "run_id",
    "protocol": "protocol",
    "status": "parse_status",
    "category": "category",
}


# a bound on what one selection may ask, so no link makes a query run for minutes: each issue condition is a join
MAX_ISSUE_CONDITIONS = 50
MAX_VALUES = 1000


@dataclass(frozen=True)
class Filter:
    """Which judgments to look at. Empty fields select everything."""

    model: tuple[str, ...] = ()
    judge: tuple[str, ...] = ()
    criterion: tuple[str, ...] = ()
    template: tuple[str, ...] = ()
    dataset: tuple[str, ...] = ()
    run: tuple[str, ...] = ()
    protocol: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    issue: tuple[str, ...] = ()  # has any of these issues (CLEAR's OR)
    issue_all: tuple[str, ...] = ()  # has all of them (AND)
    issue_none: tuple[str, ...] = ()  # has none of them (NOT)
    issue_only: tuple[str, ...] = ()  # has at least one issue, and no issue outside these
    probe: tuple[str, ...] = ()  # bias-probe variants: none (default), these probes, or "any" (everything)
    item: tuple[str, ...] = ()  # these items (item ids)
    swap: tuple[str, ...] = ()  # pairwise, against the swapped twin: consistent, inconsistent, first_twice, ...
    won: tuple[str, ...] = ()  # pairwise, the preferred response: first, second, tie, longer, shorter, none
    issue_set: str | None = None  # which issue set the issue ids belong to (default: the newest)
    label: str | None = None  # human/gold label: any (present), none (absent), disagree (with the judge)
    score_min: float | None = None
    score_max: float | None = None
    norm_min: float | None = None  # normalised score (0-1) bounds, for selections across scales
    norm_max: float | None = None
    q: str | None = None
    meta: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def make(cls, **kwargs: Any) -> "Filter":
        """Filter.make(judge="GPT-4", model=["a", "b"], meta={"subset": "LLMBar/Natural"}, score_max=3). The same
        checks as a query string (one door: from_pairs): a bad value raises UserError."""
        pairs: list[tuple[str, str]] = []
        for key, value in kwargs.items():
            if value is None:
                continue
            if key == "meta":
                for k, v in dict(value).items():
                    pairs.extend((f"meta.{k}", str(x)) for x in ((v,) if isinstance(v, str) else v))
            elif key in LIST_KEYS:
                pairs.extend((key, str(v)) for v in ((value,) if isinstance(value, str) else value))
            elif key in NUMBER_KEYS:
                pairs.append((key, repr(float(value)) if isinstance(value, (int, float)) else str(value)))
            elif key in TEXT_KEYS:
                if str(value):
                    pairs.append((key, str(value)))
            else:
                raise UserError(f"unknown filter key {key!r}; keys are {', '.join(_field_names())} and meta")
        return cls.from_pairs(pairs, strict=True)[0]

    @classmethod
    def parse(cls, query: str | None, strict: bool = True) -> tuple["Filter", list[str]]:
        """Parse a query string. strict: raise UserError on the first bad key or value; otherwise
        skip bad parts and return one warning per part skipped."""
        if isinstance(query, Filter):
            return query, []
        pairs = parse_qsl((query or "").lstrip("?"), keep_blank_values=False)
        return cls.from_pairs(pairs, strict=strict)

    @classmethod
    def from_pairs(
        cls, pairs: list[tuple[str, str]], strict: bool = True, ignore: tuple[str, ...] = ()
    ) -> tuple["Filter", list[str]]:
        lists: dict[str, list[str]] = {}
        meta: dict[str, list[str]] = {}
        numbers: dict[str, float] = {}
        text: dict[str, str] = {}
        warnings: list[str] = []

        def bad(msg: str) -> None:
            if strict:
                raise UserError(msg)
            warnings.append(msg)

        for key, value in pairs:
            key = key.strip()
            if key in ignore:
                continue
            if key in CHOICES and value not in CHOICES[key]:
                bad(f"filter {key}={value!r}: expected one of {', '.join(CHOICES[key])}")
                continue
            if key in LIST_KEYS:
                lists.setdefault(key, []).append(value)
            elif key.startswith("meta.") and len(key) > 5:
                meta.setdefault(key[5:], []).append(value)
            elif key in NUMBER_KEYS:
                try:
                    number = float(value)
                except ValueError:
                    bad(f"filter {key}={value!r}: not a number")
                    continue
                if not math.isfinite(number):
                    bad(f"filter {key}={value!r}: not a finite number")
                    continue
                numbers[key] = number
            elif key == "label" and value not in LABEL_VALUES:
                bad(f"filter label={value!r}: expected any, none or disagree")
            elif key in TEXT_KEYS:
                text[key] = value
            else:
                bad(f"unknown filter key {key!r}; keys are {', '.join(_field_names())} and meta.<name>")
        for key, values in [*lists.items(), *((f"meta.{k}", v) for k, v in meta.items())]:
            limit = MAX_ISSUE_CONDITIONS if key in ISSUE_KEYS else MAX_VALUES
            values[:] = list(dict.fromkeys(values))
            if len(values) > limit:
                bad(f"filter {key} has {len(values):,} values; at most {limit} are read (narrow the selection)")
                del values[limit:]
        for lo, hi in (("score_min", "score_max"), ("norm_min", "norm_max")):
            if lo in numbers and hi in numbers and numbers[lo] > numbers[hi]:
                bad(f"filter {lo}={numbers[lo]:g} is above {hi}={numbers[hi]:g}")
                numbers.pop(lo)
                numbers.pop(hi)
        fields: dict[str, Any] = {k: tuple(dict.fromkeys(v)) for k, v in lists.items()}
        fields.update(numbers)
        fields.update(text)
        fields["meta"] = tuple(sorted((k, tuple(dict.fromkeys(v))) for k, v in meta.items()))
        f = cls(**fields)
        return f, warnings

    # ---- round trip ---------------------------------------------------------------------------
    def to_pairs(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for key in LIST_KEYS:
            pairs.extend((key, v) for v in getattr(self, key))
        for key, values in self.meta:
            pairs.extend((f"meta.{key}", v) for v in values)
        for key in NUMBER_KEYS:
            value = getattr(self, key)
            if value is not None:
                pairs.append((key, _number_text(value)))
        for key in TEXT_KEYS:
            if getattr(self, key):
                pairs.append((key, getattr(self, key)))
        return pairs

    def to_query(self) -> str:
        return urlencode(self.to_pairs())

    def to_dict(self) -> dict[str, list[str]]:
        """Query parameters as lists, the shape of st.query_params.from_dict."""
        out: dict[str, list[str]] = {}
        for k, v in self.to_pairs():
            out.setdefault(k, []).append(v)
        return out

    def is_empty(self) -> bool:
        return not self.to_pairs()

    def __str__(self) -> str:
        return self.to_query() or "(everything)"

    def describe(self) -> str:
        """Readable, decoded: 'judge = GPT-4, Falcon; score ≤ 3'."""
        parts = []
        grouped = self.to_dict()
        for key, values in grouped.items():
            label = {
                "score_min": "score ≥",
                "score_max": "score ≤",
                "norm_min": "normalised score ≥",
                "norm_max": "normalised score ≤",
                "q": "text contains",
                "issue": "any issue of",
                "swap": "against its swapped twin:",
                "won": "preferred:",
                "issue_all": "all issues of",
                "issue_none": "no issue of",
                "issue_only": "only issues of",
                "issue_set": "issue set",
                "label": "human or gold label:",
            }.get(key, key + " =")
            whose = " (in these models' responses)" if key in ISSUE_KEYS and self.model else ""
            parts.append(f"{label} {', '.join(values)}{whose}")
        return "; ".join(parts) or "everything"

    # ---- SQL ----------------------------------------------------------------------------------
    def where(self, alias: str = "j") -> tuple[str, list[Any]]:
        """A WHERE clause body over judgment_view (as `alias`) and its parameters."""
        a = alias + "."
        clauses: list[str] = []
        params: list[Any] = []

        def marks(values: tuple[str, ...]) -> str:
            params.extend(values)
            return placeholders(len(values))

        if self.model:
            clauses.append(
                f"({a}model IN ({marks(self.model)}) OR {a}model_a IN ({marks(self.model)}) "
                f"OR {a}model_b IN ({marks(self.model)}))"
            )
        for key, column in COLUMNS.items():
            values = getattr(self, key)
            if not values:
                continue
            named = tuple(v for v in values if not (key in NULLABLE and v == NONE))
            parts = [f"{a}{column} IN ({marks(named)})"] if named else []
            if len(named) < len(values):
                parts.append(f"{a}{column} IS NULL")
            clauses.append("(" + " OR ".join(parts) + ")")
        if self.criterion:
            named = tuple(v for v in self.criterion if v != OVERALL)
            parts = []
            if named:
                parts.append(f"{a}criterion IN ({marks(named)})")
            if OVERALL in self.criterion:
                parts.append(f"{a}criterion IS NULL")
            clauses.append("(" + " OR ".join(parts) + ")")
        if not self.probe:
            clauses.append(f"{a}probe IS NULL")  # a perturbed input is no judgment of the model's answer
        elif ANY_PROBE not in self.probe:
            clauses.append(f"{a}probe IN ({marks(self.probe)})")
        for bound, test in (
            (self.score_min, "score >= ?"),
            (self.score_max, "score <= ?"),
            (self.norm_min, "score_norm >= ?"),
            (self.norm_max, "score_norm <= ?"),
        ):
            if bound is not None:
                clauses.append(a + test)
                params.append(bound)
        for key, values in self.meta:
            path = json_path(key)
            clauses.append(
                f"coalesce(json_extract_string({a}meta, ?), json_extract_string({a}item_meta, ?)) "
                f"IN ({placeholders(len(values))})"
            )
            params.extend([path, path, *values])
        if self.item:
            clauses.append(f"{a}item_id IN ({marks(self.item)})")
        if self.swap:
            clauses.append("(" + " OR ".join(_swap_sql(a, v) for v in self.swap) + ")")
        if self.won:
            clauses.append("(" + " OR ".join(_won_sql(a, v) for v in self.won) + ")")
        if self.label:
            clauses.append(_label_sql(a, self.label))
        if any(getattr(self, k) for k in ISSUE_KEYS):
            clauses.append(self._issue_sql(a, params))
        if self.q:
            pattern = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append(
                f"({a}critique ILIKE ? ESCAPE '\\' OR {a}prompt ILIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM responses rs "
                f"WHERE rs.response_id IN ({a}response_id, {a}response_a, {a}response_b) AND rs.text ILIKE ? ESCAPE '\\'))"
            )
            params.extend([pattern, pattern, pattern])
        return (" AND ".join(clauses) or "TRUE"), params

    def _issue_sql(self, a: str, params: list[Any]) -> str:
        """Issue conditions over the segments of each judgment in one issue set."""
        if self.issue_set:
            set_sql = "?"
            set_params = [self.issue_set]
        else:
            set_sql = "(SELECT issue_set_id FROM issue_sets ORDER BY created_at DESC LIMIT 1)"
            set_params = []

        def has(ids: tuple[str, ...] | None, negate_ids: bool = False) -> str:
            cond = ""
            if ids is not None:
                cond = f" AND si.issue_id {'NOT ' if negate_ids else ''}IN ({', '.join('?' for _ in ids)})"
            if self.model:
                # with models chosen, an issue counts where it is about their response (as prevalence counts it): in a
                # pairwise judgment, the opponent's issue is not the model's
                models = placeholders(len(self.model))
                cond += f" AND sg.response_id IN (SELECT r.response_id FROM responses r WHERE r.model IN ({models}))"
            params.extend(set_params)
            if ids is not None:
                params.extend(ids)
            params.extend(self.model)
            return (
                f"EXISTS (SELECT 1 FROM segment_issues si JOIN segments sg USING (issue_set_id, segment_id) "
                f"JOIN issues iss ON iss.issue_set_id = si.issue_set_id AND iss.issue_id = si.issue_id "
                f"AND iss.status = 'active' WHERE si.issue_set_id = {set_sql} AND sg.judgment_id = {a}judgment_id{cond})"
            )

        parts = []
        if self.issue:
            parts.append(has(self.issue))
        for one in self.issue_all:
            parts.append(has((one,)))
        if self.issue_none:
            parts.append("NOT " + has(self.issue_none))
        if self.issue_only:
            parts.append(has(self.issue_only))
            parts.append("NOT " + has(self.issue_only, negate_ids=True))
        return "(" + " AND ".join(parts) + ")"


def _number_text(value: float) -> str:
    """A bound as the URL shows it: short when that is exact (3, 0.25), else every digit (round-trips)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def _winner(x: str) -> str:
    return winner_sql(x)


def _first(x: str) -> str:
    return shown_sql(x, "first", known_only=True)


def _swap_sql(a: str, mode: str) -> str:
    """A pairwise judgment against its swapped twin: the same judge, item, pair (in either slot order), template,
    criterion and sample with the other response shown first (probe variants have none). Verdicts are compared
    as the responses they name, as the audit's swap metrics do (analysis/reliability/position.py)."""
    t = "t."
    twin = (
        f"t.item_id = {a}item_id AND t.judge = {a}judge AND t.protocol = 'pairwise' AND t.probe IS NULL "
        f"AND t.template IS NOT DISTINCT FROM {a}template AND t.criterion IS NOT DISTINCT FROM {a}criterion "
        f"AND t.sample = {a}sample AND least(t.response_a, t.response_b) = least({a}response_a, {a}response_b) "
        f"AND greatest(t.response_a, t.response_b) = greatest({a}response_a, {a}response_b) "
        f"AND {_first(t)} <> {_first(a)}"
    )
    base = (
        f"{a}protocol = 'pairwise' AND {a}shown_first IS NOT NULL AND {a}probe IS NULL "
        f"AND {a}response_a IS DISTINCT FROM {a}response_b"
    )
    wa, wt = _winner(a), _winner(t)
    cond = {
        "consistent": f"{wt} = {wa}",
        "inconsistent": f"{wt} <> {wa}",
        "flipped": f"{wt} <> {wa} AND {wt} <> 'tie' AND {wa} <> 'tie'",
        "first_twice": f"{wt} = {_first(t)} AND {wa} = {_first(a)}",
        "second_twice": f"{wt} NOT IN ({_first(t)}, 'tie') AND {wa} NOT IN ({_first(a)}, 'tie')",
    }
    if mode == "unpaired":
        return f"({base} AND NOT EXISTS (SELECT 1 FROM judgments t WHERE {twin}))"
    return f"({base} AND {a}verdict IS NOT NULL AND EXISTS (SELECT 1 FROM judgments t WHERE {twin} AND {cond[mode]}))"


def _won_sql(a: str, mode: str) -> str:
    """Which response a pairwise verdict preferred: the first or second shown, the longer or shorter, a tie, none."""
    pw = f"{a}protocol = 'pairwise' AND {a}response_a IS DISTINCT FROM {a}response_b"  # as the audit reads them
    return {
        "first": f"({pw} AND {a}verdict = {a}shown_first)",
        "second": f"({pw} AND {a}shown_first IS NOT NULL AND {a}verdict NOT IN ({a}shown_first, 'tie'))",
        "tie": f"({pw} AND {a}verdict = 'tie')",
        "none": f"({pw} AND {a}verdict IS NULL)",
        "longer": f"({pw} AND (({a}verdict = 'a' AND {a}n_chars_a > {a}n_chars_b) OR "
        f"({a}verdict = 'b' AND {a}n_chars_b > {a}n_chars_a)))",
        "shorter": f"({pw} AND (({a}verdict = 'a' AND {a}n_chars_a < {a}n_chars_b) OR "
        f"({a}verdict = 'b' AND {a}n_chars_b < {a}n_chars_a)))",
    }[mode]


def _label_sql(a: str, mode: str) -> str:
    """Labels on the judgment's own response (pointwise) or pair (pairwise, in either order)."""
    same = (
        f"l.item_id = {a}item_id AND ((l.response_id IS NOT NULL AND l.response_id = {a}response_id) OR "
        f"(l.response_a IS NOT NULL AND least(l.response_a, l.response_b) = least({a}response_a, {a}response_b) "
        f"AND greatest(l.response_a, l.response_b) = greatest({a}response_a, {a}response_b)))"
    )
    if mode == "any":
        return f"EXISTS (SELECT 1 FROM labels l WHERE {same})"
    if mode == "none":
        return f"NOT EXISTS (SELECT 1 FROM labels l WHERE {same})"
    # disagree: a label whose verdict names another response (or tie), or whose score is 0.25+ away
    return (
        f"EXISTS (SELECT 1 FROM labels l WHERE {same} AND ("
        f"(l.verdict IS NOT NULL AND {winner_sql('l.')} IS DISTINCT FROM {winner_sql(a)}) OR "
        f"(l.score_norm IS NOT NULL AND abs(l.score_norm - {a}score_norm) >= 0.25)))"
    )


def _field_names() -> list[str]:
    return [f.name for f in fields(Filter) if f.name != "meta"]


def as_filter(value: "Filter | str | dict | None") -> Filter:
    """Accept a Filter, a query string or keyword dict wherever a filter is taken."""
    if value is None:
        return Filter()
    if isinstance(value, Filter):
        return value
    if isinstance(value, str):
        return Filter.parse(value)[0]
    if isinstance(value, dict):
        return Filter.make(**value)
    raise UserError(f"a filter must be a Filter, a query string or a dict, not {type(value).__name__}")


def unknown_values(flt: Filter, known: Callable[[str], Iterable[str]], fields: Iterable[str]) -> list[tuple[str, str]]:
    """(field, value) for each value of `fields` the filter asks for that `known(field)` does not list: a name the
    workspace does not have selects nothing (the CLI warns of it, the dashboard's link warns and drops it)."""
    out = []
    for name in fields:
        asked = getattr(flt, name)
        if asked:
            have = set(known(name))
            out += [(name, v) for v in asked if v not in have]
    return out
