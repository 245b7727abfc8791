"""Failures the response text itself shows, found without reading the critique: an empty answer, one that stops
mid-sentence, a refusal, a degenerate repetition loop, an extreme length, an answer in another script than the
question. Each is exact or a stated rule (below), so the issue it makes can be checked against the text.

These are the issues with origin `response`: their members are the responses with the fact, and critique
sentences that restate it (lexicon entries with `evidence = ...`) join them.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

from .mask import STOP

# name -> (title, description, category); the order is the order of the issue list's ties
EVIDENCE: dict[str, tuple[str, str, str]] = {
    "empty": (
        "Empty response",
        "The response has no text: empty, whitespace, or only a placeholder such as <nooutput>.",
        "completeness",
    ),
    "truncated": (
        "Truncated response",
        "The response stops before it is finished: mid-sentence, mid-word or inside an open code block.",
        "completeness",
    ),
    "refusal": (
        "Refuses the request",
        "The response declines the request (a short answer that says it cannot or will not help).",
        "safety",
    ),
    "degenerate": (
        "Degenerate repetition",
        "The response repeats the same text over and over (it compresses to under a tenth of its length).",
        "clarity",
    ),
    "long": (
        "Extremely long response",
        "The response is longer than 8,000 characters and five times the selection's median response.",
        "clarity",
    ),
    "script": (
        "Answers in another script",
        "The response is written mostly in another writing system than the "
        "question (e.g. Chinese characters for an English question).",
        "instructions",
    ),
}

# facts that are failures only where the judge did not pass the response: a refusal of a harmful request is right
JUDGED = frozenset({"refusal"})

_REFUSAL = re.compile(
    r"\b(?:i\s+(?:cannot|can't|can\s+not|won't|will\s+not|am\s+unable\s+to|am\s+not\s+able\s+to|must\s+decline|"
    r"refuse\s+to|do\s+not\s+feel\s+comfortable|don't\s+feel\s+comfortable)\s+"
    r"(?:help|assist|provide|answer|fulfil+|comply|complete|do|write|create|generate|engage|support|share|give|"
    r"discuss|offer|make|produce|respond|continue|participate|promote|condone)|"
    r"as\s+an\s+ai(?:\s+language\s+model)?,?\s+i\s+(?:cannot|can't|am\s+not\s+able|am\s+unable|do\s+not\s+have\s+the\s+ability))",
    re.I,
)
# a disclaimer followed by the answer is no refusal: "As an AI language model, I cannot execute code. However, here
# is the code …", "… I cannot provide code but I can explain how …"
_ANSWERS_ANYWAY = re.compile(
    r"\b(?:however|but|instead|that\s+said|nevertheless)\b[^.!?]{0,40}?\b(?:here\s+is|here's|here\s+are|below\s+is|"
    r"i\s+can|you\s+can|the\s+following|an?\s+(?:example|possible|general))\b|```",
    re.I,
)
# a response that is only a placeholder for "no output" (instruction datasets write <nooutput>)
PLACEHOLDER = re.compile(
    r"^\s*(?:<\s*no\s*_?(?:input|output|response)\s*>|n/a|none|null|\[\s*(?:empty|no\s+(?:output|response|"
    r"answer))\s*\])\s*$",
    re.I,
)
_END_OK = set(".!?)]}>\"'`*:;…»”’。！？」』）|-_=~#+/\\%$")
_WORD = re.compile(r"[A-Za-z]{2,}")
REFUSAL_MAX_CHARS = 600
LONG_MIN_CHARS = 8000
LONG_MEDIAN_FACTOR = 5
DEGENERATE_MIN_CHARS = 1500
DEGENERATE_RATIO = 0.1


@dataclass(frozen=True)
class Fact:
    kind: str  # a key of EVIDENCE
    detail: str  # what was seen, for the reader ("ends with “… the function returns”")


_FUNCTION_END = re.compile(
    r"(?:^|\s)(?:the|a|an|of|to|and|or|in|with|for|is|are|was|were|that|which|by|as|on|at|from|"
    r"this|be|their|its|his|her|our|your|if|but|than|then|because|such|into|will|can|would)$"
)
# words no finished phrase ends with, verse and lists included
_OPEN_END = re.compile(r"(?:^|\s)(?:the|a|an|and|or|but|that|which|if|because|than|then|their|its|his|her|our|your)$")
_CODE_LINE = re.compile(r"[{}();=<>\[\]]|^\s{2,}|^\t")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)]|[a-z][.)])\s")
# a line that is a list of short items, without a verb to finish: "anticipated, predicted, foresaw, had hoped for"
_INLINE_LIST = re.compile(
    r"^(?:[^:]{0,80}:\s*)?[^,.;:!?]{1,30}(?:,\s*[^,.;:!?]{1,30}){3,}(?<!\bthe)(?<!\ba)(?<!\ban)(?<!\band)(?<!\bor)$",
    re.I,
)


# a line of a program: a statement that opens like one (keywords are lower-case; a line of prose opens with a
# capital), or one that ends a statement (;) or opens a block after a condition or a signature (") {"); not a bare
# brace, which JSON has too
_PROGRAM_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |#include|function\b|public |private |fn |SELECT |CREATE |"
    r"for\s*\(|while\s*\(|if\s*\(|return\b|const |let |var |print\(|"
    r"(?:for|while|if|elif|else|with|try|except)\b[^\n]*:\s*$)|(?:;|\)\s*\{)\s*$",
    re.M,
)


def shows_code(text: str | None) -> bool:
    """The response gives a program: three or more lines that read as code (a fence alone is not enough: judges'
    prompts fence plain text and JSON too). What a critique says the response 'does not correctly handle' is then
    what its code does (the lexicon's `says_if_code` patterns)."""
    return text is not None and len(_PROGRAM_LINE.findall(text)) >= 3


# a line of prose that ends a text: a capital, three or more words, a full stop (not a code comment)
_FINISHED_PROSE = re.compile(r"^[A-Z][^\n]*\s\S+\s[^\n]*[.!?]$")


def is_truncated(text: str) -> bool:
    """Stops before it is finished: an unclosed code fence (unless a sentence ends it); or the last line of prose ends in a comma, an opening
    bracket, a colon or a function word ("… relevant to the"); or, in a long response (1,500+ characters), a
    prose line of eight or more words that ends without punctuation. List items, headings, table rows, URLs and
    code lines may end without punctuation and do not count."""
    body = text.rstrip()
    if len(body) < 40:
        return False
    last = body.rsplit("\n", 1)[-1]
    if body.count("```") % 2 == 1 and not _FINISHED_PROSE.match(last.strip()):
        return True  # (an odd fence in a response that ends in a sentence, "… I hope this helps!", is a stray one)
    stripped = last.strip()
    if not stripped or stripped.startswith(("#", "|", "http", "<")) or "http" in stripped[-30:]:
        return False
    if unicodedata.category(stripped.rstrip("\ufe0f\u200d")[-1:] or " ") == "So":
        return False  # an emoji or symbol closes a line as a full stop does ("… for generations to come. 🌳❤️")
    if stripped[-1] in ",(:":
        return not _CODE_LINE.search(last) or stripped[-1] == ","
    if re.search(r"[A-Za-z]-$", stripped) or (
        stripped[-1] not in _END_OK and (stripped.count("(") > stripped.count(")") or stripped.count('"') % 2)
    ):
        return True  # "cutting-", "torch.rand(seq_len, batch_size", '"OOOO'
    lines = [ln.strip() for ln in body.split("\n")[-12:-1] if ln.strip()]
    if sum(ln[-1] in ";{}" for ln in lines) >= 3 and stripped[-1] not in _END_OK and stripped[-1] != ",":
        return True  # C-like code whose last statement is unfinished: "return ", "SDL_", "int city2 ="
    if stripped[-1] in _END_OK or _CODE_LINE.search(last):
        return False
    tail = _WORD.findall(stripped[-40:])
    if tail and len(tail[-1]) >= 3 and re.search(r"[A-Za-z]$", stripped):
        word = tail[-1].lower()
        words = set(w.lower() for w in _WORD.findall(body[: -len(word)]))
        if word not in words and word not in STOP and any(w.startswith(word) and len(w) > len(word) + 1 for w in words):
            return True  # stops mid-word: "photosyn" where the response says "photosynthesis"
    listed = _INLINE_LIST.match(stripped) is not None
    if _unpunctuated(lines):
        # verse, or a list a line per item: its lines end without a stop, and a phrase may end in "for" or "can" ("…
        # what we have hoped for"); one that ends in an article or a conjunction still stops mid-sentence
        return _OPEN_END.search(stripped) is not None and len(_WORD.findall(stripped)) >= 3
    if _FUNCTION_END.search(stripped) and len(_WORD.findall(stripped)) >= 3 and not listed:
        return True
    if listed or _LIST_ITEM.match(last):
        return False
    return len(body) >= 1500 and len(_WORD.findall(stripped)) >= 8


def _unpunctuated(lines: list[str]) -> bool:
    """The lines before the last are written without a stop at their ends: at least three of the last six, and
    half of them (a song's verses, one phrase per line)."""
    recent = lines[-6:]
    bare = sum(ln[-1] not in _END_OK for ln in recent)
    return bare >= 3 and 2 * bare >= len(recent)


_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_SCRIPTS = {  # code point ranges, in the order a tie is broken
    "latin": re.compile("[\x00-\u024f]"),
    "cjk": re.compile("[\u3040-\u9fff\uac00-\ud7af]"),
    "cyrillic": re.compile("[\u0400-\u052f]"),
    "arabic": re.compile("[\u0600-\u06ff]"),
}


def _script(text: str) -> str | None:
    """The writing system most letters of a text are in (latin, cjk, cyrillic, arabic, other), or None when it has
    fewer than 20 letters."""
    head = text[:4000]
    if head.isascii():  # most responses: every letter is latin, counted in C
        raw = head.encode("ascii")
        return "latin" if len(raw) - len(raw.translate(None, _ASCII_LETTERS)) >= 20 else None
    letters = "".join(filter(str.isalpha, head))
    n = len(letters)
    if n < 20:
        return None
    counts = {name: len(rx.findall(letters)) for name, rx in _SCRIPTS.items()}
    counts["other"] = n - sum(counts.values())
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= 0.6 * n else None


def facts(text: str | None, prompt: str | None, median_chars: float) -> list[Fact]:
    """What the response text shows (see EVIDENCE). None: the text is not known (a source with critiques only)."""
    if text is None:
        return []
    if not text.strip():
        return [Fact("empty", "the response has no text")]
    if PLACEHOLDER.match(text):
        return [Fact("empty", f"only the placeholder “{text.strip()}”")]
    out = []
    body = text.strip()
    if is_truncated(body):
        tail = " ".join(body[-60:].split())
        out.append(Fact("truncated", f"ends with “…{tail}”"))
    refused = _REFUSAL.search(body[:400]) if len(body) <= REFUSAL_MAX_CHARS else None
    if refused and not _ANSWERS_ANYWAY.search(body, refused.end()):
        out.append(Fact("refusal", f"says “{' '.join(body[:120].split())}”"))
    if len(body) >= DEGENERATE_MIN_CHARS:
        ratio = len(zlib.compress(body.encode("utf-8", "replace"))) / len(body.encode("utf-8", "replace"))
        if ratio < DEGENERATE_RATIO:
            out.append(Fact("degenerate", f"{len(body):,} characters compress to {ratio:.0%}"))
    if len(body) >= LONG_MIN_CHARS and median_chars and len(body) >= LONG_MEDIAN_FACTOR * median_chars:
        out.append(Fact("long", f"{len(body):,} characters (median {median_chars:,.0f})"))
    asked, answered = _script(prompt or ""), _script(body)
    if asked and answered and asked != answered and answered != "other":
        out.append(Fact("script", f"question in {asked} script, response in {answered}"))
    return out
