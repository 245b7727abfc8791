"""judgescope's issue discovery side by side with BERTopic on the same segments and the same vectors.

Segments: the problem segments judgescope keeps from the 4,500 arena-bench GPT-4 critiques (task words
masked). Vectors: their all-MiniLM-L6-v2 embeddings from the shipped cache ("raw"), and the same vectors
after judgescope's item contrast ("contrast"), so one can see how much comes from the vectors and how much
from the clustering. BERTopic runs with its defaults (`BERTopic()`, version in the result) in its own
environment (benchmarks/bertopic_env.sh; BERTopic is never a judgescope dependency).

Reported per method: wall time of the comparable stages (each method's second run in its process: the first
pays numba's compile) (reduce, cluster, label: what BERTopic's
fit_transform does given vectors), number of topics, noise share, how task-bound topics are (distinct items
per topic, the share of a topic's segments from its largest item), the issue's bar for the 15 largest topics
(at least 20 items, no item above 20% of the topic's instances), coherence (mean cosine of a topic's
segments to its centroid, raw vectors), and the adjusted Rand index between the two.

    python benchmarks/bertopic_compare.py [-o FILE]   -> benchmarks/results/bertopic.json

`--smoke`: judgescope's side only (BERTopic's environment is not set up), on the critiques of arena's weak and
strong model (600): discovery twice, the segments and their vectors as BERTopic would get them, the stage timings
the comparison reads; written to -o or a temporary file (never benchmarks/results/).
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
from sklearn.metrics import adjusted_rand_score

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from machine import add_output_args, describe, output_path  # noqa: E402

from analysis import Workspace  # noqa: E402
from analysis.demo import load_embedding_cache  # noqa: E402
from analysis.issues.embed import ACCURATE_MODEL, embed  # noqa: E402
from analysis.issues.pipeline import _Timer, Contrast  # noqa: E402

DEMO = ROOT / "data" / "demo"
FILTER = "dataset=arena_bench_v1"
SMOKE_FILTER = FILTER + "&model=llama-13b&model=gpt-4-1106-preview"
# the pipeline's stages (pipeline._Timer.STEPS) that BERTopic's fit_transform also does given vectors: the item
# contrast and the reduction ("reduce"), clustering with naming and merging ("cluster"), describing ("label")
COMPARABLE = ("reduce", "cluster", "label")
BERTOPIC_DEFAULTS = ("BERTopic() with precomputed embeddings: UMAP(n_neighbors=15, n_components=5, min_dist=0.0, "
                     "metric='cosine', no random_state), HDBSCAN(min_cluster_size=10, metric='euclidean', "
                     "cluster_selection_method='eom', prediction_data=True), CountVectorizer(), c-TF-IDF, "
                     "no topic reduction, no outlier reduction")


def describe_labels(frame: pl.DataFrame, column: str, vectors: np.ndarray) -> dict:
    """Topic statistics for one labelling (-1 = noise)."""
    lab = frame[column].to_numpy()
    assigned = frame.filter(pl.col(column) != -1)
    per = assigned.group_by(column).agg(
        n=pl.len(), items=pl.col("item_id").n_unique(),
        top_item_share=pl.col("item_id").value_counts(sort=True).first().struct.field("count") / pl.len(),
        instances=pl.col("judgment_id").n_unique())
    inst = (assigned.unique([column, "judgment_id"]).group_by(column, "item_id").agg(k=pl.len())
            .group_by(column).agg(max_item_instances=pl.col("k").max(), instances=pl.col("k").sum()))
    top = (per.sort("n", descending=True).head(15).join(inst.drop("instances"), on=column)
           .with_columns(max_item_share=pl.col("max_item_instances") / pl.col("instances")))
    coherence = []
    for k in per[column].to_list():
        v = vectors[lab == k]
        c = v.mean(axis=0)
        c /= max(np.linalg.norm(c), 1e-12)
        coherence.append(float((v @ c).mean()))
    return {
        "topics": per.height,
        "noise_share": round(float((lab == -1).mean()), 3),
        "median_items_per_topic": float(per["items"].median()),
        "mean_top_item_share_of_segments": round(float(per["top_item_share"].mean()), 3),
        "top15_meeting_bar": int(((top["items"] >= 20) & (top["max_item_share"] <= 0.2)).sum()),
        "top15_min_items": int(top["items"].min()), "top15_max_item_share": round(float(top["max_item_share"].max()), 3),
        "mean_coherence": round(float(np.mean(coherence)), 3),
    }


def _comparable(t: dict) -> float:
    """Seconds of the COMPARABLE stages of one run's timings (iset.stats["timings"]). A stage the pipeline no
    longer times under that name stops the benchmark (summing what is there would compare less than BERTopic does)."""
    missing = [k for k in COMPARABLE if k not in t]
    if missing:
        raise SystemExit(f"bertopic_compare: the pipeline's stage timings {sorted(t)} have no {missing}; "
                         f"its steps are {_Timer.STEPS}: update COMPARABLE")
    return sum(t[k] for k in COMPARABLE)


def main() -> None:
    parser = argparse.ArgumentParser()
    add_output_args(parser, "bertopic", "judgescope's side only, 600 critiques")
    args = parser.parse_args()
    out = output_path("bertopic", args.output, args.smoke)
    flt = SMOKE_FILTER if args.smoke else FILTER
    python = version = None
    if not args.smoke:
        python = subprocess.run([str(HERE / "bertopic_env.sh")], check=True, capture_output=True, text=True).stdout.split()[-1]
        version = subprocess.run([python, "-c", "import bertopic; print(bertopic.__version__)"], check=True,
                                 capture_output=True, text=True).stdout.strip()
    tmp = Path(tempfile.mkdtemp())
    ws = Workspace(tmp / "cmp.duckdb")
    ws.ingest(DEMO / "arena_bench_v1")
    load_embedding_cache(ws, DEMO / "embeddings" / "minilm.parquet")
    t = time.perf_counter()
    first = ws.issues.discover(flt, seed=0, embedding_model=ACCURATE_MODEL)   # pays numba's compile, as BERTopic's first fit does
    ours_first = time.perf_counter() - t
    t = time.perf_counter()
    iset = ws.issues.discover(flt, seed=0, embedding_model=ACCURATE_MODEL)
    ours_wall = time.perf_counter() - t
    first_t = first.stats["timings"]
    seg = ws.con.sql("""SELECT s.segment_id, s.judgment_id, j.item_id, s.masked AS doc, coalesce(try_cast(si.issue_id AS INTEGER), -1) AS ours
                        FROM segments s JOIN judgments j USING (judgment_id)
                        LEFT JOIN segment_issues si ON si.issue_set_id = s.issue_set_id AND si.segment_id = s.segment_id
                        WHERE s.issue_set_id = ? AND s.used ORDER BY s.judgment_id, s.ord""", params=[iset.id]).pl()
    raw, stats = embed(ws.con, seg["doc"].to_list(), ACCURATE_MODEL)
    assert stats.n_embedded == 0, "the shipped cache should hold every vector"
    contrast = Contrast(**iset.params["contrast"]).run(raw, seg["item_id"].to_list())
    seg.with_columns(raw=pl.Series(raw.tolist(), dtype=pl.List(pl.Float32)),
                     contrast=pl.Series(contrast.tolist(), dtype=pl.List(pl.Float32))).write_parquet(tmp / "segments.parquet")
    frame = seg.select("segment_id", "judgment_id", "item_id", "ours")
    if not args.smoke:
        run = subprocess.run([python, str(HERE / "bertopic_side.py"), str(tmp / "segments.parquet"), str(tmp / "topics.parquet")],
                             check=True, capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        times = json.loads(run.stdout.strip().splitlines()[-1])
        topics = pl.read_parquet(tmp / "topics.parquet")
        frame = frame.with_columns(bertopic_raw=topics["raw"], bertopic_contrast=topics["contrast"])
    t = iset.stats["timings"]
    comparable = _comparable(t)
    ours = frame["ours"].to_numpy()
    report = {
        "benchmark": "bertopic_compare", "machine": describe(), "bertopic_version": version,
        "bertopic_defaults": BERTOPIC_DEFAULTS,
        "segments": frame.height, "items": frame["item_id"].n_unique(),
        "judgescope": {**describe_labels(frame, "ours", raw), "comparable_seconds": round(comparable, 1),
                       "first_run_comparable_seconds": round(_comparable(first_t), 1),
                       "whole_discover_seconds": round(ours_wall, 1), "whole_first_discover_seconds": round(ours_first, 1),
                       "stage_seconds": t,
                       "note": "the second run in the process (the first pays numba's compile, like BERTopic's first "
                               "fit); comparable = reduce (the item contrast and the reduction) + cluster (clustering, "
                               "naming and merging) + label (describing the issues); the whole run adds segmenting, "
                               "reading stated failures, the 2-D map and storing. judgescope's reduction and "
                               "clustering are seeded; BERTopic's default UMAP has no seed and uses both cores"},
    }
    if args.smoke:
        report["smoke"] = (f"judgescope's side only, on {flt!r}: BERTopic was not run (its environment, "
                           "benchmarks/bertopic_env.sh, is not set up by a smoke run)")
    for column in () if args.smoke else ("raw", "contrast"):
        b = frame[f"bertopic_{column}"].to_numpy()
        both = (ours != -1) & (b != -1)
        report[f"bertopic_{column}_vectors"] = {
            **describe_labels(frame, f"bertopic_{column}", raw), **times[column],
            "time_ratio_bertopic_over_judgescope": round(times[column]["second_fit_seconds"] / comparable, 2),
            "ari_with_judgescope_all_segments": round(adjusted_rand_score(ours, b), 3),
            "ari_with_judgescope_where_both_assign": round(adjusted_rand_score(ours[both], b[both]), 3),
        }
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))
    ws.close()
    shutil.rmtree(tmp, ignore_errors=True)  # nothing reads the workspace afterwards
    if args.smoke:
        print("->", out)


if __name__ == "__main__":
    main()
