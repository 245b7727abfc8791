"""Text files as physical lines, whatever their encoding, with every line bounded in size.

UTF-8 (with or without a BOM) is read line by line, and a line that is not UTF-8 is decoded as
Windows-1252 (counted in a note). UTF-16 and UTF-32 are recognised by their BOM (UTF-16 also without
one, from its NUL pattern). A line longer than MAX_LINE_BYTES is never held in memory: it comes back as
a `Bad` marker with its size, and so does a line that is not valid in the file's encoding; readers turn
a `Bad` line into a reject with its reason.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_LINE_BYTES = 16 * 1024 * 1024  # a longer line is rejected, not parsed
HEAD_BYTES = 8192  # what encoding and binary sniffing look at

_BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
_WIDTH = {"utf-16-le": 2, "utf-16-be": 2, "utf-32-le": 4, "utf-32-be": 4}


class BinaryFile(Exception):
    """The file holds NUL bytes and is not UTF-16/32: not text."""


@dataclass(frozen=True)
class Bad:
    """A physical line that cannot be read: too long, or not valid in the file's encoding."""

    reason: str


def sniff(head: bytes) -> tuple[str, int, str | None]:
    """(encoding, BOM length, note) for a file starting with `head`; BinaryFile for NUL-bearing non-text."""
    for bom, enc in _BOMS:
        if head.startswith(bom):
            note = None if enc == "utf-8" else f"decoded as {enc.upper()} (BOM)"
            return enc, len(bom), note
    if b"\x00" not in head:
        return "utf-8", 0, None
    even, odd = head[0::2], head[1::2]
    for enc, text_half, nul_half in (("utf-16-le", even, odd), ("utf-16-be", odd, even)):
        if len(nul_half) >= 2 and b"\x00" not in text_half and nul_half.count(0) >= 0.9 * len(nul_half):
            return enc, 0, f"decoded as {enc.upper()} (no BOM; guessed from its NUL bytes)"
    raise BinaryFile()


@dataclass
class TextLines:
    """Iterate `(line number, text or Bad)` over a file's physical lines; text keeps its line ending.

    `notes` says how the file was decoded once iteration is over. Blank lines are yielded too.
    """

    path: Path
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        with open(self.path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        self.encoding, self._bom, note = sniff(head)  # raises BinaryFile
        if note:
            self.notes.append(f"{self.path.name}: {note}")

    def __iter__(self) -> Iterator[tuple[int, str | Bad]]:
        if self.encoding == "utf-8":
            return self._utf8()
        return self._wide()

    def _utf8(self) -> Iterator[tuple[int, str | Bad]]:
        fallback = 0
        with open(self.path, "rb") as fh:
            fh.seek(self._bom)
            lineno = 0
            while chunk := fh.readline(MAX_LINE_BYTES + 1):
                lineno += 1
                if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                    yield lineno, Bad(_overlong(len(chunk) + _skip_line(fh)))
                    continue
                try:
                    yield lineno, chunk.decode("utf-8")
                except UnicodeDecodeError:
                    fallback += 1
                    yield lineno, chunk.decode("cp1252", errors="replace")
        if fallback:
            self.notes.append(f"{self.path.name}: {fallback:,} line(s) were not UTF-8 and were decoded as Windows-1252")

    def _wide(self) -> Iterator[tuple[int, str | Bad]]:
        """UTF-16/32: decoded whole (these files are small exports); a line with a broken character is Bad."""
        width = _WIDTH[self.encoding]
        data = self.path.read_bytes()[self._bom :]
        cut = len(data) - len(data) % width
        text = data[:cut].decode(self.encoding, errors="surrogatepass")
        if cut < len(data):
            text += "\ufffd"  # the file ends inside a character: the last line is marked bad below
        pos, lineno = 0, 0
        while pos < len(text):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end + 1
            line, pos, lineno = text[pos:end], end, lineno + 1
            if len(line) * width > MAX_LINE_BYTES:
                yield lineno, Bad(_overlong(len(line) * width))
            elif not _valid(line) or (pos == len(text) and cut < len(data)):
                yield lineno, Bad(f"not valid {self.encoding.upper()} (a broken or truncated character)")
            else:
                yield lineno, line


def _valid(line: str) -> bool:
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate let through by surrogatepass
        return False
    return True


def _skip_line(fh) -> int:
    """Read past the rest of an overlong line, in bounded pieces; return how many bytes it had."""
    size = 0
    while more := fh.readline(MAX_LINE_BYTES):
        size += len(more)
        if more.endswith(b"\n"):
            break
    return size


def _overlong(size: int) -> str:
    return f"line is {size:,} bytes, over the {MAX_LINE_BYTES:,}-byte limit"


def read_text(path: Path) -> tuple[str, list[str]]:
    """A whole file as text (for JSON documents), decoded like TextLines; (text, notes).

    A file that is not valid UTF-8 is decoded as Windows-1252; a broken UTF-16/32 file raises ValueError
    with the line where it breaks."""
    data = path.read_bytes()
    encoding, bom, note = sniff(data[:HEAD_BYTES])
    notes = [f"{path.name}: {note}"] if note else []
    data = data[bom:]
    try:
        return data.decode(encoding), notes
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            line = data[: exc.start].decode(encoding, errors="replace").count("\n") + 1
            raise ValueError(f"not valid {encoding.upper()} at line {line} ({exc.reason})") from None
    notes.append(f"{path.name}: not UTF-8, decoded as Windows-1252")
    return data.decode("cp1252", errors="replace"), notes


def read_prefix(path: Path, limit: int) -> str:
    """At most `limit` bytes from the start of a file, decoded (a character cut at the end is dropped)."""
    with open(path, "rb") as fh:
        data = fh.read(limit)
    encoding, bom, _ = sniff(data[:HEAD_BYTES])
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(data[bom:], final=False)
