"""The demo workspace: every real dataset shipped in data/demo, imported in one go."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from . import store
from .errors import UserError

# (directory under data/demo, format) in import order. LLMBar comes first: judge and model names that differ
# only in case or separators are one identity, spelt as first stored (analysis/identities.py), so the
# demo's GPT-4 and ChatGPT keep LLMBar's spelling and arena-bench's and Prometheus' "gpt-4" join them.
DEMO_SOURCES = [
    ("llmbar", "llmbar"),
    ("arena_bench_v1", "fastchat"),
    ("prometheus", "prometheus"),
    ("pandalm", "pandalm"),
]


# the issue sets the demo discovers (name, filter): one per dataset with critiques, their vectors shipped
DEMO_ISSUE_SETS = [
    ("arena-bench v1: GPT-4 grading 15 models", "dataset=arena_bench_v1"),
    ("LLMBar: GPT-4's Swap_CoT rationales", "dataset=llmbar&judge=GPT-4&template=Swap_CoT"),
    ("PandaLM: reasons of two judges", "dataset=pandalm"),
    ("Prometheus: rubric feedback", "dataset=prometheus"),
]
DEMO_ISSUES_FILTER = DEMO_ISSUE_SETS[0][1]
CACHE = Path("embeddings") / "minilm.parquet"


def default_data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "demo"


def build_demo(
    path: str | Path = "demo.duckdb",
    data_dir: Path | None = None,
    rebuild: bool = False,
    echo: Callable[[str], None] | None = None,
    issues: bool = True,
):
    """Import data/demo into `path` (existing imports are skipped unless rebuild) and, unless issues=False,
    discover issues in the four demo selections (DEMO_ISSUE_SETS) in parallel. Returns the Workspace."""
    from .workspace import Workspace

    data_dir = Path(data_dir or default_data_dir())
    if not data_dir.is_dir():
        raise UserError(f"demo data directory {data_dir} not found")
    path = Path(path)
    if rebuild:
        store.remove(path)
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
    if issues and ws.issues.sets().height == 0:
        from .filters import Filter
        from .issues.discover import discover_many
        from .issues.pipeline import Pipeline

        t = time.perf_counter()
        # stored last to first, so the first (arena-bench) is the newest: the set pages open by default
        runs = [(name, Filter.parse(query)[0], Pipeline.make(seed=0)) for name, query in reversed(DEMO_ISSUE_SETS)]
        ids = discover_many(path, runs)
        if echo:
            for (name, _, _), set_id in zip(runs, ids):
                echo(f"issues, {name}: {ws.issues.get(set_id)!r}")
            echo(f"issue discovery, {len(runs)} sets in parallel: {time.perf_counter() - t:.1f} s")
    if echo:
        echo(f"demo workspace {path} ready in {time.perf_counter() - start:.1f} s: {ws!r}")
    return ws


def load_embedding_cache(ws, path: Path) -> int:
    """Load a shipped int8 embedding cache (scripts/build_demo_cache.py) into the workspace's cache."""
    import numpy as np
    import polars as pl

    if not path.exists():
        return 0
    import pyarrow as pa

    from .issues.embed import store_vectors

    frame = pl.read_parquet(path)
    dim = frame["q"].list.len()[0] if frame.height else 0
    q = frame["q"].explode().to_numpy().astype(np.float32).reshape(frame.height, dim)
    q *= frame["scale"].to_numpy()[:, None]
    q /= np.linalg.norm(q, axis=1, keepdims=True).clip(1e-12)
    vectors = pa.table(
        {
            "text_hash": frame["text_hash"].to_arrow(),
            "model": frame["model"].to_arrow(),
            "vector": pa.ListArray.from_arrays(
                pa.array(np.arange(frame.height + 1) * dim, pa.int32()), pa.array(q.ravel())
            ),
        }
    )
    with ws.q.transaction() as cur:
        store_vectors(cur, vectors)
    return frame.height
