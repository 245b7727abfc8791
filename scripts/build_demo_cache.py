"""Build data/demo/embeddings/arena_minilm.parquet: the embedding cache for the demo's issue set, so that
`judgescope demo` shows issues without embedding 13,000 critique segments (about 90 s) on every build.

Vectors are stored as int8 with one scale per vector (cosine similarity changes by < 0.01), about
5 MB. Run from the project root after changing the segmentation or masking rules:

    python scripts/build_demo_cache.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from analysis import Workspace
from analysis.demo import DEMO_ISSUES_FILTER, default_data_dir

OUT = default_data_dir() / "embeddings" / "arena_minilm.parquet"


def main() -> None:
    ws = Workspace(Path(tempfile.mkdtemp()) / "cache.duckdb")
    ws.ingest(default_data_dir() / "arena_bench_v1")
    ws.discover_issues(DEMO_ISSUES_FILTER, seed=0)
    frame = ws._sql("SELECT text_hash, model, vector FROM embeddings ORDER BY text_hash")
    vectors = np.array(frame["vector"].to_list(), dtype=np.float32)
    scale = np.abs(vectors).max(axis=1, keepdims=True) / 127.0
    q = np.round(vectors / scale).astype(np.int8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"text_hash": frame["text_hash"], "model": frame["model"],
                  "scale": scale[:, 0].astype(np.float32), "q": pl.Series(q.tolist(), dtype=pl.List(pl.Int8))}
                 ).write_parquet(OUT, compression="zstd", compression_level=19)
    print(f"wrote {len(q):,} vectors to {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
