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

Secrets shorter than MIN_RUN are not scrubbed: they are placeholders ("EMPTY", "none"), and scrubbing them
from replies would mangle ordinary words.
"""

from __future__ import annotations

import base64
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


def encoded_forms(secret: str) -> set[str]:
    """Every form of `secret` the scrubber looks for (each at least MIN_RUN characters long)."""
    raw = secret.encode("utf-8")
    forms = {
        secret,
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        raw.hex(),
        raw.hex().upper(),
        *_base64_cores(raw),
    }
    return {f for f in forms if len(f) >= MIN_RUN}


class Scrubber:
    """`Scrubber(key, ...)(text)`: `text` with every run of 8+ characters of any form of a key replaced by ***."""

    def __init__(self, *secrets: str | None):
        forms = set().union(*(encoded_forms(s) for s in secrets if s and len(s) >= MIN_RUN))
        self._runs = {f[i : i + MIN_RUN] for f in forms for i in range(len(f) - MIN_RUN + 1)}
        self._quads = {r[i : i + 4] for r in self._runs for i in range(MIN_RUN - 3)}

    def __call__(self, text: str | None) -> str | None:
        if not text or not self._runs:
            return text
        # A run of 8 characters at j contains the 4 characters at the first multiple of 4 at or after j, so
        # looking at every 4th position for a 4-character piece of a form finds every run, at a quarter of the cost.
        spans: list[list[int]] = []
        for i in range(0, len(text) - 3, 4):
            if text[i : i + 4] not in self._quads:
                continue
            for j in range(max(0, i - 3), min(i, len(text) - MIN_RUN) + 1):
                if text[j : j + MIN_RUN] in self._runs:
                    if spans and j <= spans[-1][1]:
                        spans[-1][1] = j + MIN_RUN
                    else:
                        spans.append([j, j + MIN_RUN])
        if not spans:
            return text
        parts, last = [], 0
        for start, end in spans:
            parts += [text[last:start], MASK]
            last = end
        return "".join(parts) + text[last:]
