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


def default_data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "demo"


def build_demo(path: str | Path = "demo.duckdb", data_dir: Path | None = None, rebuild: bool = False,
               echo: Callable[[str], None] | None = None):
    """Import data/demo into `path` (existing imports are skipped unless rebuild). Returns the Workspace."""
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
    if echo:
        echo(f"demo workspace {path} ready in {time.perf_counter() - start:.1f} s: {ws!r}")
    return ws
