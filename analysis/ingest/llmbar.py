"""LLMBar (princeton-nlp/LLMBar): 1,200 curated pairs, six judges, every pair shown in both orders.

Files: `instances.jsonl` (subset, idx, input, output_1, output_2, label) and `judgments.parquet`
(subset, idx, judge, strategy, stage, swap, completion, finish_reason, winner, label, score_1, score_2,
generated_metrics, generated_reference). `winner` is already about the outputs, not the positions.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import UserError
from .batch import Reject, SourceBatch
from .readers import line_column, read_jsonl, read_parquet_frame, records_to_frame, require

JUDGE_MODELS = {  # LLMBar's evaluator names -> the model each one is (LLMEvaluator/evaluators/config)
    "GPT-4": "gpt-4",
    "ChatGPT": "gpt-35-turbo-0613",
    "ChatGPT-0301": "gpt-35-turbo-0301",
    "LLaMA2": "Llama-2-70b-chat-hf",
    "PaLM2": "text-bison-001",
    "Falcon": "falcon-180B-chat",
}


def detect(path: Path) -> bool:
    return path.is_dir() and (path / "instances.jsonl").exists() and (path / "judgments.parquet").exists()


TEXT_COLUMNS = (
    "subset",
    "idx",
    "judge",
    "strategy",
    "winner",
    "completion",
    "finish_reason",
    "score_1",
    "score_2",
    "generated_metrics",
    "generated_reference",
)


def _judgment_columns(jd: pl.DataFrame) -> pl.DataFrame:
    """Only the columns read, in the types used (whatever types the file has), plus `_line` (row numbers)."""
    line = line_column(jd.columns)
    swap = jd.schema["swap"]
    if swap == pl.String:
        swap_expr = (
            pl.col("swap")
            .str.strip_chars()
            .str.to_lowercase()
            .replace_strict(
                {"true": True, "1": True, "false": False, "0": False}, default=None, return_dtype=pl.Boolean
            )
        )
    else:
        swap_expr = pl.col("swap").cast(pl.Boolean, strict=False)
    jd = jd.with_columns(pl.int_range(1, jd.height + 1, dtype=pl.Int64).alias(line))
    return jd.select(
        pl.col(line).alias("_line"),
        *(
            (pl.col(c).cast(pl.String, strict=False) if c in jd.columns else pl.lit(None, dtype=pl.String)).alias(c)
            for c in TEXT_COLUMNS
        ),
        pl.col("stage").cast(pl.Int64, strict=False),
        swap_expr.alias("swap"),
    ).with_columns(pl.concat_str([pl.col("subset"), pl.col("idx")], separator="/").alias("item_key"))


def _pairs(inst: pl.DataFrame, line: str) -> pl.DataFrame:
    """One row per pair of instances.jsonl: its key, prompt, category, the two outputs and the label (1 or 2)."""
    inst = inst.select(  # only the columns read, under internal names that no source column can take
        pl.col(line).alias("_line"),
        pl.col("idx"),
        *(pl.col(c).cast(pl.String) for c in ("subset", "input", "output_1", "output_2")),
        pl.col("label").cast(pl.Int64, strict=False),
    ).with_columns(pl.concat_str([pl.col("subset"), pl.col("idx").cast(pl.String)], separator="/").alias("item_key"))
    return inst.select(
        "item_key",
        "subset",
        "idx",
        "_line",
        pl.col("input").alias("prompt"),
        pl.col("subset").str.split("/").list.first().alias("category"),
        pl.struct(pl.col("subset"), pl.col("idx")).struct.json_encode().alias("item_meta"),
        pl.col("output_1").alias("response_a"),
        pl.col("output_2").alias("response_b"),
        pl.col("label"),
    )


def _gold(items: pl.DataFrame, inst_path: Path) -> pl.DataFrame:
    """The gold label of each pair labelled 1 or 2 (MT-Bench's pairs: the human majority)."""
    return items.filter(pl.col("label").is_in([1, 2])).select(
        "item_key",
        "prompt",
        "category",
        "item_meta",
        "response_a",
        "response_b",
        pl.when(pl.col("label") == 1).then(pl.lit("a")).otherwise(pl.lit("b")).alias("verdict"),
        pl.when(pl.col("subset") == "Processed/MT-Bench")
        .then(pl.lit("mt-bench-human-majority"))
        .otherwise(pl.lit("llmbar-gold"))
        .alias("annotator"),
        pl.lit("gold").alias("kind"),
        pl.concat_str([pl.col("item_key"), pl.lit("gold")], separator="\x1f").alias("label_key"),
        pl.lit(str(inst_path)).alias("source"),
        pl.col("_line").alias("source_line"),
    )


def _read_instances(inst_path: Path) -> tuple[pl.DataFrame, SourceBatch]:
    """(the pairs of instances.jsonl, its batch: the gold labels and the rows rejected for their label)."""
    recs = read_jsonl(inst_path)
    inst, line = records_to_frame(recs.rows, recs.lines)
    need = {"subset", "idx", "input", "output_1", "output_2", "label"}
    if missing := need - set(inst.columns):
        raise UserError(f"{inst_path}: missing column(s) {', '.join(sorted(missing))}")
    items = _pairs(inst, line)
    inst_rejects = list(recs.rejects) + [
        Reject(str(inst_path), line, "label", "label must be 1 or 2")
        for line in items.filter(~pl.col("label").is_in([1, 2]) | pl.col("label").is_null())["_line"]
    ]
    gold = _gold(items, inst_path)
    return items, SourceBatch(str(inst_path), recs.n_source_rows, labels=gold, rejects=inst_rejects, notes=recs.notes)


def _judgment_key() -> pl.Expr:
    """A judgment's key: the pair, the judge, the strategy, the stage and the order shown."""
    return pl.concat_str(
        [
            pl.col("item_key"),
            pl.col("judge"),
            pl.col("strategy"),
            pl.col("stage").cast(pl.String),
            pl.col("swap").cast(pl.String),
        ],
        separator="\x1f",
    )


def _common_columns(judg_path: Path) -> list[pl.Expr]:
    """The columns every judgment of judgments.parquet has, the pairwise verdict and the rating scores alike."""
    meta = pl.struct(
        pl.col("strategy"),
        pl.col("stage"),
        pl.col("swap"),
        pl.col("finish_reason"),
        pl.col("judge").replace_strict(JUDGE_MODELS, default=None).alias("judge_model"),
        pl.col("generated_metrics"),
        pl.col("generated_reference"),
    ).struct.json_encode()
    return [
        pl.col("item_key"),
        pl.col("prompt"),
        pl.col("category"),
        pl.col("item_meta"),
        pl.col("judge"),
        # stage 1 of Swap/Swap_CoT re-judges after reading both stage-0 rationales: another prompt
        pl.when(pl.col("stage") == 0)
        .then(pl.col("strategy"))
        .otherwise(pl.concat_str([pl.col("strategy"), pl.lit(":stage"), pl.col("stage").cast(pl.String)]))
        .alias("template"),
        pl.lit(str(judg_path)).alias("source"),
        pl.col("_line").alias("source_line"),
        meta.alias("meta"),
    ]


def _pairwise(joined: pl.DataFrame, common: list[pl.Expr]) -> pl.DataFrame:
    """One pairwise judgment per row: which output the judge preferred, and the order it saw them in."""
    return joined.select(
        *common,
        pl.lit("pairwise").alias("protocol"),
        pl.col("response_a"),
        pl.col("response_b"),
        pl.when(pl.col("swap")).then(pl.lit("b")).otherwise(pl.lit("a")).alias("shown_first"),
        pl.col("winner").replace_strict({"1": "a", "2": "b"}, default=None).alias("verdict"),
        pl.col("completion").alias("critique"),
        pl.col("completion").alias("raw_output"),
        pl.when(pl.col("winner").is_in(["1", "2"]))
        .then(pl.lit("ok"))
        .otherwise(pl.lit("unparsed"))
        .alias("parse_status"),
        _judgment_key().alias("judgment_key"),
    )


def _rating_scores(joined: pl.DataFrame, common: list[pl.Expr]) -> list[pl.DataFrame]:
    """The Rating strategies' 1-10 score of each output: one pointwise judgment per output (first, then second)."""
    rating = joined.filter(pl.col("strategy").str.starts_with("Rating"))
    scored = []
    for slot, col, resp in (("1", "score_1", "response_a"), ("2", "score_2", "response_b")):
        s = pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        ok = s.is_not_null() & (s >= 1) & (s <= 10)
        scored.append(
            rating.select(
                *common[:-1],
                pl.struct(
                    pl.col("strategy"),
                    pl.col("stage"),
                    pl.col("swap"),
                    pl.lit(int(slot)).alias("output"),
                    pl.when(pl.col("swap")).then(pl.lit(3 - int(slot))).otherwise(pl.lit(int(slot))).alias("position"),
                    pl.col("judge").replace_strict(JUDGE_MODELS, default=None).alias("judge_model"),
                )
                .struct.json_encode()
                .alias("meta"),
                pl.lit("pointwise").alias("protocol"),
                pl.col(resp).alias("response"),
                pl.when(ok).then(s).otherwise(None).alias("score"),
                pl.lit(1.0).alias("scale_min"),
                pl.lit(10.0).alias("scale_max"),
                pl.concat_str([pl.lit(f"{col}="), pl.col(col).cast(pl.String)]).alias("raw_output"),
                pl.when(ok).then(pl.lit("ok")).otherwise(pl.lit("unparsed")).alias("parse_status"),
                pl.concat_str([_judgment_key(), pl.lit("score_" + slot)], separator="\x1f").alias("judgment_key"),
            )
        )
    return scored


def _read_judgments(judg_path: Path, items: pl.DataFrame) -> SourceBatch:
    """The judgments of judgments.parquet on the pairs of instances.jsonl; a row about no known pair is rejected."""
    jd = read_parquet_frame(judg_path)
    need = {"subset", "idx", "judge", "strategy", "stage", "swap", "winner"}
    if missing := need - set(jd.columns):
        raise UserError(f"{judg_path}: missing column(s) {', '.join(sorted(missing))}")
    jd = _judgment_columns(jd)
    joined = jd.join(items.drop("label", "_line", "subset", "idx"), on="item_key", how="left")
    orphan = joined.filter(pl.col("prompt").is_null())
    rejects = [
        Reject(str(judg_path), line, "idx", f"no instance {key} in instances.jsonl")
        for line, key in orphan.select("_line", "item_key").iter_rows()
    ]
    joined = joined.filter(pl.col("prompt").is_not_null())
    common = _common_columns(judg_path)
    judgments = pl.concat([_pairwise(joined, common), *_rating_scores(joined, common)], how="diagonal_relaxed")
    return SourceBatch(str(judg_path), jd.height, judgments=judgments, rejects=rejects)


def read(path: Path) -> list[SourceBatch]:
    require(path, "an LLMBar directory", "instances.jsonl", "judgments.parquet")
    items, inst_batch = _read_instances(path / "instances.jsonl")
    return [inst_batch, _read_judgments(path / "judgments.parquet", items)]
