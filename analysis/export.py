"""CSV that is safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which some spreadsheets skip
before reading one of those) is read as a formula by Excel, LibreOffice and Google Sheets: a model name
like `=HYPERLINK("http://…")` in an imported file would become a live formula in an export. Every CSV
the project writes goes through `safe_cell` / `safe_csv_frame`, which put a single quote before such
a cell (OWASP's advice). Only text is touched: numbers stay numbers, so `-0.5` in a numeric column is
still -0.5, while the text "-0.5" in a string column becomes "'-0.5".
"""

from __future__ import annotations

from typing import Any, Iterable

import polars as pl

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PREFIX_RE = r"^[=+\-@\t\r]"


def safe_cell(value: Any) -> Any:
    """`value` with a leading `'` when it is text a spreadsheet would read as a formula; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """A row for `csv.writer`: every text cell through `safe_cell`."""
    return [safe_cell(v) for v in values]


def safe_csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text column's formula-like cells prefixed by `'` (other columns unchanged)."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
            c = pl.col(name).cast(pl.String)
            exprs.append(pl.when(c.str.contains(_PREFIX_RE)).then(pl.lit("'") + c).otherwise(c).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def write_csv(frame: pl.DataFrame, target) -> None:
    """`frame.write_csv(target)` after `safe_csv_frame`; target is a path or a binary buffer."""
    safe_csv_frame(frame).write_csv(target)
