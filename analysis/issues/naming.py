"""Name issues without an LLM: the lexicon entry a cluster is closest to, else a phrase of its own; and
class-based TF-IDF keywords. (llm_naming.py names them with a model instead, when asked.)"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .detect import any_of
from .lexicon import Entry
from .mask import STOP, tokens

# words every critique uses: they name no failure
CRITIQUE_STOP = STOP | set(
    """assistant assistant's assistants answer answers response responses user user's reference
provided provide provides providing x does did also however but would could should may might well still however
overall therefore thus given question asked request requested requests output outputs model model's""".split()
)
# openers that carry no content: "However, ", "Therefore, ", "In summary, ", "But ", "Firstly, " ...
_OPENER = re.compile(
    r"^(?:(?:however|therefore|thus|overall|additionally|also|moreover|furthermore|firstly|secondly|"
    r"indeed|notably|clearly|admittedly|evidently|importantly|again|"
    r"finally|lastly|unfortunately|in (?:summary|conclusion|addition)|on the other hand|but|and|so|"
    r"while this is true|while|whilst|although|though|even though)\b[,:]?\s+)+",
    re.IGNORECASE,
)


def content_list(text: str) -> list[str]:
    """The words of a segment that can name a failure: no stop-words, no critique boilerplate, no masks."""
    # (a mask's possessive, "X's", is a mask too)
    return [t for t in tokens(text) if t not in CRITIQUE_STOP and len(t) > 2 and t.split("'")[0] != "x"]


def content_words(text: str) -> set[str]:
    return set(content_list(text))


def ctfidf_keywords(docs_by_issue: dict[int, list[str]], top: int = 8) -> dict[int, list[str]]:
    """c-TF-IDF: term frequency within the issue × log(1 + mean words per issue / frequency over all issues)."""
    counts = {k: Counter(t for d in docs for t in content_list(d)) for k, docs in docs_by_issue.items()}
    total: Counter = Counter()
    for c in counts.values():
        total.update(c)
    avg = sum(sum(c.values()) for c in counts.values()) / max(len(counts), 1)
    out = {}
    for k, c in counts.items():
        n = sum(c.values()) or 1
        scored = {w: (f / n) * math.log(1 + avg / total[w]) for w, f in c.items() if f >= 2}
        out[k] = [w for w, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    return out


@dataclass(frozen=True)
class Name:
    label: str
    description: str
    category: str | None
    named_by: str  # lexicon | phrase | llm | taxonomy
    similarity: float | None = None


def lexicon_name(centroid: np.ndarray, entries: list[Entry], anchors: np.ndarray, min_similarity: float) -> Name | None:
    """The entry whose anchor is closest to the cluster's centroid, if close enough."""
    if not entries:
        return None
    sims = anchors @ centroid
    best = int(np.argmax(sims))
    if sims[best] < min_similarity:
        return None
    e = entries[best]
    return Name(e.label, e.description, e.category, "lexicon", float(sims[best]))


def strength_name(
    centroid: np.ndarray,
    texts: list[str],
    entries: list[Entry],
    anchors: np.ndarray,
    min_similarity: float,
    verify: float,
) -> tuple[Name, list[int]] | None:
    """The closest lexicon strength (cosine at least `min_similarity`) that at least `verify` of the members say (its
    `says` patterns, on their own words, not in a wish or a shortfall), and the members that say it: the cosine ranks
    the names, the words decide. An entry without patterns (a user's own) is taken on the cosine alone, with every
    member."""
    if not entries:
        return None
    sims = anchors @ centroid
    low = [t.lower() for t in texts]

    def said(e: Entry) -> list[int]:
        says = any_of(e.says)
        members = (
            [i for i, t in enumerate(low) if says.search(t) and not _SHORTFALL.search(t)]
            if says
            else list(range(len(texts)))
        )
        return members if members and len(members) >= verify * len(texts) else []

    for k in np.argsort(-sims, kind="stable").tolist():
        if sims[k] < min_similarity:
            break
        if not (members := said(entries[k])):
            continue
        # the specific merit the members also say, not the general one (`instead_of`: a correct sum is a calculation)
        for j, e in enumerate(entries):
            if entries[k].label in e.instead_of and sims[j] >= min_similarity and (specific := said(e)):
                k, members = j, specific
                break
        e = entries[k]
        return Name(e.label, e.description, e.category, "lexicon", float(sims[k])), members
    return None


# a wish or a shortfall says the merit is missing ("would be more effective if it were more concise", "room for
# improvement in conciseness", "falls just short of the depth expected"): in a blind reading of strength members, 2
# of 20 such sentences stated the merit they were filed under
_SHORTFALL = re.compile(
    r"\b(?:would|could|should|might)\b|\broom\s+for\s+improvement\b|\bfalls?\s+(?:just\s+)?short\b|\bneither\b"
)


# who a critique sentence is about, at its start: "The assistant's answer also …", "Output (a) …", "It …"
_SUBJECT = re.compile(
    r"^(?:(?:the|this|that|its|their|his|her)\s+)?(?:assistant(?:'s)?|model(?:'s)?|ai(?:'s)?|"
    r"response(?:'s)?|answer(?:'s)?|reply|solution|output(?:\s*\(?[ab12]\)?)?(?:'s)?|it|they|he|she|"
    r"there\s+(?:is|are|was|were)|also|still|only|overall|both|however|but|and|so|then)\b[,:]?\s*",
    re.I,
)
_CUT = re.compile(
    r"\s*(?:,|;|:|\.|\(|\s(?:and|which|that|because|as|but|so|while|since|when|where|although|"
    r"though|whereas|if|than)\s)"
)
_TRAIL = {
    "the",
    "a",
    "an",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "by",
    "at",
    "from",
    "and",
    "or",
    "is",
    "are",
    "be",
    "its",
    "their",
    "this",
    "that",
    "as",
    "any",
    "some",
    "more",
    "most",
    "very",
    "not",
    "x",
    "…",
}


def core(text: str, max_words: int = 6) -> str:
    """What a critique sentence says, without who it is about: 'The assistant's code also does not handle
    empty input.' -> 'code does not handle empty input'."""
    t = " ".join(text.replace("…", " ").split())
    prev = None
    while prev != t:
        prev = t
        t = _SUBJECT.sub("", _OPENER.sub("", t)).strip(" ,;:-\"'")
    t = re.sub(r"[\"'“‘(\[]*\bX\b[\"'”’)\]]*", " X ", t)
    t = " ".join(re.sub(r"\bX\b(?:\s*[-/,]?\s*\bX\b)*", "X", t).split())
    t = re.sub(r"\b(?:also|still|really|actually|simply|just|further|even)\s+", "", t, flags=re.I)
    head = _CUT.split(t, maxsplit=1)[0].rstrip(".!?")
    words = head.split()
    while words and (words[-1].lower().strip(".,;:!?") in _TRAIL or words[-1] == "X"):
        words.pop()
    if len(words) > max_words:  # no clause this short: a cut would leave half a thought
        return ""
    if words and words[-1].lower().strip(".,;:!?") in _DANGLING:  # "does not meet the specific [X]": half a thought
        return ""
    return " ".join(words).strip(".,;:!? ")


_MORE = re.compile(
    r"^(?:(?:provides|offers|gives|includes|has|uses|is|contains)\s+)?(?:an?\s+)?(?:much\s+)?more\s+", re.I
)


# a modifier whose noun was cut (a masked task word, or the rest of the clause)
_DANGLING = {
    "specific",
    "given",
    "following",
    "same",
    "required",
    "original",
    "main",
    "particular",
    "certain",
    "other",
    "different",
    "correct",
    "proper",
    "appropriate",
    "necessary",
    "relevant",
    "key",
    "important",
}
# words that say there is a problem without saying which: "A few minor issues" names no failure
_META = {
    "issue",
    "issues",
    "problem",
    "problems",
    "minor",
    "major",
    "few",
    "some",
    "several",
    "error",
    "errors",
    "mistake",
    "mistakes",
    "concern",
    "concerns",
    "aspect",
    "aspects",
    "area",
    "areas",
    "point",
    "points",
    "thing",
    "things",
    "improvement",
    "improvements",
    "small",
    "slight",
    "slightly",
    "certain",
    "various",
    "number",
    "lot",
    "part",
    "parts",
    "shortcoming",
    "shortcomings",
    "weakness",
    "weaknesses",
    "flaw",
    "flaws",
}


# words that only restate a verdict on the whole answer: "Less helpful" (FastChat's GPT-4 reviews: "Assistant 2's
# response was more helpful, relevant, and accurate, which is why it received a higher score") names no failure
_VERDICT_ONLY = {
    "less",
    "more",
    "helpful",
    "useful",
    "good",
    "better",
    "best",
    "quality",
    "overall",
    "effective",
    "satisfactory",
    "higher",
    "lower",
    "score",
    "received",
    "receives",
    "deserving",
}


def phrase_name(texts: list[str], central: list[str], kind: str, contrast: bool = False) -> Name | None:
    """A name from the cluster's own words: the shared core of its most central sentences ('Does not handle
    empty input', 'Achieves the same result'), or None when none says enough (two content words, no masked
    task word). contrast: the sentences praise the other answer ('provides a more diverse list'), so the name
    turns them round ('Less diverse list')."""
    cores = [core(c) for c in central]
    if contrast:  # only a comparison ("more …") turns round into a name; other praise of the winner does not
        cores = [("Less " + _MORE.sub("", c)) if _MORE.match(c) else "" for c in cores]
    # a name says what went wrong in at least two words of content, and names no masked task word
    cores = [c for c in cores if "X" not in c.split() and len([w for w in content_list(c) if w not in _META]) >= 2]
    cores = [c for c in cores if not {w for w in content_list(c) if w not in _META} <= _VERDICT_ONLY]
    if not cores:
        return None
    counts = Counter(c.lower() for c in cores)
    best = max(counts.items(), key=lambda kv: (kv[1], -next(i for i, c in enumerate(cores) if c.lower() == kv[0])))[0]
    label = next(c for c in cores if c.lower() == best)
    label = label[:1].upper() + label[1:]
    return Name(label, _describe(central[0] if central else ""), None, "phrase")


def _describe(central: str) -> str:
    text = _OPENER.sub("", " ".join(central.replace("X", "…").split()))
    text = text[:1].upper() + text[1:]
    if len(text) > 160:
        text = text[:157].rsplit(" ", 1)[0] + "…"
    return f"Judges write, for example: “{text}”"


def _stems(words) -> set[str]:
    return {w[:5] for w in words}


def says_name(label: str, text: str, contrast: bool = False) -> bool:
    """Whether a sentence says what a phrase name says: at least half of the name's content words (compared by
    their first five letters) are in it. For a name turned round from a comparison ('Less concise'), the words
    after 'Less'."""
    words = content_list(label[5:] if contrast and label.lower().startswith("less ") else label)
    if not words:
        return False
    have = _stems(content_list(text))
    return sum(1 for w in _stems(words) if w in have) * 2 >= len(_stems(words))
