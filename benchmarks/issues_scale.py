"""Issue discovery at 100,000 problem segments with all-MiniLM-L6-v2, embeddings cached (the default embedder
needs no cache: benchmarks/embedders.py times it cold): wall time from cached embeddings to a
stored issue set (the issue's aim: under 5 minutes on this 2-core machine).

The data are synthetic at scale, built from real text: the 4,500 arena-bench critiques are copied onto
nine sets of new items (same prompts and answers, new ids); in copy c every critique sentence starts with
its own opener ("Indeed, ...", "Notably, ..."), so every copy's segments are distinct texts. Their vectors
are the real all-MiniLM-L6-v2 vectors of the original sentence plus small Gaussian noise (sigma 0.01 per
dimension, renormalised), written into the workspace's embedding cache. A copy keeps its item's prompt, reference
and answers, and a sentence is matched to its original as written (a copy's items have other neighbours, so the
same sentence may be masked differently there). Sentences with no clustered original (an opener can change how a
sentence is split or read: "Indeed, the answer is incorrect." is a problem where "The answer is incorrect." is a bare
verdict; `embedded_for_real` counts them) are embedded for real and cached too. The timed run then finds every
vector in the cache.

    python benchmarks/issues_scale.py [-o FILE]   -> benchmarks/results/issues_scale.json

`--smoke`: the same run from the judgments of one arena model (300) in two copies, in a temporary workspace; a
check that it runs, not a measure, written to -o or a temporary file (never benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from machine import add_output_args, describe, output_path  # noqa: E402

from analysis import Workspace  # noqa: E402
from analysis.demo import load_embedding_cache  # noqa: E402
from analysis.issues import cluster as cl  # noqa: E402
from analysis.issues import embed as emb  # noqa: E402
from analysis.issues import pipeline as pipe  # noqa: E402
from analysis.issues.mask import TaskMasker  # noqa: E402
from analysis.issues.subjects import without_slots  # noqa: E402

DEMO = ROOT / "data" / "demo"
OPENERS = ["", "Indeed,", "Notably,", "Clearly,", "Again,", "Here,", "Admittedly,", "Evidently,", "Importantly,"]
_OPEN = re.compile(r"^(?:Indeed|Notably|Clearly|Again|Here|Admittedly|Evidently|Importantly), ")
SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
SMOKE_MODELS = ("llama-13b",)


class _StopAfterEmbedding(Exception):
    pass


def copied(rows: pl.DataFrame, openers: list[str]) -> pl.DataFrame:
    """The judgments once per opener, on new items; in each copy every critique sentence starts with the copy's
    opener ("Indeed, …"), so every copy's segments are distinct texts (also used by embedders.py)."""
    frames = []
    for c, opener in enumerate(openers):
        crit = rows["critique"]
        if opener:
            crit = pl.Series([" ".join(f"{opener} {s[:1].lower()}{s[1:]}" for s in SPLIT.split(t or "")) for t in crit])
        # the answers go with their copies: a segment's mask depends on its item's words (prompt, reference and
        # answers), so a copy without them would be masked unlike its original and match no cached vector
        frames.append(rows.with_columns(item_id=pl.col("item_id") + f"-copy{c}", critique=crit))
    return pl.concat(frames)


def arena_judgments(ws: Workspace) -> pl.DataFrame:
    """arena-bench's judgments with what copies need: item, prompt, reference, model, judge, score, critique and the
    judged answer (also used by embedders.py)."""
    return ws.con.sql("SELECT j.item_id, j.prompt, j.reference, j.model, j.judge, j.score, j.critique, r.text AS response "
                      "FROM judgment_view j LEFT JOIN responses r USING (response_id) "
                      "WHERE j.dataset = 'arena_bench_v1' ORDER BY j.judgment_id").pl()


def synthetic_file(ws: Workspace, out: Path, openers: list[str] = OPENERS, models: tuple[str, ...] = ()) -> int:
    rows = arena_judgments(ws)
    if models:
        rows = rows.filter(pl.col("model").is_in(models))
    big = copied(rows, openers)
    big.write_parquet(out)
    return big.height


def prefill_cache(ws: Workspace, flt: str, sigma: float = 0.01) -> dict:
    """Run the pipeline up to its embedding stage with an encoder that derives each copy's vector from the
    original sentence's cached vector (noise added); the run stops before reducing."""
    originals = ws.con.sql("SELECT DISTINCT s.text, e.vector FROM segments s JOIN embeddings e "
                           "ON e.text_hash = md5(s.masked) AND e.model = ? WHERE s.used", params=[emb.ACCURATE_MODEL]).pl()
    # keyed by the sentence as written (its slots taken out as the masker takes them): a copy's items have other
    # neighbours, so the same sentence may be masked differently there
    lookup = {without_slots(t).lower(): np.asarray(v, dtype=np.float32) for t, v in originals.iter_rows()}
    written: dict[str, str] = {}   # masked text -> the text it was masked from, in this run
    rng = np.random.default_rng(0)
    real, real_mask = emb.encode, TaskMasker.mask
    missing = []

    def recorded(self, text: str, item: str) -> str:
        out = real_mask(self, text, item)
        written.setdefault(out, text)
        return out

    def derived(model: str, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        todo = []
        for i, t in enumerate(texts):
            base = lookup.get(_OPEN.sub("", written.get(t, t)).lower())
            if base is None:
                todo.append(i)
            else:
                v = base + rng.normal(0, sigma, 384).astype(np.float32)
                out[i] = v / np.linalg.norm(v)
        if todo:
            missing.extend(todo)
            out[todo] = real(model, [texts[i] for i in todo])
        return out

    def stop(*a, **k):
        raise _StopAfterEmbedding

    real_embed = pipe.embed

    def embed_and_store(con, texts, model, sink=None):
        # a run stores its new vectors with its issue set; this one stops before that, so they are stored here
        new: list = []
        out = real_embed(con, texts, model, new)
        with ws.q.transaction() as cur:
            for rows in new:
                emb.store_vectors(cur, rows)
        return out

    emb.encode, reduce = derived, pipe._reduce   # the step after embedding (pipeline.run)
    pipe._reduce, pipe.embed, TaskMasker.mask = stop, embed_and_store, recorded
    try:
        ws.issues.discover(flt, embedding_model=emb.ACCURATE_MODEL)
    except _StopAfterEmbedding:
        pass
    finally:
        emb.encode, pipe._reduce, pipe.embed, TaskMasker.mask = real, reduce, real_embed, real_mask
    return {"derived_vectors": "original + N(0, %.2f) per dimension, renormalised" % sigma, "embedded_for_real": len(missing)}


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def _logged(fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        out = fn(*a, **k)
        log(f"  {fn.__name__}: {time.perf_counter() - t:.1f} s")
        return out
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser()
    add_output_args(parser, "issues_scale", "300 judgments in two copies")
    args = parser.parse_args()
    out = output_path("issues_scale", args.output, args.smoke)
    tmp = Path(tempfile.mkdtemp())
    originals, openers, models = "dataset=arena_bench_v1", OPENERS, ()
    if args.smoke:   # a new workspace in the temporary folder
        ws = Workspace(tmp / "issues_scale.duckdb")
        models, openers = SMOKE_MODELS, OPENERS[:2]
        originals += "".join(f"&model={m}" for m in models)
    else:
        # kept between runs (benchmarks/work/, ignored by git): every step is idempotent, and a rerun finds the
        # vectors it derived or embedded before in the workspace's cache
        (HERE / "work").mkdir(exist_ok=True)
        ws = Workspace(HERE / "work" / "issues_scale.duckdb")
    ws.ingest(DEMO / "arena_bench_v1")
    load_embedding_cache(ws, DEMO / "embeddings" / "minilm.parquet")
    ws.issues.discover(originals, seed=0, embedding_model=emb.ACCURATE_MODEL)  # the originals' masked segments and vectors
    log("originals discovered")
    n = synthetic_file(ws, tmp / "scale.parquet", openers, models)
    ws.ingest(tmp / "scale.parquet", dataset="scale")
    log(f"{n:,} synthetic judgments imported")
    setup = prefill_cache(ws, "dataset=scale")
    log(f"cache prefilled: {setup}")
    for module, fname in ((pipe, "_reduce"), (pipe, "_cluster_groups"), (pipe, "_describe"), (pipe, "_assign"),
                          (cl, "layout")):
        setattr(module, fname, _logged(getattr(module, fname)))
    t = time.perf_counter()
    iset = ws.issues.discover("dataset=scale", seed=0, embedding_model=emb.ACCURATE_MODEL)
    wall = time.perf_counter() - t
    tab = iset.table()
    stats = iset.stats
    top = tab.head(15)
    report = {
        "benchmark": "issues_scale", "machine": describe(),
        **({"smoke": f"{n:,} judgments: models {list(models)}, {len(openers)} copies"} if args.smoke else {}),
        "data": {"judgments": n, "construction": __doc__.split("\n\n")[1].replace("\n", " "), **setup},
        "problem_segments": stats["n_used"], "unique_texts": stats["embedding"]["n_unique"],
        "embedded_in_timed_run": stats["embedding"]["n_embedded"],
        "wall_seconds": round(wall, 1), "aim_seconds": 300, "meets_aim": wall < 300,
        "timings": stats["timings"], "issues": tab.height, "coverage": round(stats["coverage"], 3),
        "top15_meeting_bar": int(((top["n_items"] >= 20) & (top["max_item_share"] <= 0.2)).sum()),
        "top5_titles": tab["title"].head(5).to_list(),
    }
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))
    ws.close()
    shutil.rmtree(tmp, ignore_errors=True)  # nothing reads the workspace afterwards
    if args.smoke:
        print("->", out)


if __name__ == "__main__":
    main()
