"""The lexicon of issue and strength names (lexicon.toml), and user additions in the same format."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserError
from .evidence import EVIDENCE

KINDS = ("issue", "strength", "verdict")  # verdict: a restatement, in neither list


@dataclass(frozen=True)
class Entry:
    kind: str  # issue | strength
    label: str
    category: str
    description: str
    cues: tuple[str, ...]
    opposite: str | None = None  # strengths: the issue of a response the other one is praised against
    says: tuple[str, ...] = ()  # issues: patterns (on lower-cased text) of a sentence that states this failure
    needs: str | None = None  # "reference": only where the judge was given a reference answer
    evidence: str | None = None  # the response fact (evidence.py) a sentence saying this restates
    contrast_says: tuple[str, ...] = ()  # patterns of a reason the other answer won ("it is more concise")
    instead_of: tuple[str, ...] = ()  # more general entries a sentence saying this does not also get
    # a general entry ("Incorrect answer"): a critique counts for it only when it states none of these, more
    # specific failures, about the same response ("is incorrect … 5 + 5 is not 11": a calculation error)
    unless_stated: tuple[str, ...] = ()
    # patterns read only where the item's prompt states no explicit constraint (a limit, a format, "do not …";
    # detect.states_constraint): there "does not follow the instruction" says the response did something else
    says_if_unconstrained: tuple[str, ...] = ()
    # (an entry with `evidence`) more general entries that, said of a response showing the fact, restate it: "does not
    # provide the requested information" of a response that refused is the refusal
    restated_by: tuple[str, ...] = ()
    # patterns read only of a response that gives a program (evidence.shows_code): there "the answer does not
    # correctly handle the collisions" is what its code does
    says_if_code: tuple[str, ...] = ()
    # patterns of a sentence that, whatever else it says, does not state this failure ("the same reasoning as in the
    # reference answer" is no difference from it)
    says_not: tuple[str, ...] = ()

    def texts(self) -> list[str]:
        """What is embedded for this entry (its vector is their mean)."""
        return [self.label, self.description, *self.cues]


@dataclass(frozen=True)
class Lexicon:
    entries: tuple[Entry, ...]
    categories: dict[str, str]  # key -> "Title: description"

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    def entry(self, kind: str, label: str) -> Entry:
        return next(e for e in self.entries if e.kind == kind and e.label == label)

    def category_title(self, key: str | None) -> str:
        if not key:
            return "Other"
        text = self.categories.get(key, key)
        return text.split(":", 1)[0].strip()

    def digest(self) -> str:
        body = json.dumps(
            [
                [
                    e.kind,
                    e.label,
                    e.category,
                    e.description,
                    list(e.cues),
                    list(e.says),
                    e.needs,
                    e.evidence,
                    list(e.contrast_says),
                    list(e.instead_of),
                    list(e.unless_stated),
                    list(e.says_if_unconstrained),
                    list(e.restated_by),
                    list(e.says_if_code),
                    list(e.says_not),
                ]
                for e in self.entries
            ]
            + [sorted(self.categories.items())],
            ensure_ascii=False,
        )
        return hashlib.md5(body.encode()).hexdigest()[:12]


def _parse(data: dict, where: str) -> tuple[list[Entry], dict[str, str]]:
    cats = data.get("categories", {})
    if not isinstance(cats, dict) or not all(isinstance(v, str) for v in cats.values()):
        raise UserError(f"{where}: [categories] must map names to descriptions")
    entries = []
    for kind in KINDS:
        for i, e in enumerate(data.get(kind, []), start=1):
            if not isinstance(e, dict) or not isinstance(e.get("label"), str) or not e["label"].strip():
                raise UserError(f"{where}: [[{kind}]] number {i} needs a label")
            cues = e.get("cues", [])
            if not isinstance(cues, list) or not all(isinstance(c, str) for c in cues):
                raise UserError(f"{where}: [[{kind}]] {e['label']!r}: cues must be a list of strings")
            says, contrast_says = e.get("says", []), e.get("contrast_says", [])
            if_unconstrained, if_code = e.get("says_if_unconstrained", []), e.get("says_if_code", [])
            says_not = e.get("says_not", [])
            for name, value in (
                ("says", says),
                ("contrast_says", contrast_says),
                ("says_if_unconstrained", if_unconstrained),
                ("says_if_code", if_code),
                ("says_not", says_not),
            ):
                if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                    raise UserError(f"{where}: [[{kind}]] {e['label']!r}: {name} must be a list of patterns")
            for pattern in [*says, *contrast_says, *if_unconstrained, *if_code, *says_not]:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise UserError(
                        f"{where}: [[{kind}]] {e['label']!r}: pattern {pattern!r} is not a valid "
                        f"regular expression ({exc})"
                    ) from None
            instead_of, unless_stated = e.get("instead_of", []), e.get("unless_stated", [])
            restated_by = e.get("restated_by", [])
            for name, value in (
                ("instead_of", instead_of),
                ("unless_stated", unless_stated),
                ("restated_by", restated_by),
            ):
                if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                    raise UserError(f"{where}: [[{kind}]] {e['label']!r}: {name} must be a list of labels")
            needs = e.get("needs")
            if needs not in (None, "reference"):
                raise UserError(f'{where}: [[{kind}]] {e["label"]!r}: needs must be "reference"')
            evidence = e.get("evidence")
            if evidence is not None and evidence not in EVIDENCE:
                raise UserError(f"{where}: [[{kind}]] {e['label']!r}: evidence must be one of {', '.join(EVIDENCE)}")
            if restated_by and evidence is None:
                raise UserError(f"{where}: [[{kind}]] {e['label']!r}: restated_by needs an evidence fact")
            entries.append(
                Entry(
                    kind,
                    e["label"].strip(),
                    str(e.get("category") or ""),
                    str(e.get("description") or e["label"]).strip(),
                    tuple(cues),
                    str(e["opposite"]) if e.get("opposite") else None,
                    tuple(says),
                    needs,
                    evidence,
                    tuple(contrast_says),
                    tuple(instead_of),
                    tuple(unless_stated),
                    tuple(if_unconstrained),
                    tuple(restated_by),
                    tuple(if_code),
                    tuple(says_not),
                )
            )
    unknown = sorted(set(data) - {"categories", *KINDS})
    if unknown:
        raise UserError(
            f"{where}: unknown section(s) {', '.join(unknown)}; expected [categories], [[issue]], "
            f"[[strength]], [[verdict]]"
        )
    return entries, dict(cats)


def load(extra: str | Path | None = None) -> Lexicon:
    """The built-in lexicon, plus the entries (and categories) of a user TOML file."""
    text = resources.files("analysis.issues").joinpath("lexicon.toml").read_text(encoding="utf-8")
    entries, cats = _parse(tomllib.loads(text), "lexicon.toml")
    if extra:
        path = Path(extra)
        if not path.exists():
            raise UserError(f"lexicon file {path} does not exist")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: not a valid TOML lexicon: {str(exc).splitlines()[0]}") from None
        more, more_cats = _parse(data, str(path))
        cats.update(more_cats)
        entries += more
    issues = {e.label for e in entries if e.kind == "issue"}
    for e in entries:
        same = {x.label for x in entries if x.kind == e.kind}
        unknown = [x for x in e.instead_of if x not in same]
        if unknown:
            raise UserError(f"lexicon: {e.label!r} is instead of {', '.join(map(repr, unknown))}, not {e.kind} labels")
        unknown = [x for x in e.unless_stated if x not in issues]
        if unknown:
            raise UserError(
                f"lexicon: {e.label!r} counts unless {', '.join(map(repr, unknown))} is stated, not issue labels"
            )
        if e.opposite and e.opposite not in issues:
            raise UserError(f"lexicon: the opposite of {e.label!r}, {e.opposite!r}, is not an issue label")
    labels = [(e.kind, e.label.lower()) for e in entries]
    if len(set(labels)) != len(labels):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise UserError(f"lexicon: the same label twice: {', '.join(label for _, label in dup)}")
    return Lexicon(tuple(entries), cats)
