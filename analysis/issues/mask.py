"""Take the task out of a critique segment: words specific to the item being judged (rare across items,
present in its prompt, reference or responses) and numbers become "X", so that segments cluster by the
kind of failure rather than by what the task was about."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'\-]*[A-Za-z0-9]|\d+(?:[.,]\d+)*(?:%|π)?")
_NUMBER = re.compile(r"^\d")
_SPLIT = re.compile("(" + _WORD.pattern + ")")
_RUN = re.compile(r"X(?:[\s,/+*^=-]+X)+")
STOP = set(
    """a about above after again against all am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for
from further had hadn't has hasn't have haven't having he her here hers herself him himself his how i if in into is
isn't it it's its itself just let's me more most mustn't my myself no nor not of off on once only or other ought our
ours ourselves out over own same shan't she should shouldn't so some such than that that's the their theirs them
themselves then there there's these they this those through to too under until up very was wasn't we were weren't
what when where which while who whom why with won't would wouldn't you your yours yourself yourselves also may might
must shall will one two use used using""".split()
)


def tokens(text: str) -> list[str]:
    return _WORD.findall((text or "").lower())


class TaskMasker:
    """Built from the texts of each item; masks a segment against its own item's vocabulary."""

    def __init__(self, item_texts: dict[str, Iterable[str]], max_share: float = 0.02, min_items: int = 3):
        vocab = {
            item: {t for text in texts for t in tokens(text) if t not in STOP} for item, texts in item_texts.items()
        }
        df = Counter(t for words in vocab.values() for t in words)
        limit = max(min_items, int(max_share * max(len(vocab), 1)))
        # a word is task content when few items use it: common words ("code", "answer") stay
        self.vocab = {item: {t for t in words if df[t] <= limit} for item, words in vocab.items()}

    def mask(self, text: str, item: str) -> str:
        specific = self.vocab.get(item, set())
        parts = _SPLIT.split(text)  # text, word, text, word, …, text
        for i in range(1, len(parts), 2):
            word = parts[i]
            if word[0].isdigit() or word.lower() in specific:
                parts[i] = "X"
        return _RUN.sub("X", "".join(parts))  # runs of masked words collapse
