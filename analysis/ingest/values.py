"""Normalising the values judges and annotators write: verdicts, positions, scores."""

from __future__ import annotations

import re

import polars as pl

from ..verdicts import VALUES

VERDICT_EXPR_TABLE = VALUES  # one vocabulary: analysis/verdicts.py


def verdict_expr(col: str | pl.Expr, zero_is_tie: bool = True) -> pl.Expr:
    """Map free-form verdict values to a/b/tie; unknown non-null values map to null."""
    e = pl.col(col) if isinstance(col, str) else col
    text = e.cast(pl.String).str.strip_chars().str.to_lowercase()
    table = dict(VERDICT_EXPR_TABLE)
    if zero_is_tie:
        table.update({"0": "tie", "0.0": "tie"})
    return text.replace_strict(table, default=None, return_dtype=pl.String)


def position_expr(col: str | pl.Expr) -> pl.Expr:
    """Map a which-was-shown-first value to a/b; unknown values map to null."""
    e = pl.col(col) if isinstance(col, str) else col
    text = e.cast(pl.String).str.strip_chars().str.to_lowercase()
    return text.replace_strict(
        {"a": "a", "1": "a", "response_a": "a", "model_a": "a", "b": "b", "2": "b", "response_b": "b", "model_b": "b"},
        default=None,
        return_dtype=pl.String,
    )


_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")


def parse_bracket_rating(text: str | None) -> float | None:
    """The last "[[n]]" rating in a judge's text (FastChat/MT-Bench style), or None."""
    if not text:
        return None
    found = _RATING.findall(text)
    return float(found[-1]) if found else None


def guess_scale(scores: pl.Series) -> tuple[float, float] | None:
    """A conventional scale that holds every observed score, or None when there are no scores."""
    s = scores.drop_nulls().drop_nans() if scores.dtype in (pl.Float32, pl.Float64) else scores.drop_nulls()
    if s.len() == 0:
        return None
    lo, hi = float(s.min()), float(s.max())  # type: ignore[arg-type]  # numeric: checked by the caller's dtype
    for a, b in ((0.0, 1.0), (1.0, 5.0), (1.0, 7.0), (1.0, 10.0), (0.0, 10.0), (0.0, 100.0)):
        if a <= lo and hi <= b:
            return a, b
    return None
