"""The one registry of source formats: a record per importer holding its name, aliases, how it is
detected and how it is read. `ingest` and `detect_format` read nothing else, so a new importer is one
`Format(...)` line here (plus its reader module).

Detection: a directory is tried against the directory layouts in order; a container file (.zip, .eval)
must be the format its suffix promises; any other file is judged by the column names of its first record,
tried in registry order (the most specific key sets first), falling back to `generic`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import alpaca_eval, arena_hard, clear, fastchat, generic, inspect_log, llmbar, pandalm, prometheus, promptfoo
from .batch import SourceBatch
from .mapping import Mapping

Reader = Callable[[Path, Mapping], Iterable[SourceBatch]]


def _stem(path: Path) -> str:
    return path.stem


@dataclass(frozen=True)
class Format:
    name: str
    describe: str
    read: Reader
    dataset: Callable[[Path], str] = _stem  # the default dataset name of a source
    aliases: tuple[str, ...] = ()
    directory: Callable[[Path], bool] | None = None  # a directory layout: does this directory hold it?
    container: tuple[str, Callable[[Path], bool], str] | None = None  # (suffix, detect, what it must hold)
    keys: Callable[[set[str]], bool] | None = None  # does a first record with these keys belong here?


def _keys(*required: set[str], also: Callable[[set[str]], bool] = lambda k: True) -> Callable[[set[str]], bool]:
    """A first-record test: one of the key sets is present (and `also` holds)."""
    return lambda keys: any(r <= keys for r in required) and also(keys)


def _opt(mapping: Mapping, *names: str) -> dict:
    return {n: mapping.constants[n] for n in names if n in mapping.constants}


REGISTRY: tuple[Format, ...] = (
    Format(
        "llmbar",
        "LLMBar directory (instances.jsonl + judgments.parquet)",
        lambda p, m: llmbar.read(p),
        dataset=lambda p: "llmbar",
        directory=llmbar.detect,
    ),
    Format(
        "pandalm",
        "PandaLM directory (testset-v1.jsonl + <judge>-testset-v1.jsonl)",
        lambda p, m: pandalm.read(p),
        dataset=lambda p: "pandalm",
        directory=pandalm.detect,
    ),
    Format(
        "fastchat",
        "FastChat bench directory, e.g. arena-bench v1 (question.jsonl, answers, judgments)",
        lambda p, m: fastchat.read_dir(p),
        dataset=lambda p: p.name,
        aliases=("arena-bench-v1", "arena-bench"),
        directory=fastchat.detect_dir,
    ),
    Format(
        "clear",
        "IBM CLEAR results zip",
        lambda p, m: clear.read(p),
        container=(".zip", clear.detect, "a CLEAR results archive (results.parquet/csv + metadata.json)"),
    ),
    Format(
        "inspect",
        "Inspect AI eval log (.eval or .json)",
        lambda p, m: inspect_log.read(p),
        dataset=inspect_log.dataset_name,
        aliases=("inspect-ai", "inspect_ai", "inspect-eval"),
        container=(".eval", inspect_log.detect, "an Inspect AI log (a zip with header.json)"),
        keys=_keys(inspect_log.KEYS),
    ),
    Format(
        "promptfoo",
        "promptfoo results (eval -o results.json/.jsonl)",
        lambda p, m: promptfoo.read(p),
        keys=_keys(promptfoo.KEYS, promptfoo.RESULT_KEYS),
    ),
    Format(
        "prometheus",
        "Prometheus rubric grading file",
        lambda p, m: prometheus.read(p),
        dataset=lambda p: "prometheus",
        keys=_keys(prometheus.KEYS),
    ),
    Format(
        "fastchat-pair",
        "FastChat / MT-Bench pairwise file",
        lambda p, m: fastchat.read_pair(p),
        aliases=("mt-bench-pair",),
        keys=_keys(fastchat.PAIR_KEYS),
    ),
    Format(
        "arena-hard",
        "Arena-Hard pairwise judgments (games with A>>B scores)",
        lambda p, m: arena_hard.read_arena_hard(p, **_opt(m, "baseline")),
        keys=_keys(arena_hard.ARENA_KEYS),
    ),
    Format(
        "judgebench",
        "JudgeBench output file",
        lambda p, m: arena_hard.read_judgebench(p),
        keys=_keys(arena_hard.JUDGEBENCH_KEYS),
    ),
    Format(
        "alpaca-eval",
        "AlpacaEval annotations",
        lambda p, m: alpaca_eval.read(p),
        # one benchmark whatever the files are called: each model's annotations judge the same 805 instructions
        dataset=lambda p: "alpaca_eval",
        aliases=("alpacaeval",),
        keys=_keys(alpaca_eval.KEYS, also=lambda k: "generator_1" in k or "referenced_models" in k),
    ),
    Format(
        "fastchat-single",
        "FastChat single-answer grading file",
        lambda p, m: fastchat.read_single(p),
        aliases=("mt-bench",),
        # (arena-bench-v1's per-model files have no judge or turn, but keep the judge prompt)
        keys=_keys(fastchat.SINGLE_KEYS, also=lambda k: ("judge" in k and "turn" in k) or "user_prompt" in k),
    ),
    Format(
        "generic",
        "JSONL / CSV / Parquet with a column mapping",
        generic.read_generic,
        aliases=("jsonl", "csv", "parquet"),
    ),
)

FORMATS: dict[str, Format] = {f.name: f for f in REGISTRY}
ALIASES: dict[str, str] = {a: f.name for f in REGISTRY for a in f.aliases}
CONTAINERS: dict[str, Format] = {f.container[0]: f for f in REGISTRY if f.container}


def resolve(name: str) -> str:
    """A format name or alias, as its canonical name (unknown names come back as given)."""
    name = name.strip().lower()
    return ALIASES.get(name, name)
