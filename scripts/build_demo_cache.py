"""Build data/demo/embeddings/minilm.parquet: the embedding cache for the demo's issue sets (one per dataset,
analysis/demo.py DEMO_ISSUE_SETS) and the issue lexicon, so that `judgescope demo` shows issues without
embedding ~45,000 critique sentences (several minutes) on every build.

Vectors are stored as int8 with one scale per vector (cosine similarity changes by < 0.01). Run from the
project root after changing the segmentation, masking or the lexicon:

    python scripts/build_demo_cache.py [--from other.duckdb]   # --from: reuse vectors already computed there

The shipped cache's own vectors are reused, so only texts it does not hold are embedded (about a minute).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from analysis import Workspace
from analysis.demo import CACHE, DEMO_ISSUE_SETS, DEMO_SOURCES, default_data_dir, load_embedding_cache
from analysis.issues.embed import ACCURATE_MODEL

OUT = default_data_dir() / CACHE


def main() -> None:
    ws = Workspace(Path(tempfile.mkdtemp()) / "cache.duckdb")
    for name, fmt in DEMO_SOURCES:
        ws.ingest(default_data_dir() / name, format=fmt)
    # the shipped cache's vectors are reused: only texts it does not hold are embedded
    load_embedding_cache(ws, OUT)
    if "--from" in sys.argv:
        other = sys.argv[sys.argv.index("--from") + 1]
        ws.con.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
        ws.con.execute("INSERT INTO embeddings SELECT * FROM other.embeddings")
        ws.con.execute("DETACH other")
    used = set()
    for name, query in DEMO_ISSUE_SETS:
        # the cache holds the transformer's vectors (the default embedder, minilm-static, is computed afresh on every
        # run and stores none): the demo's sets with the accurate model are what it serves
        iset = ws.issues.discover(query, seed=0, name=name, embedding_model=ACCURATE_MODEL)
        print(f"{name}: {iset!r}")
    # keep only what the demo's runs read: their segments' vectors and the lexicon's
    from analysis.issues.embed import text_hash
    from analysis.issues.lexicon import load

    used |= {text_hash(t) for (t,) in ws.con.execute("SELECT DISTINCT masked FROM segments WHERE used").fetchall()}
    lex = load()
    used |= {text_hash(t) for e in lex.entries for t in e.texts()}
    used |= {text_hash(t) for t in lex.categories.values()}
    frame = ws.q.frame("SELECT text_hash, model, vector FROM embeddings ORDER BY text_hash")
    frame = frame.filter(pl.col("text_hash").is_in(list(used)))
    dim = frame["vector"].list.len()[0]
    vectors = frame["vector"].explode().to_numpy().astype(np.float32).reshape(frame.height, dim)
    scale = np.abs(vectors).max(axis=1, keepdims=True) / 127.0
    q = np.round(vectors / scale).astype(np.int8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"text_hash": frame["text_hash"], "model": frame["model"],
                  "scale": scale[:, 0].astype(np.float32),
                  "q": pl.Series(q.tolist(), dtype=pl.List(pl.Int8))}
                 ).write_parquet(OUT, compression="zstd", compression_level=19)
    print(f"wrote {len(q):,} vectors to {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
