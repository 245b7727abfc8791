"""Issue discovery on real critiques: quality (the issue's bar) and speed.

- arena-bench v1, all 4,500 GPT-4 critiques: top-15 issues with keywords, distinct items and the largest
  single-item share, prevalence for the weakest and strongest model, coverage; seed 0 versus seed 1
  (mean best-match Jaccard of the top-10 issues' instance sets).
- Prometheus feedback, PandaLM reasons, LLMBar GPT-4 Swap_CoT rationales: issue count and coverage.
- Embedding throughput through the cache versus a bare SentenceTransformer.encode on the same texts,
  and the warm-cache rerun time.

    python benchmarks/issues.py   -> benchmarks/results/issues.json
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from machine import describe  # noqa: E402

from analysis import Workspace  # noqa: E402
from analysis.issues.embed import _load, embed  # noqa: E402

DEMO = ROOT / "data" / "demo"


def jaccard_best_match(a, b, top: int = 10) -> float:
    sets_a = a.assignments().group_by("issue_id").agg(pl.col("judgment_id")).to_dicts()
    sets_b = b.assignments().group_by("issue_id").agg(pl.col("judgment_id")).to_dicts()
    order = a.table()["issue_id"].head(top).to_list()
    ga = {r["issue_id"]: set(r["judgment_id"]) for r in sets_a}
    gb = [set(r["judgment_id"]) for r in sets_b]
    scores = []
    for i in order:
        s = ga[i]
        scores.append(max(len(s & t) / len(s | t) for t in gb))
    return float(np.mean(scores))


def issue_rows(iset, weak: str | None = None, strong: str | None = None, top: int = 15) -> list[dict]:
    table = iset.table().head(top)
    prev = iset.prevalence("model") if weak else None
    rows = []
    for r in table.iter_rows(named=True):
        row = {"issue_id": r["issue_id"], "title": r["title"], "keywords": r["keywords"][:6],
               "n_instances": r["n_instances"], "n_items": r["n_items"],
               "max_item_share": round(r["max_item_share"] or 0, 3), "severity": round(r["severity"] or 0, 3)}
        if prev is not None:
            for m in (weak, strong):
                hit = prev.filter((pl.col("issue_id") == r["issue_id"]) & (pl.col("model") == m))
                row[f"prevalence_{m}"] = round(hit["share"][0], 3) if hit.height else 0.0
        rows.append(row)
    return rows


def embedding_throughput(ws, rounds: int = 3) -> dict:
    """Our cached path (cold for these texts) against a bare SentenceTransformer.encode on the same texts, in the
    same process, alternating bare and ours for `rounds` rounds (each round on texts neither has seen), medians."""
    base = [r[0] for r in ws.con.execute(
        "SELECT DISTINCT masked FROM segments WHERE used ORDER BY masked LIMIT 3000").fetchall()]
    st = _load("all-MiniLM-L6-v2")
    st.encode(base[:64], batch_size=64, normalize_embeddings=True, show_progress_bar=False)  # warm up
    bare, ours, cached = [], [], []
    for k in range(rounds):
        texts = [f"{t} (round {k})" for t in base]
        t = time.perf_counter()
        st.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        bare.append(time.perf_counter() - t)
        texts = [f"{t} (round {k}, ours)" for t in base]
        t = time.perf_counter()
        embed(ws.con, texts)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        embed(ws.con, texts)
        cached.append(time.perf_counter() - t)
    b, o, c = (float(np.median(x)) for x in (bare, ours, cached))
    return {"texts": len(base), "rounds": rounds, "bare_encode_per_s": round(len(base) / b, 1),
            "judgescope_per_s": round(len(base) / o, 1), "throughput_ratio": round(b / o, 3),
            "cached_seconds": round(c, 2), "cached_over_cold": round(c / o, 3),
            "seconds": {"bare": [round(x, 2) for x in bare], "judgescope": [round(x, 2) for x in ours]}}


def main() -> None:
    if "--embedding-only" in sys.argv:   # rerun just the throughput part into the existing results
        tmp = Path(tempfile.mkdtemp())
        ws = Workspace(tmp / "issues.duckdb")
        ws.ingest(DEMO / "arena_bench_v1")
        from analysis.demo import load_embedding_cache

        load_embedding_cache(ws, DEMO / "embeddings" / "arena_minilm.parquet")
        ws.discover_issues("dataset=arena_bench_v1", seed=0)
        out = HERE / "results" / "issues.json"
        report = json.loads(out.read_text())
        report["embedding"] = embedding_throughput(ws)
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(json.dumps(report["embedding"], indent=2))
        return

    tmp = Path(tempfile.mkdtemp())
    ws = Workspace(tmp / "issues.duckdb")
    for name in ("arena_bench_v1", "prometheus", "pandalm", "llmbar"):
        ws.ingest(DEMO / name)
    report: dict = {"benchmark": "issues", "machine": describe()}

    t = time.perf_counter()
    s0 = ws.discover_issues("dataset=arena_bench_v1", seed=0)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    s0b = ws.discover_issues("dataset=arena_bench_v1", seed=0)
    warm = time.perf_counter() - t
    s1 = ws.discover_issues("dataset=arena_bench_v1", seed=1)
    weak, strong = "llama-13b", "gpt-4-1106-preview"
    top = issue_rows(s0, weak, strong)
    n_issue = {m: ws.count(f"issue_set={s0.id}&model={m}&" + "&".join(f"issue={i}" for i in s0.table()["issue_id"]))
               for m in (weak, strong)}
    same = s0.assignments().select("judgment_id", "issue_id").sort(pl.all()).equals(
        s0b.assignments().select("judgment_id", "issue_id").sort(pl.all()))
    report["arena"] = {
        "stats": {k: s0.stats[k] for k in ("n_judgments", "n_segments", "kinds", "n_used", "n_assigned",
                                            "n_reassigned", "coverage", "timings", "embedding")},
        "n_issues": s0.table().height,
        "top15": top,
        "top15_meeting_bar": sum(1 for r in top if r["n_items"] >= 20 and r["max_item_share"] <= 0.2),
        "instances_with_an_issue": {m: n / 300 for m, n in n_issue.items()},
        "same_seed_identical": same,
        "seed0_vs_seed1_top10_best_match_jaccard": round(jaccard_best_match(s0, s1), 3),
        "cold_seconds": round(cold, 1), "warm_seconds": round(warm, 1),
        "warm_over_cold": round(warm / cold, 3),
    }
    others = {}
    for label, q in (("prometheus", "dataset=prometheus"), ("pandalm", "dataset=pandalm"),
                     ("llmbar GPT-4 Swap_CoT", "dataset=llmbar&judge=GPT-4&template=Swap_CoT")):
        s = ws.discover_issues(q)
        tab = s.table()
        others[label] = {"judgments": s.stats["n_judgments"], "problem_segments": s.stats["n_used"],
                         "issues": tab.height, "coverage": round(s.stats["coverage"], 3),
                         "top3": tab["title"].head(3).to_list()}
    report["other_datasets"] = others

    report["embedding"] = embedding_throughput(ws)
    out = HERE / "results" / "issues.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
