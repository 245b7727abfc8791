"""Taking a secret (the API key) out of any text a server sends back, in every encoding it can be echoed in.

A server can quote the key in an error message or in a reply: whole or in part ("Incorrect API key provided:
sk-abc...", the last characters), URL-encoded, hex, or base64 (an echoed `Authorization` header, a token or a
basic-auth blob inside a longer base64 text). `Scrubber(key)` replaces every run of MIN_RUN (8) or more
consecutive characters of any of these forms of the key with "***":

- the key itself, so the whole key, a prefix, a suffix or any 8+ characters of it;
- quote(key), quote(key, safe=""), quote_plus(key); hex, lower and upper case;
- base64, standard and urlsafe, at each of the 3 byte alignments. Base64 writes each 3 bytes as 4 characters,
  so how the key's bytes are cut into 6-bit characters depends on where the key starts modulo 3 in the encoded
  bytes: "Bearer " is 7 bytes and "Authorization: Bearer " 22, so the key sits at alignment 1 in both; a key
  embedded anywhere in a longer text sits at alignment 0, 1 or 2. For each alignment only the characters whose
  6 bits all come from the key are kept: they are the same whatever surrounds the key, so these 3 forms find the
  key inside any base64 text (and, by runs of 8+, base64 of part of it).

A hostile server can also disguise the echo: the key reversed, upper-cased, in base32, as HTML character
references (`&#115;&#107;…`), as `\\u0073` escapes, or cut into chunks with spaces, quotes or commas between
them. The forms include the reversed key and base32 (at each of its 5 byte alignments), and the text is also read
normalised: references and escapes decoded, whitespace, quotes, commas, semicolons and zero-width characters
dropped, everything lower-cased. A run found there masks the stretch of the original text it came from.

Secrets shorter than MIN_RUN are not scrubbed: they are placeholders ("EMPTY", "none"), and scrubbing them
from replies would mangle ordinary words.
"""

from __future__ import annotations

import base64
import html
import re
from typing import overload
from urllib.parse import quote, quote_plus

MIN_RUN = 8
MASK = "***"


def _base64_cores(raw: bytes) -> list[str]:
    """The base64 characters determined by `raw` alone, for `raw` starting at byte 0, 1 or 2 of a group."""
    out = []
    for a in range(3):
        first = -(-8 * a // 6)  # the first character whose 6 bits all lie inside `raw`
        end = 8 * (a + len(raw)) // 6  # one past the last such character
        core = base64.b64encode(b"\0" * a + raw + b"\0\0").decode("ascii")[first:end]
        out += [core, core.replace("+", "-").replace("/", "_")]
    return out


def _base32_cores(raw: bytes) -> list[str]:
    """Like _base64_cores for base32 (5 bytes as 8 characters of 5 bits), at byte alignments 0..4."""
    out = []
    for a in range(5):
        first = -(-8 * a // 5)
        end = 8 * (a + len(raw)) // 5
        out.append(base64.b32encode(b"\0" * a + raw + b"\0" * 4).decode("ascii")[first:end])
    return out


def encoded_forms(secret: str) -> set[str]:
    """Every form of `secret` the scrubber looks for (each at least MIN_RUN characters long)."""
    raw = secret.encode("utf-8")
    forms = {
        secret,
        secret[::-1],
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        raw.hex(),
        raw.hex().upper(),
        *_base64_cores(raw),
        *_base32_cores(raw),
    }
    return {f for f in forms if len(f) >= MIN_RUN}


# what a disguised echo is read through: separators (dropped first, so an escape cut by spaces still reads), then
# character references and escapes (decoded)
_SEPARATORS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\"'`,;|+]+")
_REFERENCES = re.compile(
    r"&#(\d{1,7});?|&#[xX]([0-9a-fA-F]{1,6});?|&([a-zA-Z]{2,8});|\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})"
)


def _decoded(m: re.Match) -> str:
    dec, hexa, name, uni, byte = m.groups()
    try:
        if dec is not None:
            return chr(int(dec))
        if hexa is not None:
            return chr(int(hexa, 16))
        if uni is not None:
            return chr(int(uni, 16))
        if byte is not None:
            return chr(int(byte, 16))
    except (ValueError, OverflowError):
        return ""
    return html.unescape(m.group(0)) if name is not None else ""


def _rewrite(text: str, pattern: re.Pattern, replace) -> tuple[str, list[int]]:
    """`text` with each match of `pattern` replaced, and each output character's start in `text` (plus one more
    entry: len(text))."""
    chars: list[str] = []
    starts: list[int] = []
    last = 0
    for m in pattern.finditer(text):
        chars.append(text[last : m.start()])
        starts.extend(range(last, m.start()))
        out = replace(m)
        chars.append(out)
        starts.extend([m.start()] * len(out))
        last = m.end()
    chars.append(text[last:])
    starts.extend(range(last, len(text)))
    starts.append(len(text))
    return "".join(chars), starts


def _normalised(text: str) -> tuple[str, list[int]]:
    """The text as read through the disguises, lower-cased, with each character's start in the original (and one
    more entry: the original's length)."""
    joined, first = _rewrite(text, _SEPARATORS, lambda m: "")
    decoded, second = _rewrite(joined, _REFERENCES, _decoded)
    decoded, third = _rewrite(decoded, _SEPARATORS, lambda m: "")  # separators that were escaped
    starts = [first[second[i]] for i in third]
    low = decoded.lower()
    if len(low) != len(decoded):  # a character whose lower case is longer ("İ"): keep the map in step
        pieces = [c.lower() for c in decoded]
        starts = [st for piece, st in zip(pieces, starts) for _ in piece] + [starts[-1]]
        low = "".join(pieces)
    return low, starts


class Scrubber:
    """`Scrubber(key, ...)(text)`: `text` with every run of 8+ characters of any form of a key replaced by ***."""

    def __init__(self, *secrets: str | None):
        forms = set().union(*(encoded_forms(s) for s in secrets if s and len(s) >= MIN_RUN))
        self._runs = {f[i : i + MIN_RUN] for f in forms for i in range(len(f) - MIN_RUN + 1)}
        self._quads = {r[i : i + 4] for r in self._runs for i in range(MIN_RUN - 3)}
        # the forms read the way the text is (separators dropped, references decoded, lower case)
        low_forms = {_normalised(f)[0] for f in forms}
        self._low_runs = {f[i : i + MIN_RUN] for f in low_forms for i in range(len(f) - MIN_RUN + 1)}
        self._low_quads = {r[i : i + 4] for r in self._low_runs for i in range(MIN_RUN - 3)}

    @overload
    def __call__(self, text: str) -> str: ...

    @overload
    def __call__(self, text: None) -> None: ...

    def __call__(self, text: str | None) -> str | None:
        """A str gives a str back, None gives None."""
        if not text or not self._runs:
            return text
        text = _masked(text, _spans(text, self._runs, self._quads))
        # the same text read through its disguises; most replies have none of the key there either
        low, starts = _normalised(text)
        spans = _spans(low, self._low_runs, self._low_quads)
        return _masked(text, [[starts[a], starts[b]] for a, b in spans]) if spans else text

    def leaks(self, text: str | None) -> bool:
        """Whether `text` holds any form of the key (plainly or disguised)."""
        return self(text) != text


def _spans(text: str, runs: set[str], quads: set[str]) -> list[list[int]]:
    """[start, end) stretches of `text` covered by runs of a form, merged. A run of 8 characters at j contains the
    4 characters at the first multiple of 4 at or after j, so looking at every 4th position for a 4-character piece
    of a form finds every run, at a quarter of the cost."""
    spans: list[list[int]] = []
    for i in range(0, len(text) - 3, 4):
        if text[i : i + 4] not in quads:
            continue
        for j in range(max(0, i - 3), min(i, len(text) - MIN_RUN) + 1):
            if text[j : j + MIN_RUN] in runs:
                if spans and j <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], j + MIN_RUN)
                else:
                    spans.append([j, j + MIN_RUN])
    return spans


def _masked(text: str, spans: list[list[int]]) -> str:
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        if start < last:
            start = last
        parts += [text[last:start], MASK]
        last = max(last, end)
    return "".join(parts) + text[last:]
