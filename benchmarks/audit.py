"""Audit speed: the full reliability audit over 1,000,000 synthetic judgments with swaps, human labels
and rubric criteria, in a fresh process, bootstrap included.

Synthetic because no public set is this large; the data has known biases planted (a position-biased
judge, a length-loving judge) so the benchmark also prints what the audit found.

    python benchmarks/audit.py [--items 50000] [-o FILE]   -> benchmarks/results/audit.json

`--smoke`: the same run on 300 items in a temporary folder (a check that it runs, not a measure), written to -o
or a temporary file, never to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import add_output_args, describe, output_path  # noqa: E402

JUDGES = {"fair-judge": (0.5, 0.0), "first-slot-judge": (0.85, 0.0), "length-judge": (0.5, 0.6), "noisy-judge": (0.5, 0.0)}


def make(items: int, work: Path, seed: int = 0) -> tuple[Path, Path, int]:
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=(items, 2))
    length = rng.integers(50, 3000, size=(items, 2))
    pair_rows = []
    item_ids = np.array([f"q{i}" for i in range(items)])
    resp_a = np.array([f"answer A to q{i} " for i in range(items)])
    resp_b = np.array([f"answer B to q{i} " for i in range(items)])
    text_a = [r + "x" * int(n) for r, n in zip(resp_a, length[:, 0])]
    text_b = [r + "y" * int(n) for r, n in zip(resp_b, length[:, 1])]
    better_a = quality[:, 0] > quality[:, 1]
    labelled = rng.random(items) < 0.2
    for judge, (p_first, length_pull) in JUDGES.items():
        for shown in ("a", "b"):
            noise = rng.normal(scale=1.5 if judge == "noisy-judge" else 0.7, size=items)
            margin = quality[:, 0] - quality[:, 1] + noise + length_pull * np.sign(length[:, 0] - length[:, 1])
            pick_a = margin > 0
            biased = rng.random(items) < 2 * abs(p_first - 0.5)
            pick_a = np.where(biased, shown == "a", pick_a)
            pair_rows.append(pl.DataFrame({
                "item_id": item_ids, "prompt": [f"prompt {i}" for i in range(items)],
                "model_a": "model-x", "model_b": "model-y", "response_a": text_a, "response_b": text_b,
                "judge": judge, "verdict": np.where(pick_a, "a", "b"), "shown_first": shown,
                "critique": "short critique", "human_verdict": pl.Series(np.where(better_a, "a", "b")).zip_with(
                    pl.Series(labelled), pl.Series([None] * items, dtype=pl.String)),
            }))
    pairs = pl.concat(pair_rows)
    point_items = items * 2
    true = rng.integers(1, 11, size=point_items).astype(float)
    point_rows = []
    for judge in ("fair-judge", "length-judge"):
        lens = rng.integers(50, 3000, size=point_items)
        score = np.clip(np.round(true + rng.normal(scale=1.2, size=point_items)
                                 + (lens / 1000 if judge == "length-judge" else 0)), 1, 10)
        point_rows.append(pl.DataFrame({
            "item_id": [f"p{i // 4}" for i in range(point_items)], "prompt": "p",
            "model": [f"model-{i % 4}" for i in range(point_items)],
            "response": [f"resp {i} " + "z" * int(n) for i, n in enumerate(lens)], "judge": judge,
            "score": score, "helpfulness": np.clip(score + rng.integers(-1, 2, point_items), 1, 10),
            "accuracy": np.clip(true + rng.integers(-2, 3, point_items), 1, 10),
            "human_score": np.where(rng.random(point_items) < 0.2, true, np.nan),
        }).with_columns(pl.col("human_score").fill_nan(None)))
    points = pl.concat(point_rows)
    p1, p2 = work / "pairs.parquet", work / "points.parquet"
    pairs.write_parquet(p1)
    points.write_parquet(p2)
    return p1, p2, pairs.height + points.height * 3


CHILD = """
import sys, time, json, resource
t = time.perf_counter()
from analysis import Workspace
ws = Workspace(sys.argv[1], read_only=True)
t_open = time.perf_counter()
audit = ws.audit()
t_audit = time.perf_counter()
fig = ws.audit.bias_heatmap(audit=audit)
t_fig = time.perf_counter()
import polars as pl
found = {f"{r['judge']} {r['metric']}": round(r['value'], 3) for r in audit.filter(
    pl.col("metric").is_in(["swap_consistency", "p_first_shown_wins", "p_longer_wins", "length_score_spearman",
                            "agreement_human_majority", "leniency"]) & pl.col("value").is_not_null()).to_dicts()}
print(json.dumps({"audit_seconds": t_audit - t_open, "heatmap_seconds": t_fig - t_audit, "metric_rows": audit.height,
                  "computed": audit.filter(pl.col("value").is_not_null()).height, "found": found,
                  "judgments": ws.count(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--work", default=str(HERE / "work"))
    add_output_args(parser, "audit", "300 items in a temporary folder")
    args = parser.parse_args()
    out = output_path("audit", args.output, args.smoke)
    if args.smoke:
        args.items, args.work = 300, tempfile.mkdtemp(prefix="bench-audit-")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    db = work / "audit.duckdb"
    kept = Path(str(db) + ".cache")  # audits kept beside the workspace (analysis/reliability/saved.py)
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(kept, ignore_errors=True)
    p1, p2, expected = make(args.items, work)
    t = time.perf_counter()
    from analysis import Workspace

    ws = Workspace(db)
    ws.ingest(p1)
    ws.ingest(p2, mapping={"scale": "1-10", "criteria": ["helpfulness", "accuracy"]})
    ingest_s = time.perf_counter() - t
    n = ws.count()
    ws.close()
    child = subprocess.run([sys.executable, "-c", CHILD, str(db)], capture_output=True, text=True, check=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    # a later process (the dashboard, the CLI) reads the audit the first one kept
    again = subprocess.run([sys.executable, "-c", CHILD, str(db)], capture_output=True, text=True, check=True)
    result["kept_audit_seconds"] = json.loads(again.stdout.strip().splitlines()[-1])["audit_seconds"]
    report = {"benchmark": "audit", "items": args.items, "judgments": n, "ingest_seconds": round(ingest_s, 1),
              **result, "target_seconds": 30, "machine": describe(), **({"smoke": True} if args.smoke else {}),
              "planted": {"first-slot-judge": "picks the first slot 70% of the time regardless of quality",
                          "length-judge": "prefers the longer response / scores rise with length"}}
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    for p in (p1, p2, db):
        p.unlink(missing_ok=True)
    shutil.rmtree(kept, ignore_errors=True)
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
        print("->", out)


if __name__ == "__main__":
    main()
