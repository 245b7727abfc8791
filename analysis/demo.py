"""The demo workspace: every real dataset shipped in data/demo, imported in one go."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from . import store
from .errors import UserError

# (directory under data/demo, format) in import order
DEMO_SOURCES = [
    ("arena_bench_v1", "fastchat"),
    ("prometheus", "prometheus"),
    ("pandalm", "pandalm"),
    ("llmbar", "llmbar"),
]


DEMO_ISSUES_FILTER = "dataset=arena_bench_v1"
CACHE = Path("embeddings") / "arena_minilm.parquet"


def default_data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "demo"


def build_demo(path: str | Path = "demo.duckdb", data_dir: Path | None = None, rebuild: bool = False,
               echo: Callable[[str], None] | None = None, issues: bool = True):
    """Import data/demo into `path` (existing imports are skipped unless rebuild) and, unless issues=False,
    discover issues in the arena-bench critiques from the shipped embedding cache. Returns the Workspace."""
    from .workspace import Workspace

    data_dir = Path(data_dir or default_data_dir())
    if not data_dir.is_dir():
        raise UserError(f"demo data directory {data_dir} not found")
    path = Path(path)
    if rebuild:
        store.close(path)
        for p in (path, Path(str(path) + ".wal")):
            p.unlink(missing_ok=True)
    ws = Workspace(path)
    start = time.perf_counter()
    for name, fmt in DEMO_SOURCES:
        src = data_dir / name
        if not src.exists():
            raise UserError(f"demo data {src} is missing")
        t = time.perf_counter()
        result = ws.ingest(src, format=fmt)
        if echo:
            echo(f"{name}: {result.summary()} [{time.perf_counter() - t:.1f} s]")
    if issues and ws.issue_sets().height == 0:
        t = time.perf_counter()
        loaded = load_embedding_cache(ws, data_dir / CACHE)
        iset = ws.discover_issues(DEMO_ISSUES_FILTER, seed=0, name="arena-bench v1 critiques")
        if echo:
            echo(f"issues: {iset!r} ({loaded:,} cached vectors, {iset.stats['embedding']['n_embedded']:,} embedded) "
                 f"[{time.perf_counter() - t:.1f} s]")
    if echo:
        echo(f"demo workspace {path} ready in {time.perf_counter() - start:.1f} s: {ws!r}")
    return ws


def load_embedding_cache(ws, path: Path) -> int:
    """Load a shipped int8 embedding cache (scripts/build_demo_cache.py) into the workspace's cache."""
    import numpy as np
    import polars as pl

    if not path.exists():
        return 0
    frame = pl.read_parquet(path)
    q = np.array(frame["q"].to_list(), dtype=np.float32) * frame["scale"].to_numpy()[:, None]
    q /= np.linalg.norm(q, axis=1, keepdims=True).clip(1e-12)
    vectors = pl.DataFrame({"text_hash": frame["text_hash"], "model": frame["model"],
                            "vector": pl.Series(q.tolist(), dtype=pl.List(pl.Float32))})
    con = ws.con
    con.register("cache_rows", vectors.to_arrow())
    try:
        con.execute("INSERT INTO embeddings SELECT text_hash, model, vector FROM cache_rows "
                    "WHERE (text_hash, model) NOT IN (SELECT text_hash, model FROM embeddings)")
    finally:
        con.unregister("cache_rows")
    return frame.height
