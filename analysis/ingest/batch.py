"""The flat shape every source format is turned into before it is written to the store.

A format adapter yields `SourceBatch`es: one flat row per judgment (item, response(s) and verdict
denormalised), one flat row per human/gold label, the rubric criteria, and the rows it could not
read. `validate.split_valid` checks the rows and `writer.write_flat` writes them (through the one judgment
writer, `records.insert_judgments`), identically for every format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import polars as pl

# A polars column type as the schemas below spell it: a data type class (`pl.String`) or instance.
PlType: TypeAlias = type[pl.DataType] | pl.DataType

S, F = pl.String, pl.Float64
# What identifies and describes the item a row is about; every flat frame starts with these.
ITEM_FIELDS: dict[str, PlType] = {"item_key": S, "prompt": S, "reference": S, "category": S, "item_meta": S}
# The response(s) a row is about: one (pointwise) or a pair.
RESPONSE_FIELDS: dict[str, PlType] = {
    "model": S,
    "response": S,
    "model_a": S,
    "response_a": S,
    "model_b": S,
    "response_b": S,
}
# Where the row came from.
SOURCE_FIELDS: dict[str, PlType] = {"source": S, "source_line": pl.Int64}

# Columns of a flat judgment row, with their types. Adapters fill what they have.
JUDGMENT_SCHEMA: dict[str, PlType] = {
    **ITEM_FIELDS,
    "protocol": S,
    "judge": S,
    "criterion": S,
    **RESPONSE_FIELDS,
    "shown_first": S,
    "verdict": S,
    "score": F,
    "scale_min": F,
    "scale_max": F,
    "critique": S,
    "raw_output": S,
    "parse_status": S,
    "template": S,
    "sample": pl.Int32,
    "probe": S,
    "judgment_key": S,
    **SOURCE_FIELDS,
    "meta": S,
}
# A flat human/gold label row.
LABEL_SCHEMA: dict[str, PlType] = {
    **ITEM_FIELDS,
    **RESPONSE_FIELDS,
    "annotator": S,
    "kind": S,
    "criterion": S,
    "score": F,
    "scale_min": F,
    "scale_max": F,
    "verdict": S,
    "label_key": S,
    **SOURCE_FIELDS,
    "meta": S,
}
# Items and responses that arrive without a judgment (all answers of a bench, say).
RESPONSE_SCHEMA: dict[str, PlType] = {**ITEM_FIELDS, "model": S, "response": S, **SOURCE_FIELDS}

CRITERIA_SCHEMA: dict[str, PlType] = {
    "criterion": S,
    "description": S,
    "scale_min": F,
    "scale_max": F,
    "levels": S,
}

RAW_LIMIT = 4000  # characters of a rejected row kept in `rejects.raw`


@dataclass
class Reject:
    source: str
    line: int | None
    column: str | None
    reason: str
    raw: str | None = None

    def describe(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f" column {self.column!r}"
        return f"{where}: {self.reason}"


@dataclass
class SourceBatch:
    """What one adapter read from one source (a file, or a set of files read together)."""

    source: str
    n_source_rows: int
    judgments: pl.DataFrame | None = None
    labels: pl.DataFrame | None = None
    criteria: pl.DataFrame | None = None
    responses: pl.DataFrame | None = None  # items and responses with no judgment (e.g. all answers of a bench)
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # source rows whose judgments/labels were all rejected are counted through `rejects`;
    # rows accounted for as ingested = n_source_rows - rows rejected.


# the judge of a judgment whose source names none (`judgescope ingest --set judge=NAME` names it)
UNKNOWN_JUDGE = "unknown-judge"


def conform(df: pl.DataFrame | None, schema: dict[str, PlType]) -> pl.DataFrame:
    """Add the missing columns as nulls, cast to the schema, order the columns."""
    if df is None:
        return pl.DataFrame(schema=schema)
    exprs = []
    for name, dtype in schema.items():
        if name in df.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(exprs)


def clip_raw(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > RAW_LIMIT:
        text = text[:RAW_LIMIT] + f"… [{len(text) - RAW_LIMIT} more characters]"
    return text


def to_json(value: Any) -> str | None:
    """JSON text of a metadata dict without its null entries; None when nothing is left."""
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if v is not None}
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
