"""Small non-recursive JSON helpers: nesting limits, the keys of a possibly truncated object, and
skipping over a value too deep for the json module."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 100  # deeper JSON is rejected: json.loads/dumps recurse and would fail far from the file

_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)  # possessive: no backtracking
_MARK = re.compile(r'["{}\[\]]')  # what matters to nesting outside strings
_SPACE = re.compile(r"[ \t\r\n]*")


class TooDeep(ValueError):
    pass


def skip_space(text: str, pos: int) -> int:
    m = _SPACE.match(text, pos)  # always matches (possibly nothing)
    return m.end() if m else pos


def brackets(text: str, start: int = 0, end: int | None = None) -> int:
    end = len(text) if end is None else end
    return text.count("[", start, end) + text.count("{", start, end)


def too_deep(value: Any, n_brackets: int | None = None, limit: int = MAX_DEPTH) -> bool:
    """Whether a parsed value nests containers deeper than `limit`. Given the number of brackets in its
    source text, values with no more brackets than the limit are cleared without walking them."""
    if n_brackets is not None and n_brackets <= limit:
        return False
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def loads(text: str) -> Any:
    """json.loads that raises ValueError (JSONDecodeError or TooDeep) for every bad input."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"nested deeper than {MAX_DEPTH} levels") from None
    if isinstance(value, (dict, list)) and too_deep(value, brackets(text)):
        raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
    return value


def loads_or(text: Any, default: Any) -> Any:
    """The JSON value of a string, or `default` when it is not a string or not valid (or too deep) JSON."""
    if not isinstance(text, str):
        return default
    try:
        return loads(text)
    except ValueError:
        return default


def skip_container(text: str, pos: int) -> int:
    """The end of the array or object that starts at text[pos], or -1 if it never closes."""
    depth = 0
    while m := _MARK.search(text, pos):
        if m.group() == '"':
            s = _STRING.match(text, m.start())
            if s is None:
                return -1
            pos = s.end()
            continue
        depth += 1 if m.group() in "[{" else -1
        pos = m.end()
        if depth == 0:
            return pos
    return -1


def object_keys(text: str) -> list[str]:
    """The top-level keys of the JSON object at the start of `text`, as far as `text` goes: it may be
    a prefix cut anywhere, even inside a value. Not an object -> []."""
    pos = skip_space(text, 0)
    if not text.startswith("{", pos):
        return []
    keys: list[str] = []
    depth = 0
    while m := _MARK.search(text, pos):
        if m.group() != '"':
            depth += 1 if m.group() in "[{" else -1
            pos = m.end()
            if depth == 0:
                break
            continue
        s = _STRING.match(text, m.start())
        if s is None:  # cut inside a string
            break
        pos = s.end()
        after = skip_space(text, pos)
        if depth == 1 and text.startswith(":", after):
            try:
                keys.append(json.loads(s.group()))
            except ValueError:
                pass
    return keys
