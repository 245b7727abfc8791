"""The embedders side by side, in one run: throughput on this machine, issue quality on the annotated sets
(data/eval, the measures of benchmarks/issue_quality.py), and what a user waits for with each: a cold
`judgescope issues` in a fresh process, nothing cached, at about 60,000 unique segments (and with --large, about
800,000), against bare all-MiniLM-L6-v2 encoding of the same segments.

The scale data are synthetic, built from real text (as in issues_scale.py): the 4,500 arena-bench critiques are
copied onto new items, and in copy c every sentence starts with its own opener ("Indeed, ...", "Notably, ..."),
so each copy's segments are distinct texts. Bare all-MiniLM-L6-v2 is sentence-transformers' own `encode`
(batch 64, all cores); its time for the whole set is its measured rate on a 2,000-segment sample of the same
segments times their number (encoding them all would take most of an hour at --large).

    python benchmarks/embedders.py [--large] [--skip-quality] [-o FILE]  -> benchmarks/results/embedders.json

`--smoke`: the same run on one arena model's critiques (300; throughput on 200 of their segments, the cold run on
two copies) and quality on PandaLM only, in a temporary folder; a check that it runs, not a measure, written to -o
or a temporary file (never benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
from machine import add_output_args, describe, output_path  # noqa: E402

from analysis import Workspace  # noqa: E402
from analysis.issues import embed as emb  # noqa: E402
from analysis.issues import static  # noqa: E402
from analysis.issues.segment import split  # noqa: E402

DEMO = ROOT / "data" / "demo"
OPENERS = ["", "Indeed,", "Notably,", "Clearly,", "Again,", "Here,", "Admittedly,", "Evidently,", "Importantly,",
           "Still,", "Also,", "Moreover,", "Besides,", "Further,", "Overall,", "Plainly,", "Sadly,", "Honestly,",
           "Frankly,", "Curiously,", "Oddly,", "Basically,", "Ultimately,", "Surely,", "Naturally,", "Granted,",
           "Equally,", "Likewise,", "Arguably,", "Apparently,", "Seemingly,", "Broadly,", "Notoriously,",
           "Regrettably,", "Tellingly,", "Strikingly,"]
SAMPLE = 2000
SMOKE_MODELS = ("llama-13b",)


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def arena_critiques(work: Path) -> pl.DataFrame:
    from issues_scale import arena_judgments

    ws = Workspace(work / "arena.duckdb")
    if not ws.q.scalar("SELECT count(*) FROM judgments"):
        ws.ingest(DEMO / "arena_bench_v1")
    rows = arena_judgments(ws)
    ws.close()
    return rows


def scale_file(rows: pl.DataFrame, copies: int, out: Path) -> int:
    from issues_scale import copied

    big = copied(rows, OPENERS[:copies])
    big.write_parquet(out)
    return big.height


def throughput(texts: list[str], size: int = SAMPLE) -> dict:
    """Texts per second: bare sentence-transformers, judgescope's all-MiniLM-L6-v2 path (one thread per batch of
    equal-length texts, so a text's vector never depends on its batch) and the static model."""
    sample = random.Random(0).sample(texts, min(size, len(texts)))
    st = emb._load(emb.ACCURATE_MODEL)
    st.encode(sample[:64], batch_size=64)   # warm-up
    t = time.perf_counter()
    st.encode(sample, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    bare = len(sample) / (time.perf_counter() - t)
    t = time.perf_counter()
    emb._encode_local(emb.ACCURATE_MODEL, sample)
    ours = len(sample) / (time.perf_counter() - t)
    static.encode(sample[:64])
    t = time.perf_counter()
    static.encode(texts)
    fast = len(texts) / (time.perf_counter() - t)
    return {"sample": len(sample), "texts": len(texts),
            "all-MiniLM-L6-v2 bare (sentence-transformers encode, batch 64)": round(bare, 1),
            "all-MiniLM-L6-v2 in judgescope (deterministic batching)": round(ours, 1),
            f"{static.NAME} (all texts)": round(fast, 1), "static_over_bare": round(fast / bare, 1)}


def cold_run(copies: int, rows: pl.DataFrame, bare_rate: float, work: Path) -> dict:
    """A fresh `judgescope issues` on an imported workspace with nothing cached: wall time and peak memory."""
    path = work / f"scale{copies}.duckdb"
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    n = scale_file(rows, copies, work / f"scale{copies}.parquet")
    ws = Workspace(path)
    ws.ingest(work / f"scale{copies}.parquet", dataset="scale")
    ws.close()
    log(f"{n:,} judgments imported ({copies} copies)")
    cmd = [sys.executable, "-c", "import resource, sys; from analysis.cli import main; rc = main(sys.argv[1:]); "
           "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)",
           "issues", "-w", str(path), "--filter", "dataset=scale", "--seed", "0", "--json"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(r.stderr[-3000:])
    peak = int(re.search(r"PEAK_RSS_KB (\d+)", r.stderr).group(1))
    ws = Workspace(path)
    stats = ws.issues.get().stats
    ws.close()
    unique = stats["embedding"]["n_unique"]
    bare = unique / bare_rate
    return {"judgments": n, "segments": stats.get("n_segments"), "unique_texts_embedded": unique,
            "wall_seconds": round(wall, 1), "peak_rss_gb": round(peak / 1e6, 2),
            "embedding_seconds": round(stats["embedding"]["seconds"], 1),
            "bare_minilm_seconds_estimated": round(bare, 1), "bare_minilm_over_cold_run": round(bare / wall, 1),
            "timings": stats.get("timings")}


def quality(work: Path, sets: tuple[str, ...] = ()) -> dict:
    import issue_quality as iq

    out = {}
    for name in sets or iq.SETS:
        if not list((iq.DATA / "eval" / name).glob("annotations*.jsonl")):
            continue
        out[name] = {}
        for model in (emb.ACCURATE_MODEL, static.NAME):
            r = iq.run_set(name, work, model)
            out[name][model] = {h: {k: r[h][k] for k in ("purity", "best_match_f1", "coverage")} for h in ("tune", "test")}
            log(f"{name} {model}: test purity {r['test']['purity']} F1 {r['test']['best_match_f1']}")
    gaps = [out[s][emb.ACCURATE_MODEL]["test"][k] - out[s][static.NAME]["test"][k]
            for s in out for k in ("purity", "best_match_f1")]
    return {"sets": out, "largest_loss_on_held_out_halves": round(max(gaps), 3),
            "within_0.03": max(gaps) <= 0.03 + 1e-9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--large", action="store_true", help="also the ~800,000-segment cold run")
    ap.add_argument("--skip-quality", action="store_true")
    add_output_args(ap, "embedders", "300 critiques in a temporary folder")
    args = ap.parse_args()
    out = output_path("embedders", args.output, args.smoke)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="bench-embedders-")) if args.smoke else HERE / "work" / "embedders"
    work.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    report: dict = {"benchmark": "embedders", "commit": commit, "machine": describe(),
                    "default": emb.DEFAULT_MODEL, "accurate": emb.ACCURATE_MODEL,
                    "data": __doc__.split("\n\n")[1].replace("\n", " ")}
    rows = arena_critiques(work)
    if args.smoke:
        rows = rows.filter(pl.col("model").is_in(SMOKE_MODELS))
        report["smoke"] = f"{rows.height} critiques of {list(SMOKE_MODELS)}; quality on pandalm only"
    texts = list(dict.fromkeys(s for c in rows["critique"] for s in split(c or "")))
    report["throughput"] = throughput(texts, 200 if args.smoke else SAMPLE)
    log(f"throughput: {report['throughput']}")
    bare_rate = report["throughput"]["all-MiniLM-L6-v2 bare (sentence-transformers encode, batch 64)"]
    if not args.skip_quality:
        report["quality"] = quality(work, ("pandalm",) if args.smoke else ())
    elif out.exists():   # kept from the last full run
        report["quality"] = json.loads(out.read_text()).get("quality")
    report["cold_issues"] = {"aim": "60,000 unique segments in <= 60 s; 800,000 in <= 10 min and <= 8 GB"}
    for copies in (2,) if args.smoke else (3, 36) if args.large else (3,):
        report["cold_issues"][f"copies={copies}"] = cold_run(copies, rows, bare_rate, work)
        log(f"cold run, {copies} copies: {report['cold_issues'][f'copies={copies}']}")
    out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=1, default=str)[:4000])
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
        print("->", out)


if __name__ == "__main__":
    main()
