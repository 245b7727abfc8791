"""CSV/TSV read one physical line at a time, so that a bad line costs only itself.

The csv module is fed physical lines (textio.TextLines), so a row's number is the line it starts on
and every row has its own. A quoted field may span lines, but when it runs away — to the end of the
file or past MAX_LINE_BYTES, or it closes with text after its quote or into a row with the wrong number
of fields — only the line where it opened is rejected and parsing resumes on the next physical line.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from .textio import MAX_LINE_BYTES, Bad, TextLines

csv.field_size_limit(MAX_LINE_BYTES)  # records are bounded by MAX_LINE_BYTES below; never hit first


class _Lines:
    """Physical lines with push-back, feeding one csv.reader; remembers the lines of the current row."""

    def __init__(self, lines: Iterator[tuple[int, str | Bad]]) -> None:
        self._lines = lines
        self._back: deque[tuple[int, str | Bad]] = deque()
        self.taken: list[tuple[int, str]] = []  # the lines of the row being read
        self.ran_out = False  # the row needed another line and could not have it
        self._size = 0

    def pop(self) -> tuple[int, str | Bad] | None:
        return self._back.popleft() if self._back else next(self._lines, None)

    def push_back(self, lines: list) -> None:
        self._back.extendleft(reversed(lines))

    def start_row(self) -> None:
        self.taken, self.ran_out, self._size = [], False, 0

    def feed(self) -> Iterator[str]:
        """What the csv.reader reads. A row may not continue past a Bad line, EOF or the size bound."""
        while (nxt := self.pop()) is not None:
            lineno, text = nxt
            if isinstance(text, Bad) or (self.taken and self._size + len(text) > MAX_LINE_BYTES):
                self.push_back([nxt])
                break
            self.taken.append((lineno, text))
            self._size += len(text)
            yield text
        self.ran_out = bool(self.taken)


class CsvRows:
    """Iterate `(line, fields or None, reason or None, raw)` for the rows of a CSV file, header first."""

    def __init__(self, path: Path) -> None:
        self.text = TextLines(path)  # raises BinaryFile
        self.delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        self._lines = _Lines(iter(self.text))
        self._reader = self._new_reader()

    def _new_reader(self):
        return csv.reader(self._lines.feed(), delimiter=self.delimiter)

    def __iter__(self) -> Iterator[tuple[int, list[str] | None, str | None, str | None]]:
        lines = self._lines
        while True:
            lines.start_row()
            try:
                row = next(self._reader)
            except StopIteration:  # the end of the file, or a Bad line at the start of a row
                nxt = lines.pop()
                if nxt is None:
                    return
                lineno, bad = nxt
                assert isinstance(bad, Bad)  # feed() stops at the start of a row only before a Bad line
                yield lineno, None, bad.reason, None
                self._reader = self._new_reader()
                continue
            except csv.Error as exc:
                yield self._fallback(f"unreadable CSV row: {exc}")
                continue
            if lines.ran_out:  # a quoted field still open at the end of the file, a Bad line or the bound
                yield self._fallback(
                    f"a quoted field opened on this line is never closed (by the end of the file "
                    f"or within {MAX_LINE_BYTES:,} bytes)"
                )
                continue
            if len(lines.taken) > 1 and not self._well_formed():
                yield self._fallback(
                    f"a quoted field opened on this line closes on line {lines.taken[-1][0]} "
                    f"with text after the quote: probably an unterminated quote"
                )
                continue
            yield lines.taken[0][0], row, None, None

    def _well_formed(self) -> bool:
        """A row read over several lines parses strictly too (no text after a closing quote)."""
        reader = csv.reader((t for _, t in self._lines.taken), delimiter=self.delimiter, strict=True)
        try:
            next(reader)
        except (csv.Error, StopIteration):
            return False
        return True

    def _fallback(self, reason: str) -> tuple[int, None, str, str]:
        """Reject the row's first line only and read again from the line after it, with a fresh reader."""
        first, *rest = self._lines.taken
        self._lines.push_back(rest)
        self._reader = self._new_reader()
        return first[0], None, reason, first[1]

    def reject_multiline(self, row: list[str], width: int) -> tuple[int, None, str, str] | None:
        """A row spanning lines with the wrong number of fields is a stray quote: reject only its first line."""
        if len(self._lines.taken) < 2:
            return None
        n = len(self._lines.taken)
        return self._fallback(
            f"a quoted field opened on this line runs over {n} lines into a row of {len(row)} "
            f"fields (the header has {width}): probably an unterminated quote"
        )


def header_names(fields: list[str]) -> tuple[list[str], str | None]:
    """Stripped, non-empty, unique column names; a note when some were renamed."""
    names: list[str] = []
    renamed = []
    for i, raw in enumerate(fields, start=1):
        name = raw.strip() or f"column_{i}"
        base, k = name, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        if name != raw.strip():
            renamed.append(f"{raw.strip()!r}→{name}")
        names.append(name)
    return names, ("renamed empty or repeated header names: " + ", ".join(renamed)) if renamed else None
