"""Generic JSONL / CSV / Parquet judge feedback, with a column mapping (given or guessed)."""

from __future__ import annotations

import json

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from .. import sections
from ..errors import UserError
from ..sections import SECTIONS
from .batch import Reject, SourceBatch, clip_raw
from .mapping import NUMERIC_ROLES, Mapping, numeric_constants, resolve
from . import readers
from .readers import file_kind, iter_csv, iter_jsonl, iter_parquet_frames, read_json_array, records_to_frame
from .validate import blank
from .values import guess_scale, position_expr, verdict_expr


@dataclass
class Piece:
    """A piece of one generic file: its rows as a frame whose `line` column (a name no source column has)
    holds each row's line or row number, plus what the reader counted, rejected and noted."""

    frame: pl.DataFrame
    line: str
    n_rows: int
    rejects: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_frames(path: Path) -> Iterator[Piece]:
    """The pieces of one generic file; large Parquet, JSONL and CSV files come in pieces of CHUNK_ROWS rows
    so memory stays bounded."""
    kind = file_kind(path)
    if kind == "parquet":
        offset = 1
        for frame, notes in iter_parquet_frames(path, readers.CHUNK_ROWS):
            line = readers.line_column(frame.columns)
            frame = frame.with_columns(pl.int_range(offset, offset + frame.height, dtype=pl.Int64).alias(line))
            offset += frame.height
            yield Piece(frame, line, frame.height, [], notes)
        return
    chunks = iter_jsonl(path) if kind == "jsonl" else iter_csv(path) if kind == "csv" else [read_json_array(path)]
    for recs in chunks:
        frame, line = records_to_frame(recs.rows, recs.lines)
        yield Piece(frame, line, recs.n_source_rows, recs.rejects, recs.notes)


def read_generic(path: Path, mapping: Mapping) -> Iterator[SourceBatch]:
    """Batches of one generic file. The first piece settles the columns and, when no scale is given,
    the guessed scale; later pieces use the same ones (a column a piece lacks is read as empty)."""
    numeric_constants(mapping)  # a bad constant is a one-line error before anything is read
    settled: Mapping | None = None
    for piece in load_frames(path):
        if settled is not None:
            wanted = set(settled.columns.values()) | set(settled.criteria) | set(settled.criteria_critiques.values())
            missing = [c for c in wanted if c not in piece.frame.columns]
            piece.frame = piece.frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)
        batch, effective = _read_frame(path, piece, settled or mapping, quiet=settled is not None)
        settled = settled or effective
        yield batch


def source_column(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A source column by its exact name. A file's column names are data: pl.col("*") would be every column and
    pl.col("^a.*$") a pattern, so columns are taken by position."""
    return pl.nth(frame.columns.index(name))


def _numeric(frame: pl.DataFrame, line: str, col: str, role: str, source: str) -> tuple[pl.Expr, list[Reject]]:
    """Cast a column to float; a non-null value that is not a number becomes a reject."""
    dtype = frame.schema[col]
    if dtype.is_numeric():
        return source_column(frame, col).cast(pl.Float64), []
    if dtype == pl.Boolean:
        return source_column(frame, col).cast(pl.Float64), []
    as_text = _text(frame, col).str.strip_chars()
    cast = as_text.cast(pl.Float64, strict=False)
    bad = frame.filter(as_text.is_not_null() & (as_text != "") & cast.is_null()).select(
        source_column(frame, line), source_column(frame, col)
    )
    rejects = [
        Reject(source, ln, col, f"{role} {value!r} is not a number", clip_raw(value)) for ln, value in bad.iter_rows()
    ]
    return cast, rejects


def _read_frame(path: Path, piece: Piece, mapping: Mapping, quiet: bool = False) -> tuple[SourceBatch, Mapping | None]:
    """One piece of a generic file -> a batch, and the mapping it settled on (columns and scale)."""
    source = str(path)
    frame, line = piece.frame, piece.line
    batch = SourceBatch(source=source, n_source_rows=piece.n_rows, rejects=list(piece.rejects), notes=list(piece.notes))
    if frame.height == 0:
        return batch, None
    columns = [c for c in frame.columns if c != line]
    missing_crit = [c for c in mapping.criteria + list(mapping.criteria_critiques.values()) if c not in columns]
    if missing_crit:
        raise UserError(
            f"{path}: criterion column(s) {', '.join(missing_crit)} not in the file; columns: {', '.join(columns)}"
        )
    roles, guessed = resolve(mapping, columns)
    if guessed and not quiet:
        batch.notes.append(f"{path.name}: guessed columns " + ", ".join(f"{r}←{c}" for r, c in guessed.items()))
    if not quiet:
        batch.notes += _nested_notes(path, frame, set(roles.values()))
    pairwise = ("response_a" in roles or "model_a" in roles) and ("response_b" in roles or "model_b" in roles)
    if not pairwise:
        for r in ("response_a", "response_b", "model_a", "model_b", "shown_first", "score_a", "score_b"):
            roles.pop(r, None)
    elif "verdict" in mapping.constants or not {"score_a", "score_b"} <= set(roles):
        # each answer's score is read only to give a verdict a row lacks; otherwise those columns are metadata
        roles.pop("score_a", None)
        roles.pop("score_b", None)
    elif "verdict" not in roles:
        batch.notes.append(
            f"{path.name}: verdicts from each answer's score ({roles['score_a']} / {roles['score_b']}): the higher "
            f"wins, equal scores tie; the scores stay as metadata"
        )
    judged = {"judge", "score", "critique", "verdict", "label_score", "label_verdict", *SECTIONS} & (
        set(roles) | set(mapping.constants)
    ) or mapping.criteria
    if not judged and not pairwise and "response" in roles:
        return _outputs_only(path, frame, line, roles, mapping, batch), replace(mapping, columns=dict(roles))
    _check_roles(path, roles, mapping, pairwise, columns)
    frame, numeric, crit_exprs = _numbers(frame, line, roles, mapping, source, batch)
    if pairwise and "score_a" in roles and "verdict" in roles:
        _note_verdicts_from_scores(path, frame, roles, mapping, numeric, batch)
    lo, hi, guessed_scale = _scale(path, frame, roles, mapping, numeric, crit_exprs, batch)
    effective = replace(
        mapping, columns=dict(roles), constants=dict(mapping.constants), scale=mapping.scale or guessed_scale
    )
    base = _base(frame, line, roles, mapping, pairwise, numeric, (lo, hi), columns, source)
    batch.judgments = _with_criteria(base, frame, roles, mapping, pairwise, crit_exprs)
    if mapping.criteria:
        batch.criteria = pl.DataFrame({"criterion": mapping.criteria})
        lo_v = mapping.scale[0] if mapping.scale else None
        hi_v = mapping.scale[1] if mapping.scale else None
        batch.criteria = batch.criteria.with_columns(
            pl.lit(lo_v, dtype=pl.Float64).alias("scale_min"), pl.lit(hi_v, dtype=pl.Float64).alias("scale_max")
        )
    if "label_score" in roles or "label_verdict" in roles:
        batch.labels = _labels(base, mapping)
    return batch, effective


def _note_verdicts_from_scores(
    path: Path, frame: pl.DataFrame, roles: dict[str, str], mapping: Mapping, numeric: dict, batch: SourceBatch
) -> None:
    """A file with a verdict column and each answer's score: the rows with no verdict take it from their scores
    (a file that mixes two kinds of review, a new user's QLoRA reviews in session 20), said in a note."""
    missing = blank(_col(frame, roles, mapping, "verdict"))
    scored = numeric["score_a"].is_not_null() & numeric["score_b"].is_not_null()
    n, neither = frame.select((missing & scored).sum().alias("n"), (missing & ~scored).sum().alias("neither")).row(0)
    if n:
        batch.notes.append(
            f"{path.name}: {n:,} rows without a verdict take it from each answer's score ({roles['score_a']} / "
            f"{roles['score_b']}): the higher wins, equal scores tie; the scores stay as metadata"
        )
    if neither:
        batch.notes.append(
            f"{path.name}: {neither:,} rows have neither a verdict nor a number in both {roles['score_a']} and "
            f"{roles['score_b']}: they are imported with no verdict"
        )


def _nested_notes(path: Path, frame: pl.DataFrame, used: set[str]) -> list[str]:
    """A note per column no role uses that holds lists of records (SelFee's `outputs`: answers with their critiques):
    one judgment is read per row, so what sits inside those records is not imported."""
    out = []
    for c in frame.columns:
        dtype = frame.schema[c]
        if c in used:
            continue
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            keys = ", ".join(f.name for f in dtype.inner.fields[:6])
        elif dtype == pl.String:  # JSON and JSON Lines readers keep nested values as JSON text
            keys = _record_list_keys(frame[c].drop_nulls().head(20).to_list())
            if not keys:
                continue
        else:
            continue
        out.append(
            f"{path.name}: column {c!r} holds lists of records ({keys}); one judgment is read per row, so they are "
            "not imported: write one row per record to import them (docs/ingest.md)"
        )
    return out


def _record_list_keys(values: list[str]) -> str:
    """The keys of the records, when every value is a JSON list of objects ("" otherwise)."""
    keys: list[str] = []
    for v in values:
        if not v.lstrip().startswith("[{"):
            return ""
        try:
            records = json.loads(v)
        except ValueError:
            return ""
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            return ""
        for r in records:
            keys += [k for k in r if k not in keys]
    return ", ".join(keys[:6])


def _check_roles(path: Path, roles: dict[str, str], mapping: Mapping, pairwise: bool, columns: list[str]) -> None:
    """A one-line error naming the file and the --map / --set that fixes it, when a needed column is missing."""
    if "judge" not in roles and "judge" not in mapping.constants:
        raise UserError(
            f"{path}: no judge column (looked for {', '.join(['judge', 'judge_model', 'evaluator', 'grader'])}); "
            f"map one with --map judge=COLUMN or name the judge with --set judge=NAME"
        )
    if pairwise:
        scored = "score_a" in roles and "score_b" in roles
        if "verdict" not in roles and "verdict" not in mapping.constants and "score" not in roles and not scored:
            raise UserError(
                f"{path}: pairwise columns found but no verdict column; map one with --map verdict=COLUMN (or each "
                f"answer's score with --map score_a=COLUMN --map score_b=COLUMN)"
            )
    elif "score" not in roles and not _has_critique(roles) and not mapping.criteria:
        raise UserError(
            f"{path}: no score, critique or criterion columns (columns: {', '.join(columns)}); "
            f"map them with --map score=COLUMN or --map critique=COLUMN"
        )
    if "item_id" not in roles and "prompt" not in roles and "item_id" not in mapping.constants:
        raise UserError(f"{path}: no item id or prompt column to tell items apart; map one with --map item_id=COLUMN")


def _col(frame: pl.DataFrame, roles: dict[str, str], mapping: Mapping, role: str, dtype=pl.String) -> pl.Expr:
    """A role's values: its column (text cleaned, or cast to dtype), else the mapping's constant, else nulls."""
    if role in roles:
        return (
            source_column(frame, roles[role]).cast(dtype, strict=False)
            if dtype != pl.String
            else _text(frame, roles[role])
        )
    if role in mapping.constants:
        return pl.lit(mapping.constants[role]).cast(dtype)
    return pl.lit(None, dtype=dtype)


def _numbers(
    frame: pl.DataFrame, line: str, roles: dict[str, str], mapping: Mapping, source: str, batch: SourceBatch
) -> tuple[pl.DataFrame, dict[str, pl.Expr], dict[str, pl.Expr]]:
    """The numeric roles and criterion scores as expressions; a row with a value that is not a number is
    rejected (file, line, column) and left out of the frame returned."""
    constants = numeric_constants(mapping)
    numeric: dict[str, pl.Expr] = {}
    not_numbers: list[Reject] = []
    # beside a verdict column each answer's score only fills a missing verdict: a "rating_a" of "8/10" there is
    # no reason to reject the row (it stays metadata, and gives no verdict)
    lenient = {"score_a", "score_b"} if "verdict" in roles else set()
    for role in NUMERIC_ROLES:
        if role in roles:
            expr, bad = _numeric(frame, line, roles[role], role, source)
            numeric[role] = expr
            not_numbers.extend([] if role in lenient else bad)
        elif role in constants:
            numeric[role] = pl.lit(constants[role], dtype=pl.Float64)
        else:
            numeric[role] = pl.lit(None, dtype=pl.Float64)
    crit_exprs: dict[str, pl.Expr] = {}
    for c in mapping.criteria:
        expr, bad = _numeric(frame, line, c, f"criterion {c!r} score", source)
        crit_exprs[c] = expr
        not_numbers.extend(bad)
    batch.rejects.extend(not_numbers)
    if not_numbers:  # rows are told apart by their line number: each row has its own
        frame = frame.filter(~pl.col(line).is_in([r.line for r in not_numbers]))
    return frame, numeric, crit_exprs


def _scale(
    path: Path,
    frame: pl.DataFrame,
    roles: dict[str, str],
    mapping: Mapping,
    numeric: dict[str, pl.Expr],
    crit_exprs: dict[str, pl.Expr],
    batch: SourceBatch,
) -> tuple[pl.Expr, pl.Expr, tuple[float, float] | None]:
    """The score scale: given, per-row columns, or guessed from the scores (said in a note)."""
    constants = numeric_constants(mapping)
    lo, hi = numeric["scale_min"], numeric["scale_max"]
    guessed_scale = None
    if mapping.scale:
        lo, hi = pl.lit(mapping.scale[0]), pl.lit(mapping.scale[1])
    elif not {"scale_min", "scale_max"} & (set(roles) | set(constants)):
        observed = frame.select(
            pl.concat([numeric["score"].alias("s")] + [e.alias("s") for e in crit_exprs.values()], how="vertical")
            if crit_exprs
            else numeric["score"].alias("s")
        ).to_series()
        scale = guess_scale(observed)
        guessed_scale = scale
        if scale:
            lo, hi = pl.lit(scale[0]), pl.lit(scale[1])
            batch.notes.append(
                f"{path.name}: no scale given; scores fit {scale[0]:g}–{scale[1]:g}, used as the scale "
                f"(set it with --scale MIN-MAX)"
            )
        elif observed.drop_nulls().len():
            batch.notes.append(f"{path.name}: no scale given and scores fit no usual scale; score_norm left empty")
    return lo, hi, guessed_scale


def _base(
    frame: pl.DataFrame,
    line: str,
    roles: dict[str, str],
    mapping: Mapping,
    pairwise: bool,
    numeric: dict[str, pl.Expr],
    scale: tuple[pl.Expr, pl.Expr],
    columns: list[str],
    source: str,
) -> pl.DataFrame:
    """One row per source row in the canonical columns, with the judgment's key (its id, else a natural key)."""
    lo, hi = scale

    def col(role: str, dtype=pl.String) -> pl.Expr:
        return _col(frame, roles, mapping, role, dtype)

    meta = _meta(frame, roles, mapping, columns)
    item_key = col("item_id") if ("item_id" in roles or "item_id" in mapping.constants) else col("prompt")
    verdict_raw = col("verdict")
    verdict = verdict_expr(verdict_raw)
    if pairwise and "score_a" in roles:  # kept only where it gives a verdict (above): a row's own verdict first
        a, b = numeric["score_a"], numeric["score_b"]
        scored = pl.when(a > b).then(pl.lit("a")).when(a < b).then(pl.lit("b")).when(a == b).then(pl.lit("tie"))
        verdict = pl.when(blank(verdict_raw)).then(scored).otherwise(verdict) if "verdict" in roles else scored
    shown = (
        position_expr(col("shown_first"))
        if "shown_first" in roles or "shown_first" in mapping.constants
        else pl.lit(None, dtype=pl.String)
    )
    if pairwise and mapping.verdict_frame == "position":
        flip = {"a": "b", "b": "a", "tie": "tie"}
        verdict = pl.when(shown == "b").then(verdict.replace_strict(flip, default=None)).otherwise(verdict)
    status = pl.when(verdict_raw.is_not_null() & verdict.is_null()).then(pl.lit("unparsed")).otherwise(pl.lit(None))

    base = frame.select(
        item_key.alias("item_key"),
        col("prompt").alias("prompt"),
        col("reference").alias("reference"),
        col("category").alias("category"),
        col("judge").alias("judge"),
        col("model").alias("model"),
        col("response").alias("response"),
        col("model_a").alias("model_a"),
        col("response_a").alias("response_a"),
        col("model_b").alias("model_b"),
        col("response_b").alias("response_b"),
        shown.alias("shown_first"),
        (verdict if pairwise else pl.lit(None, dtype=pl.String)).alias("verdict"),
        (status if pairwise else pl.lit(None, dtype=pl.String)).alias("parse_status"),
        lo.alias("scale_min"),
        hi.alias("scale_max"),
        numeric["score"].alias("score"),
        _critique(frame, roles, mapping).alias("critique"),
        col("raw_output").alias("raw_output"),
        col("criterion").alias("criterion"),
        col("template").alias("template"),
        numeric["sample"].cast(pl.Int32, strict=False).alias("sample"),
        col("judgment_id").alias("judgment_id"),
        col("annotator").alias("annotator"),
        numeric["label_score"].alias("label_score"),
        verdict_expr(col("label_verdict")).alias("label_verdict"),
        meta.alias("meta"),
        pl.col(line).alias("source_line"),
        (
            pl.when(verdict_raw.is_not_null() & verdict.is_null()).then(verdict_raw.cast(pl.String)).otherwise(None)
            if pairwise
            else pl.lit(None, dtype=pl.String)
        ).alias("raw_verdict"),
    ).with_columns(
        pl.lit("pairwise" if pairwise else "pointwise").alias("protocol"),
        pl.lit(source).alias("source"),
    )
    base = base.with_columns(
        pl.when(pl.col("raw_output").is_null() & pl.col("raw_verdict").is_not_null())
        .then(pl.col("raw_verdict"))
        .otherwise(pl.col("raw_output"))
        .alias("raw_output")
    )
    return _keyed(base, pairwise)


def _has_critique(roles: dict[str, str]) -> bool:
    return "critique" in roles or any(role in roles for role in SECTIONS)


def _critique(frame: pl.DataFrame, roles: dict[str, str], mapping: Mapping) -> pl.Expr:
    """The critique: its column, then the parts of a critique written in fields ("strengths", "weaknesses")
    under their headers, joined by the one rule of analysis/sections.py."""
    critique = _col(frame, roles, mapping, "critique")
    parts = [role for role in SECTIONS if role in roles]
    if not parts:
        return critique
    fields = [critique.alias("critique")] + [source_column(frame, roles[r]).alias(r) for r in parts]
    return pl.struct(fields).map_elements(
        lambda row: sections.join(row["critique"], {r: row[r] for r in parts}), return_dtype=pl.String
    )


def _meta(frame: pl.DataFrame, roles: dict[str, str], mapping: Mapping, columns: list[str]) -> pl.Expr:
    """The columns no role uses, kept as the judgment's metadata (JSON)."""
    # (each answer's score is read for the verdict and kept: it is what the judge said of each answer)
    kept = {roles[r] for r in ("score_a", "score_b") if r in roles}
    used = (set(roles.values()) - kept) | set(mapping.criteria) | set(mapping.criteria_critiques.values())
    extra = [c for c in columns if c not in used]
    if not extra:
        return pl.lit(None, dtype=pl.String)
    return pl.struct([source_column(frame, c).alias(c) for c in extra]).struct.json_encode()


def _keyed(base: pl.DataFrame, pairwise: bool) -> pl.DataFrame:
    """judgment_key: the file's judgment id, else the natural key of a judgment (item, judge, criterion, template,
    sample, order shown and the response or pair)."""
    identity = [
        pl.col("item_key"),
        pl.col("judge"),
        pl.col("criterion"),
        pl.col("template"),
        pl.col("sample").cast(pl.String),
        pl.col("shown_first"),
    ]
    if pairwise:
        identity += [
            pl.coalesce(pl.col("model_a"), pl.col("response_a")),
            pl.coalesce(pl.col("model_b"), pl.col("response_b")),
        ]
    else:
        identity += [pl.coalesce(pl.col("model"), pl.col("response"))]
    natural = pl.concat_str([e.fill_null("\x00") for e in identity], separator="\x1f")
    base = base.with_columns(pl.coalesce(pl.col("judgment_id"), natural).alias("judgment_key"))
    return base


def _with_criteria(
    base: pl.DataFrame,
    frame: pl.DataFrame,
    roles: dict[str, str],
    mapping: Mapping,
    pairwise: bool,
    crit_exprs: dict[str, pl.Expr],
) -> pl.DataFrame:
    """The overall judgments (when the file has an overall score, critique or verdict) and one judgment per
    criterion column."""
    parts = []
    has_overall = "score" in roles or "score" in mapping.constants or _has_critique(roles) or pairwise or not crit_exprs
    if has_overall:
        parts.append(base)
    for c, expr in crit_exprs.items():
        crit_frame = frame.select(
            expr.alias("_crit_score"),
            (
                _text(frame, mapping.criteria_critiques[c])
                if c in mapping.criteria_critiques
                else pl.lit(None, dtype=pl.String)
            ).alias("_crit_critique"),
        )
        parts.append(
            base.with_columns(
                pl.lit(c).alias("criterion"),
                crit_frame["_crit_score"].alias("score"),
                crit_frame["_crit_critique"].alias("critique"),
                pl.concat_str([pl.col("judgment_key"), pl.lit("\x1fcriterion\x1f" + c)]).alias("judgment_key"),
                pl.lit(None, dtype=pl.String).alias("raw_output"),
            )
        )
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def _labels(base: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    """The human (or gold) labels the rows carry, one per row and annotator."""
    labels = base.filter(pl.col("label_score").is_not_null() | pl.col("label_verdict").is_not_null())
    labels = labels.select(
        "item_key",
        "prompt",
        "reference",
        "category",
        "model",
        "response",
        "model_a",
        "response_a",
        "model_b",
        "response_b",
        "criterion",
        "scale_min",
        "scale_max",
        "source",
        "source_line",
        pl.col("label_score").alias("score"),
        pl.col("label_verdict").alias("verdict"),
        pl.coalesce(pl.col("annotator"), pl.lit("human")).alias("annotator"),
        pl.lit(mapping.label_kind).alias("kind"),
        pl.concat_str(
            [pl.col("judgment_key"), pl.lit("\x1flabel\x1f"), pl.coalesce(pl.col("annotator"), pl.lit("human"))]
        ).alias("label_key"),
    )
    return labels


def _outputs_only(
    path: Path, frame: pl.DataFrame, line: str, roles: dict[str, str], mapping: Mapping, batch: SourceBatch
) -> SourceBatch:
    """Model outputs with no judgment yet (to be judged with `judgescope judge`): items and responses only."""
    if "item_id" not in roles and "prompt" not in roles and "item_id" not in mapping.constants:
        raise UserError(f"{path}: no item id or prompt column to tell items apart; map one with --map item_id=COLUMN")
    if "model" not in roles and "model" not in mapping.constants:
        raise UserError(
            f"{path}: model outputs need a model column; map one with --map model=COLUMN or --set model=NAME"
        )

    def col(role: str) -> pl.Expr:
        if role in roles:
            return _text(frame, roles[role])
        if role in mapping.constants:
            return pl.lit(str(mapping.constants[role]))
        return pl.lit(None, dtype=pl.String)

    item_key = col("item_id") if ("item_id" in roles or "item_id" in mapping.constants) else col("prompt")
    batch.responses = frame.select(
        item_key.alias("item_key"),
        col("prompt").alias("prompt"),
        col("reference").alias("reference"),
        col("category").alias("category"),
        col("model").alias("model"),
        col("response").alias("response"),
        pl.lit(str(path)).alias("source"),
        pl.col(line).alias("source_line"),
    )
    batch.notes.append(
        f"{path.name}: no judge, score, verdict or critique columns: {frame.height:,} model outputs "
        f"imported without judgments (judge them with `judgescope judge`)"
    )
    return batch


def _text(frame: pl.DataFrame, column: str) -> pl.Expr:
    dtype = frame.schema[column]
    c = source_column(frame, column)
    if dtype == pl.String:
        return c
    if dtype in (pl.Float64, pl.Float32):  # 3.0 -> "3", for ids written as floats
        return (
            pl.when(c == c.round(0)).then(c.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(c.cast(pl.String))
        )
    if dtype.is_nested() or isinstance(dtype, pl.Struct):
        return c.cast(pl.String, strict=False)
    return c.cast(pl.String)
