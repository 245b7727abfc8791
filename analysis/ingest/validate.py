"""Row checks shared by every format: what makes a flat judgment or label row unusable."""

from __future__ import annotations

import polars as pl

from ..verdicts import SIDES
from .batch import Reject, clip_raw

_VERDICTS = list(SIDES)


def _fmt(expr: pl.Expr) -> pl.Expr:
    """A score as short text for a message: 12.0 -> '12', 0.25 -> '0.25'."""
    return (
        pl.when(expr == expr.round(0))
        .then(expr.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(expr.round(4).cast(pl.String))
    )


def _score_checks(score: str, lo: str, hi: str) -> list[tuple[pl.Expr, str, pl.Expr]]:
    s, a, b = pl.col(score), pl.col(lo), pl.col(hi)
    return [
        (s.is_nan(), score, pl.lit("score is NaN")),
        (s.is_infinite(), score, pl.concat_str(pl.lit("score is "), s.cast(pl.String))),
        (
            a.is_not_null() & b.is_not_null() & (a >= b),
            lo,
            pl.concat_str(pl.lit("scale minimum "), _fmt(a), pl.lit(" is not below its maximum "), _fmt(b)),
        ),
        (
            s.is_not_null() & a.is_not_null() & (s < a),
            score,
            pl.concat_str(pl.lit("score "), _fmt(s), pl.lit(" is outside the scale "), _fmt(a), pl.lit("–"), _fmt(b)),
        ),
        (
            s.is_not_null() & b.is_not_null() & (s > b),
            score,
            pl.concat_str(pl.lit("score "), _fmt(s), pl.lit(" is outside the scale "), _fmt(a), pl.lit("–"), _fmt(b)),
        ),
    ]


def blank(value: pl.Expr) -> pl.Expr:
    """Missing or only whitespace (a text expression)."""
    return value.is_null() | (value.str.strip_chars() == "")


def _blank(name: str) -> pl.Expr:
    return blank(pl.col(name))


JUDGMENT_CHECKS: list[tuple[pl.Expr, str, pl.Expr]] = [
    (_blank("item_key"), "item_key", pl.lit("no item id or prompt to identify the item")),
    (_blank("judge"), "judge", pl.lit("no judge named")),
    (
        ~pl.col("protocol").is_in(["pointwise", "pairwise"]) | pl.col("protocol").is_null(),
        "protocol",
        pl.lit("protocol is neither pointwise nor pairwise"),
    ),
    (
        (pl.col("protocol") == "pointwise") & _blank("model") & pl.col("response").is_null(),
        "model",
        pl.lit("no model and no response text"),
    ),
    (
        (pl.col("protocol") == "pairwise")
        & ((_blank("model_a") & pl.col("response_a").is_null()) | (_blank("model_b") & pl.col("response_b").is_null())),
        "response_a",
        pl.lit("a pairwise judgment needs both responses (a model name or a text for each)"),
    ),
    (
        pl.col("shown_first").is_not_null() & ~pl.col("shown_first").is_in(["a", "b"]),
        "shown_first",
        pl.concat_str(pl.lit("shown_first must be 'a' or 'b', got "), pl.col("shown_first")),
    ),
    (
        pl.col("verdict").is_not_null() & ~pl.col("verdict").is_in(_VERDICTS),
        "verdict",
        pl.concat_str(pl.lit("verdict must be a, b or tie, got "), pl.col("verdict")),
    ),
    (
        pl.col("parse_status").is_not_null() & ~pl.col("parse_status").is_in(["ok", "unparsed", "missing"]),
        "parse_status",
        pl.lit("parse_status must be ok, unparsed or missing"),
    ),
    (_blank("judgment_key"), "judgment_key", pl.lit("no key for the judgment")),
    *_score_checks("score", "scale_min", "scale_max"),
]

LABEL_CHECKS: list[tuple[pl.Expr, str, pl.Expr]] = [
    (_blank("item_key"), "item_key", pl.lit("no item id or prompt to identify the item")),
    (_blank("annotator"), "annotator", pl.lit("label without an annotator")),
    (
        ~pl.col("kind").is_in(["human", "gold"]) | pl.col("kind").is_null(),
        "kind",
        pl.lit("label kind must be human or gold"),
    ),
    (
        pl.col("verdict").is_not_null() & ~pl.col("verdict").is_in(_VERDICTS),
        "verdict",
        pl.concat_str(pl.lit("label verdict must be a, b or tie, got "), pl.col("verdict")),
    ),
    (
        pl.col("score").is_null() & pl.col("verdict").is_null(),
        "score",
        pl.lit("label has neither a score nor a verdict"),
    ),
    *_score_checks("score", "scale_min", "scale_max"),
]


def split_valid(
    df: pl.DataFrame,
    checks: list[tuple[pl.Expr, str, pl.Expr]],
    column_names: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, list[Reject]]:
    """Return the rows that pass every check, and one Reject per failing row (its first failure)."""
    if df.height == 0:
        return df, []
    reason = pl.lit(None, dtype=pl.String)
    column = pl.lit(None, dtype=pl.String)
    for cond, col, msg in reversed(checks):
        hit = cond.fill_null(False)
        reason = pl.when(hit).then(msg).otherwise(reason)
        column = pl.when(hit).then(pl.lit(col)).otherwise(column)
    flagged = df.with_columns(reason.alias("_reason"), column.alias("_column"))
    bad = flagged.filter(pl.col("_reason").is_not_null())
    if bad.height == 0:
        return df, []
    names = column_names or {}
    rejects = []
    for row in bad.iter_rows(named=True):
        raw = {
            k: v
            for k, v in row.items()
            if not k.startswith("_") and v is not None and k not in ("source", "source_line")
        }
        col = row["_column"]
        rejects.append(
            Reject(
                source=row["source"] or "",
                line=row["source_line"],
                column=names.get(col, col),
                reason=row["_reason"],
                raw=clip_raw(raw),
            )
        )
    good = flagged.filter(pl.col("_reason").is_null()).drop("_reason", "_column")
    return good, rejects
