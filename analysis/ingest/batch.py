"""The flat shape every source format is turned into before it is written to the store.

A format adapter yields `SourceBatch`es: one flat row per judgment (item, response(s) and verdict
denormalised), one flat row per human/gold label, the rubric criteria, and the rows it could not
read. `validate` and `writer.write_batches` do the rest, identically for every format.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

# Columns of a flat judgment row, with their types. Adapters fill what they have.
JUDGMENT_SCHEMA: dict[str, pl.DataType] = {
    "item_key": pl.String,
    "prompt": pl.String,
    "reference": pl.String,
    "category": pl.String,
    "item_meta": pl.String,
    "protocol": pl.String,
    "judge": pl.String,
    "criterion": pl.String,
    "model": pl.String,
    "response": pl.String,
    "model_a": pl.String,
    "response_a": pl.String,
    "model_b": pl.String,
    "response_b": pl.String,
    "shown_first": pl.String,
    "verdict": pl.String,
    "score": pl.Float64,
    "scale_min": pl.Float64,
    "scale_max": pl.Float64,
    "critique": pl.String,
    "raw_output": pl.String,
    "parse_status": pl.String,
    "template": pl.String,
    "sample": pl.Int32,
    "probe": pl.String,
    "judgment_key": pl.String,
    "source": pl.String,
    "source_line": pl.Int64,
    "meta": pl.String,
}

LABEL_SCHEMA: dict[str, pl.DataType] = {
    "item_key": pl.String,
    "prompt": pl.String,
    "reference": pl.String,
    "category": pl.String,
    "item_meta": pl.String,
    "model": pl.String,
    "response": pl.String,
    "model_a": pl.String,
    "response_a": pl.String,
    "model_b": pl.String,
    "response_b": pl.String,
    "annotator": pl.String,
    "kind": pl.String,
    "criterion": pl.String,
    "score": pl.Float64,
    "scale_min": pl.Float64,
    "scale_max": pl.Float64,
    "verdict": pl.String,
    "label_key": pl.String,
    "source": pl.String,
    "source_line": pl.Int64,
    "meta": pl.String,
}

RESPONSE_SCHEMA: dict[str, pl.DataType] = {
    "item_key": pl.String,
    "prompt": pl.String,
    "reference": pl.String,
    "category": pl.String,
    "item_meta": pl.String,
    "model": pl.String,
    "response": pl.String,
    "source": pl.String,
    "source_line": pl.Int64,
}

CRITERIA_SCHEMA: dict[str, pl.DataType] = {
    "criterion": pl.String,
    "description": pl.String,
    "scale_min": pl.Float64,
    "scale_max": pl.Float64,
    "levels": pl.String,
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


def conform(df: pl.DataFrame | None, schema: dict[str, pl.DataType]) -> pl.DataFrame:
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


def finite_or_none(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None
