"""Name issues: class-based TF-IDF keywords and a short title taken from the most central segments;
optionally an LLM title and description (cached, one call per issue)."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from .mask import STOP, tokens

# words every critique uses: they name no failure
CRITIQUE_STOP = STOP | set("""assistant assistant's assistants answer answers response responses user user's reference
provided provide provides providing x does did also however but would could should may might well still however
overall therefore thus given question asked request requested requests""".split())
_TRAILING = re.compile(r"[\s,;:]+$")
# openers that carry no content: "However, ", "Therefore, ", "In summary, ", "But ", "Firstly, " ...
_OPENER = re.compile(r"^(?:(?:however|therefore|thus|overall|additionally|also|moreover|furthermore|firstly|secondly|"
                     r"indeed|notably|clearly|admittedly|evidently|importantly|again|"
                     r"finally|lastly|unfortunately|in (?:summary|conclusion|addition)|on the other hand|but|and|so|"
                     r"while this is true)\b[,:]?\s+)+", re.IGNORECASE)


def content_list(text: str) -> list[str]:
    """The words of a segment that can name a failure: no stop-words, no critique boilerplate, no masks."""
    return [t for t in tokens(text) if t not in CRITIQUE_STOP and len(t) > 2 and t != "x"]


def content_words(text: str) -> set[str]:
    return set(content_list(text))


def ctfidf_keywords(docs_by_issue: dict[int, list[str]], top: int = 8) -> dict[int, list[str]]:
    """c-TF-IDF: term frequency within the issue × log(1 + mean words per issue / frequency over all issues)."""
    counts = {k: Counter(t for d in docs for t in content_list(d)) for k, docs in docs_by_issue.items()}
    total = Counter()
    for c in counts.values():
        total.update(c)
    avg = sum(sum(c.values()) for c in counts.values()) / max(len(counts), 1)
    out = {}
    for k, c in counts.items():
        n = sum(c.values()) or 1
        scored = {w: (f / n) * math.log(1 + avg / total[w]) for w, f in c.items() if f >= 2}
        out[k] = [w for w, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    return out


def title_from_segments(texts: list[str], sims: np.ndarray, keywords: list[str], max_words: int = 12) -> str:
    """The most representative of the most central segments: close to the centroid, rich in keywords,
    with little task content (few X), short."""
    order = np.argsort(-sims)[:15]
    kw = set(keywords[:5])

    def score(i: int) -> float:
        words = tokens(texts[i])
        hits = len(kw & set(words))
        return sims[i] + 0.02 * hits - 0.004 * max(0, len(words) - max_words)

    best = max(order, key=score) if len(order) else 0
    text = _OPENER.sub("", texts[best]) if texts else ""
    words = text.split()
    short = " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")
    short = _TRAILING.sub("", short)
    return short[:1].upper() + short[1:] if short else "(unnamed)"
