"""The one place where a name (a column alias, a metadata key) becomes SQL text.

Values always travel as parameters. Names cannot: an alias or a JSON path is part of the statement. Every
such name goes through `ident` (a quoted identifier) or `json_path` (a quoted JSON path) here, after the
caller has checked it against the workspace's own names (see `analysis.groups`).
"""

from __future__ import annotations

from .errors import UserError


def ident(name: str) -> str:
    """A double-quoted SQL identifier: any text, with embedded quotes doubled (never breaks out)."""
    text = str(name)
    if "\x00" in text:
        raise UserError(f"a name cannot contain a NUL character: {text!r}")
    return '"' + text.replace('"', '""') + '"'


def json_path(key: str) -> str:
    """The JSON path of a top-level key, e.g. `$."subset"`, for json_extract_string(meta, ?).

    Backslashes and quotes are escaped (DuckDB unescapes both inside a quoted path step); the path is still
    passed as a parameter, never spliced into the statement."""
    text = str(key)
    if not text or "\x00" in text:
        raise UserError(f"a metadata key cannot be empty or hold a NUL character: {text!r}")
    return '$."' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def placeholders(n: int) -> str:
    """`?, ?, ?` for n parameters."""
    return ", ".join("?" for _ in range(n))
