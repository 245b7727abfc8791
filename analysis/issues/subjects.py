"""Which response a sentence of a pairwise critique is about.

A pairwise judge names the answers by the slot it saw them in ("Output (a)", "Assistant B", "Response 1",
"the second answer") or by an alias the prompt gave them (AlpacaEval's "Model 'm'"). A sentence's subject
is the first slot it names; a sentence naming none continues the previous one's ("It also ignores …"), and
one about both ("Both answers …", "Neither …") has none. Slots map to responses through the order the
judge saw them in (`shown_first`), aliases through the judgment's `meta.slot_aliases`.
"""

from __future__ import annotations

import json
import re

_NOUN = r"(?:output|response|answer|assistant|model|candidate|option|completion|summary|solution|text)"
# (a) / (B) / A / 2 after a noun; a bare lower-case letter ("answer a question") is no slot
# (a possessive names the slot too: "Assistant 2's answer"; another apostrophe does not: "Model A'")
_SLOT = re.compile(r"(?i:" + _NOUN + r")\s*(?:\(\s*([abAB12])\s*\)|([AB12])(?!\w|['’](?!s\b)))")
_ORDINAL = re.compile(r"\b(first|second|former|latter)\s+" + _NOUN + r"s?\b|\bthe\s+(former|latter)\b", re.I)
_ALIAS = re.compile(r"\b" + _NOUN + r"\s+['\"‘“]?([A-Za-z0-9]{1,3})['\"’”]?(?![\w])", re.I)
# a response named like a slot but not as one this judgment maps: "Model 'M'", "Assistant X", "Model 'm's answer" (a
# quoted letter or two, or a bare capital, after a noun that names a responder; "the answer 12", "its answer 'No'",
# "output 10", "Option C" and "the answer I expected" name no response)
_STRANGER = re.compile(
    r"\b(?:model|assistant|output|response|candidate|completion|chatbot|system)\s+"
    r"(?:['\"‘“]([A-Za-z0-9]{1,2})['\"’”](?:s\b)?|(?-i:([A-HJ-Z]))(?:['’]s\b)?)(?![\w'’])",
    re.I,
)
_BOTH = re.compile(r"\b(?:both|neither|either|each\s+of\s+the|the\s+two)\b", re.I)
_POSITION = {"a": 1, "1": 1, "first": 1, "former": 1, "b": 2, "2": 2, "second": 2, "latter": 2}


# a statement about each response: "Both responses are incorrect …", "However, neither Output (a) nor Output (b)
# follows this requirement" (the subject is both; a comparison "Both … but (a) is better" is split at "but")
_EACH = re.compile(
    r"^(?:(?:however|unfortunately|also|additionally|moreover|overall|furthermore|in\s+addition|that\s+said|"
    r"in\s+this\s+case)\s*,?\s+)?(?:both|neither|"
    # "Assistant A and Assistant B both incorrectly state …", "Output (a) and Output (b) fail to …"
    r"(?:the\s+)?"
    + _NOUN
    + r"\s*(?:\(\s*[ab12]\s*\)|[ab12])\s+and\s+(?:the\s+)?"
    + _NOUN
    + r"\s*(?:\(\s*[ab12]\s*\)|[ab12])(?!\w|['’]s\b))",
    re.I,
)


_TURN = re.compile(r"\b(?:however|but|while|whereas|although|though|except|unlike)\b", re.I)

# a line that only names a response and ends in a colon, heading what follows ("Assistant 1:", "### Response B:",
# "Output (a):", "For Model 'm':", "Assistant 2's answer:"): the bullets under it are about that response until the
# next such line (FastChat's GPT-4 code reviews: "Assistant 1:\nStrengths:\n- …\nWeaknesses:\n- …\n\nAssistant 2:\n…").
# Without the colon a line naming a response is a verdict ("Output (b)", as LLMBar's judges answer), no heading.
_HEADING = re.compile(
    r"^\W*(?:(?:for|about|regarding|evaluation\s+of|feedback\s+(?:for|on)|review\s+of)\s+)?(?:the\s+)?"
    + _NOUN
    + r"\s*(?:\(\s*[ab12]\s*\)|[ab12]|['\"‘“][A-Za-z0-9]{1,3}['\"’”])(?:['’]s\s+(?:answer|response|output|code))?"
    r"\s*(?:\(\s*[\w .-]{1,40}\s*\))?\s*:\s*$",
    re.I,
)


_HEADING_LINE = re.compile(_HEADING.pattern, re.I | re.M)  # any line of a block (a quick test before each line's)


def heading(line: str) -> bool:
    """Whether a line of a critique only names a response, heading what follows."""
    return len(line) <= 80 and _HEADING.match(line) is not None


def has_heading(block: str) -> bool:
    """Whether some line of a block might be a `heading` (never False when one is)."""
    return _HEADING_LINE.search(block) is not None


def about_each(text: str) -> bool:
    """Whether a sentence's subject is both responses ("Both answers …", "Neither Output (a) nor Output (b) …"),
    and it does not turn to one of them ("Both provided relevant answers. However, Assistant 1's …")."""
    head = _EACH.match(text.strip())
    return head is not None and not _TURN.search(text.strip(), head.end())


def slots(text: str, aliases: dict[str, str] | None = None) -> list[int | str]:
    """The slots (1 = shown first, 2 = second) and response-frame aliases ('a'/'b') a sentence names, in order."""
    return [s for _, s in _named(text, aliases)]


def _named(text: str, aliases: dict[str, str] | None) -> list[tuple[int, int | str]]:
    """(where, slot) of every slot or alias the sentence names, in order."""
    found: list[tuple[int, int | str]] = []
    for m in _SLOT.finditer(text):
        letter = (m.group(1) or m.group(2)).lower()
        found.append((m.start(), _POSITION[letter]))
    for m in _ORDINAL.finditer(text):
        found.append((m.start(), _POSITION[(m.group(1) or m.group(2)).lower()]))
    if aliases:
        for m in _ALIAS.finditer(text):
            side = aliases.get(m.group(1))
            if side in ("a", "b"):
                found.append((m.start(), side))
    return sorted(found, key=lambda x: x[0])


def spelled(m: re.Match) -> str:
    """How an `unknown_name` match names its response, without a possessive: "Model 'M'" for "Model 'M's", "Model M"
    for "Model M's"."""
    text = re.sub(r"\s+", " ", m.group(0)).strip()
    return re.sub(r"s$" if m.group(1) else r"['’]s$", "", text)  # quoted: "Model 'M's" ends in the quote and s


def aliases_of(raw: object) -> dict[str, str] | None:
    """A judgment's `meta.slot_aliases` as stored (JSON, or JSON text inside JSON when a plain file's column held
    it): name -> 'a' / 'b'; None when it is missing or maps nothing (values other than a/b are left out)."""
    value: object = raw
    for _ in range(2):  # an object, or the text of one
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    out = {str(k): v for k, v in value.items() if v in ("a", "b")}
    return out or None


def unknown_name(text: str, aliases: dict[str, str] | None = None) -> re.Match | None:
    """The first response a sentence names as its subject (not after "than", "by", …) in a way its judgment does
    not map: an alias missing from `aliases`, a slot other than a/b/1/2 ("Model 'M'"); None when it names none."""
    for m in _STRANGER.finditer(text):
        name = m.group(1) or m.group(2)
        if name.lower() in _POSITION or (aliases and name in aliases) or _OBJECT.search(text[: m.start()]):
            continue
        return m
    return None


# a pronoun before the first slot named is the sentence's subject: "while it also provides a thorough guide, it lacks
# the tips present in model 'm's response" is still about the response the previous sentence named ("It is clear that
# Output (b) …" is not: a "that" clause names its own subject)
# a slot named after a preposition is an object, not the subject: "but lacked the depth provided by model 'm'",
# "it is shorter than Output (b)"
_OBJECT = re.compile(
    r"\b(?:by|than|to|from|of|in|with|like|unlike|as|over|versus|vs\.?)\s+(?:the\s+)?"
    # (one of two objects: "as shown in the reference answer and Assistant A's answer")
    r"(?:(?:[\w'’-]+\s+){1,3}?(?:and|or)\s+(?:the\s+)?)?$",
    re.I,
)
# … but what a response is said to leave out is about that response: "Assistant B also discusses X, which is not
# covered by Assistant A", "a useful piece of information that was not included in Assistant A's response"
_LEFT_OUT_IN = re.compile(
    r"\b(?:not|n['’]t|never)\s+(?:[\w'’-]+\s+)?(?:covered|included|mentioned|present|found|addressed|discussed|"
    r"provided|given|offered|explained|considered)\s+(?:by|in)\s+(?:the\s+)?$|"
    r"\b(?:missing|absent|lacking)\s+(?:from|in)\s+(?:the\s+)?$",
    re.I,
)
# … unless it opens the sentence as its topic: "In Output (b), the loop never ends"
_TOPIC = re.compile(r"^\W*(?:in|for|with|as\s+for|regarding)\s+(?:the\s+)?$", re.I)
_PRONOUN = re.compile(r"^(?:(?!\bthat\b).)*?\b(?:it|its|it's|they|their)\b(?:(?!\bthat\b).)*$", re.I)


_COMPARE = re.compile(
    r"\b(?:more|less|fewer|better|worse|superior|inferior|than|whereas|unlike|compared|"
    r"in\s+contrast|outperforms?|preferred|preferable)\b",
    re.I,
)


# a suggestion or a wish is about the response it names, even the preferred one, whatever comparative it holds: "Add
# comments to explain the regular expression, which will make the code more readable" (under the preferred answer's
# "Suggestions for improvement"), "Assistant 2 could have been more concise" (QLoRA's GPT-4 reviews, session 20)
_WISH = re.compile(
    r"^\W*(?:also\s+|please\s+)?(?:add|include|consider|improve|use\s+(?:a|an|the|more|fewer|less|some)\b|provide|make|"
    r"ensure|try|encapsulate|rename|avoid|remove|explain|expand|elaborate|clarify|simplify|organi[sz]e|optimi[sz]e|handle|"
    r"check|validate)\b|"
    # (a wish, not an explanation of the preference: "because it would be more useful for a beginner")
    r"\b(?:(?:could|should|might)\s+(?:also\s+)?(?:have\s+been|be)|would\s+(?:also\s+)?have\s+been)\s+"
    r"(?:made\s+|improved\s+|enhanced\s+)?(?:even\s+|slightly\s+|a\s+bit\s+|much\s+)?more\b|"
    r"\b(?:will|would|could|can|might)\s+(?:also\s+|further\s+)?(?:make|render)\s+(?:[\w'’-]+\s+){0,3}?more\b",
    re.I,
)


def is_contrast(text: str) -> bool:
    """A sentence that explains a preference by comparison ("A is better because it is more concise"), not a
    suggestion for the response it names ("which will make the code more readable")."""
    return bool(_COMPARE.search(text)) and not _WISH.search(text)


_PREFERENCE = re.compile(
    r"^(?:(?:overall|therefore|thus|so|in\s+conclusion)[,:]?\s+)?the\s+response\s+(?:is|was)\s+"
    r"(?:(?:much|slightly|clearly|far|significantly)\s+)?(?:better|preferred|preferable|superior|"
    r"the\s+better\s+(?:one|response|choice))(?:\s+than\s+the\s+response)?"
    r"(?:\s*(?:,|because|as|since|for|due\s+to\s+the\s+fact\s+that))*\s*(?:it\s+)?",
    re.I,
)


def without_slots(text: str) -> str:
    """The sentence with its slot names replaced by 'the response' (they name who, not what), and a leading
    "the response is better because" dropped: what follows is the reason."""
    text = _SLOT.sub("the response", text)
    text = _ORDINAL.sub("the response", text)
    stripped = _PREFERENCE.sub("", text, count=1)
    return stripped if len(stripped.split()) >= 3 else text


def subjects(
    sentences: list[str],
    first: str | None,
    second: str | None,
    aliases: dict[str, str] | None = None,
    ids: dict[str, str] | None = None,
    headings: list[tuple[int, str] | None] | None = None,
) -> list[str | None]:
    """The response id each sentence is about (None: both or unknown).

    first / second: the response ids in the order shown; ids maps the response frame 'a'/'b' to response ids
    (for aliases); headings: the line naming a response each sentence stands under, with its place among the
    critique's headings ((0, "Assistant 1:")), if any. A sentence under a heading that names no response is about
    the heading's one."""

    def resolve(s: int | str) -> str | None:
        return (first if s == 1 else second) if isinstance(s, int) else (ids or {}).get(s)

    out: list[str | None] = []
    current: str | None = None
    under: str | None = None  # the heading's response
    last_heading: tuple[int, str] | None = None
    for i, text in enumerate(sentences):
        head = headings[i] if headings else None
        if head != last_heading:
            last_heading = head
            named_by_head = _named(head[1], aliases) if head else []
            under = resolve(named_by_head[0][1]) if len({s for _, s in named_by_head}) == 1 else None
            current = under
        named = _named(text, aliases)
        stranger = unknown_name(text, aliases)
        if stranger is not None:
            at = stranger.start()
            first_subject = next((w for w, _ in named if _TOPIC.match(text[:w]) or not _OBJECT.search(text[:w])), None)
            kept = current is not None and _PRONOUN.match(text[:at])  # "It follows the format, whereas Model 'm' …"
            if not kept and (first_subject is None or at < first_subject):
                # about a response named in a way this judgment does not map ("Model 'M' gave a generic response …,
                # unlike the first model", "Unlike the first model, Model 'M' lacks …"): about neither, rather than
                # the one named as an object
                current = None
                out.append(None)
                continue
        if not named:
            if _BOTH.search(text):
                current = None
            out.append(current)
            continue
        # the subject: the first slot named that is no object; a pronoun before it, or only objects named, keep the
        # previous one (with none before, the first slot named is it)
        subject = next((s for at, s in named if _TOPIC.match(text[:at]) or not _OBJECT.search(text[:at])), None)
        left_out = next((s for at, s in named if _LEFT_OUT_IN.search(text[:at])), None)
        if left_out is not None:
            subject, current = left_out, None
        if current is None or (subject is not None and not _PRONOUN.match(text[: named[0][0]])):
            s = named[0][1] if subject is None else subject
            current = resolve(s)
        out.append(current)
    return out
