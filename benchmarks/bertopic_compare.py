"""judgescope's issue discovery side by side with BERTopic on the same segments and the same vectors.

Segments: the problem segments judgescope keeps from the 4,500 arena-bench GPT-4 critiques (task words
masked). Vectors: their all-MiniLM-L6-v2 embeddings from the shipped cache ("raw"), and the same vectors
after judgescope's item contrast ("contrast"), so one can see how much comes from the vectors and how much
from the clustering. BERTopic runs with its defaults (`BERTopic()`, version in the result) in its own
environment (benchmarks/bertopic_env.sh; BERTopic is never a judgescope dependency).

Reported per method: wall time of the comparable stages (each method's second run in its process: the first
pays numba's compile) (reduce, cluster, name: what BERTopic's
fit_transform does given vectors), number of topics, noise share, how task-bound topics are (distinct items
per topic, the share of a topic's segments from its largest item), the issue's bar for the 15 largest topics
(at least 20 items, no item above 20% of the topic's instances), coherence (mean cosine of a topic's
segments to its centroid, raw vectors), and the adjusted Rand index between the two.

    python benchmarks/bertopic_compare.py   -> benchmarks/results/bertopic.json
"""

from __future__ import annotations

import json
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
from machine import describe  # noqa: E402

from analysis import Workspace  # noqa: E402
from analysis.demo import load_embedding_cache  # noqa: E402
from analysis.issues.embed import ACCURATE_MODEL, embed  # noqa: E402
from analysis.issues.pipeline import Contrast  # noqa: E402

DEMO = ROOT / "data" / "demo"
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
    """The stages BERTopic also does: the item contrast and the reduction ("reduce"), clustering with naming
    ("cluster"), describing the issues ("label"); older results named them contrast/reduce/cluster/name."""
    return sum(t.get(k, 0.0) for k in ("contrast", "reduce", "cluster", "name", "label"))


def main() -> None:
    python = subprocess.run([str(HERE / "bertopic_env.sh")], check=True, capture_output=True, text=True).stdout.split()[-1]
    version = subprocess.run([python, "-c", "import bertopic; print(bertopic.__version__)"], check=True,
                             capture_output=True, text=True).stdout.strip()
    tmp = Path(tempfile.mkdtemp())
    ws = Workspace(tmp / "cmp.duckdb")
    ws.ingest(DEMO / "arena_bench_v1")
    load_embedding_cache(ws, DEMO / "embeddings" / "minilm.parquet")
    t = time.perf_counter()
    first = ws.discover_issues("dataset=arena_bench_v1", seed=0, embedding_model=ACCURATE_MODEL)   # pays numba's compile, as BERTopic's first fit does
    ours_first = time.perf_counter() - t
    t = time.perf_counter()
    iset = ws.discover_issues("dataset=arena_bench_v1", seed=0, embedding_model=ACCURATE_MODEL)
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
    run = subprocess.run([python, str(HERE / "bertopic_side.py"), str(tmp / "segments.parquet"), str(tmp / "topics.parquet")],
                         check=True, capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    times = json.loads(run.stdout.strip().splitlines()[-1])
    topics = pl.read_parquet(tmp / "topics.parquet")
    frame = seg.select("segment_id", "judgment_id", "item_id", "ours").with_columns(
        bertopic_raw=topics["raw"], bertopic_contrast=topics["contrast"])
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
                               "fit); comparable = contrast + reduce + cluster (with noise reassignment and merges) + "
                               "name; the whole run adds segmenting, the 2-D map and storing. UMAP is seeded, hence "
                               "single-threaded; BERTopic's default UMAP has no seed and uses both cores"},
    }
    for column in ("raw", "contrast"):
        b = frame[f"bertopic_{column}"].to_numpy()
        both = (ours != -1) & (b != -1)
        report[f"bertopic_{column}_vectors"] = {
            **describe_labels(frame, f"bertopic_{column}", raw), **times[column],
            "time_ratio_bertopic_over_judgescope": round(times[column]["second_fit_seconds"] / comparable, 2),
            "ari_with_judgescope_all_segments": round(adjusted_rand_score(ours, b), 3),
            "ari_with_judgescope_where_both_assign": round(adjusted_rand_score(ours[both], b[both]), 3),
        }
    out = HERE / "results" / "bertopic.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
