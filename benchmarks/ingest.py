"""Ingest speed: 1,000,000 synthetic pointwise judgments (realistic critique and response lengths)
from JSONL and from Parquet, each in a fresh process; rows per second and peak memory.

Synthetic because no public set has a million judgments; the text is built from critique-like
sentences so lengths resemble real critiques and answers (arena-bench v1: ~1,400 and ~1,600 characters).

    python benchmarks/ingest.py [--rows 1000000] [-o FILE]   -> benchmarks/results/ingest.json

`--smoke`: the same run on 300 rows (texts from a pool of 300) in a temporary folder, the demo built without its
issue discovery; a check that it runs, not a measure, written to -o or a temporary file (never benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import add_output_args, describe, output_path  # noqa: E402

SENTENCES = [
    "The assistant's answer is mostly correct but misses the edge case where the input list is empty.",
    "It does not follow the instruction to answer in fewer than 100 words.",
    "The explanation of the algorithm is clear and the code compiles.",
    "However, the final numeric answer is wrong because of an arithmetic slip in step three.",
    "The response ignores the user's constraint about not using external libraries.",
    "Compared with the reference answer, it omits the discussion of time complexity.",
    "The tone is appropriate and the structure is easy to follow.",
    "Several claims about the historical dates are factually incorrect.",
    "The answer is verbose and repeats the same point in three paragraphs.",
    "Overall the response is helpful but not fully accurate.",
]
WORDS = "model answer code list value step result function user request example table error output".split()


def make_rows(n: int, seed: int = 0, with_response: bool = True, pool: int = 20_000) -> pl.DataFrame:
    """n judgments; critiques and responses drawn from a pool of `pool` (20,000) texts each, made unique per row.
    Lengths match arena-bench v1 (critiques ~1,400 characters, answers ~1,600)."""
    rng = random.Random(seed)
    models = [f"model-{i}" for i in range(12)]
    judges = ["gpt-4o", "claude-3.5-sonnet", "llama-3-70b"]
    critique_pool = [" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(10, 22))) for _ in range(pool)]
    response_pool = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(120, 380))) for _ in range(pool)]
    picks = [rng.randrange(pool) for _ in range(n)]
    frame = pl.DataFrame({
        "question_id": [f"q{rng.randrange(max(n // 20, 1))}" for _ in range(n)],
        "prompt": [f"Question number {i % 50000}: explain the {WORDS[i % len(WORDS)]}." for i in range(n)],
        "model": [rng.choice(models) for _ in range(n)],
        "judge": [rng.choice(judges) for _ in range(n)],
        "response": [response_pool[p] + f" (answer {i})" for i, p in enumerate(picks)],
        "score": [rng.randint(1, 10) for _ in range(n)],
        "critique": [critique_pool[(p * 7) % pool] + f" Rating: [[{1 + i % 10}]]" for i, p in enumerate(picks)],
        "judgment_id": [f"j{i}" for i in range(n)],
        "category": [rng.choice(["coding", "math", "writing", "reasoning"]) for _ in range(n)],
    })
    return frame if with_response else frame.drop("response")


CHILD = """
import sys, time, json, resource
from analysis import Workspace
t = time.perf_counter()
ws = Workspace(sys.argv[1])
r = ws.ingest(sys.argv[2], mapping={"scale": "1-10"})
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "ingested": r.n_ingested, "rejected": r.n_rejected,
                  "judgments": r.n_judgments_new,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_one(source: Path, work: Path) -> dict:
    db = work / f"bench-{source.suffix[1:]}.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", CHILD, str(db), str(source)], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["rows_per_second"] = round(result["ingested"] / result["seconds"])
    result["source_mb"] = round(source.stat().st_size / 1e6, 1)
    result["workspace_mb"] = round(db.stat().st_size / 1e6, 1)
    db.unlink(missing_ok=True)
    return result


def run_profile(rows: int, work: Path, with_response: bool, pool: int = 20_000) -> dict:
    t = time.perf_counter()
    frame = make_rows(rows, with_response=with_response, pool=pool)
    gen = time.perf_counter() - t
    pq, jl = work / "judgments.parquet", work / "judgments.jsonl"
    frame.write_parquet(pq)
    frame.write_ndjson(jl)
    lengths = {"avg_critique_chars": round(frame["critique"].str.len_chars().mean())}
    if with_response:
        lengths["avg_response_chars"] = round(frame["response"].str.len_chars().mean())
    del frame
    results = {"parquet": run_one(pq, work), "jsonl": run_one(jl, work)}
    for p in (pq, jl):
        p.unlink(missing_ok=True)
    return {**lengths, "generate_seconds": round(gen, 1), "results": results,
            "jsonl_vs_parquet_time_ratio": round(results["jsonl"]["seconds"] / results["parquet"]["seconds"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", default=str(HERE / "work"))
    add_output_args(parser, "ingest", "300 rows in a temporary folder")
    args = parser.parse_args()
    out = output_path("ingest", args.output, args.smoke)
    pool = 20_000
    if args.smoke:
        args.rows, args.work, pool = 300, tempfile.mkdtemp(prefix="bench-ingest-"), 300
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    profiles = {
        "critiques_and_responses": run_profile(args.rows, work, with_response=True, pool=pool),
        "critiques_only": run_profile(args.rows, work, with_response=False, pool=pool),
    }
    demo_t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analysis.cli", "demo", "--no-serve", "--rebuild", "-w",
                    str(work / "demo.duckdb"), *(["--no-issues"] if args.smoke else [])], check=True,
                   capture_output=True)
    report = {
        "benchmark": "ingest", "rows": args.rows, "profiles": profiles,
        "demo_build_seconds": round(time.perf_counter() - demo_t, 1),
        "targets": {"parquet_seconds": 20, "jsonl_ratio_max": 3, "demo_seconds": 30},
        "machine": describe(),
        **({"smoke": "300 rows; the demo built without its issue discovery (--no-issues)"} if args.smoke else {}),
        "note": ("each ingest runs in a fresh process (imports included) into a new workspace; peak_rss_mb is that "
                 "process's maximum RSS. critiques_and_responses stores a unique ~1.6 KB answer with every judgment "
                 "(3 GB of text per million rows); critiques_only names the model but carries no answer text."),
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
        print("->", out)


if __name__ == "__main__":
    main()
