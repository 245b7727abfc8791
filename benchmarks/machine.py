"""A description of the machine, stored with every benchmark result; and where a result is written."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def add_output_args(parser, name: str, smoke: str) -> None:
    """Every benchmark's -o/--output (default benchmarks/results/<name>.json) and --smoke (`smoke` says what a
    smoke run does instead); `output_path` turns them into the file to write."""
    parser.add_argument("-o", "--output", default=None, help=f"default: benchmarks/results/{name}.json")
    parser.add_argument("--smoke", action="store_true", help=f"{smoke}: does it run")


def output_path(name: str, output: str | None, smoke: bool) -> Path:
    """The file a benchmark writes: `output` (-o) or benchmarks/results/<name>.json. A smoke run (--smoke) never
    writes into benchmarks/results/: without -o it writes a temporary file."""
    if not smoke:
        return Path(output) if output else RESULTS / f"{name}.json"
    if not output:
        return Path(tempfile.mkdtemp(prefix=f"bench-{name}-smoke-")) / f"{name}.json"
    if Path(output).resolve().parent == RESULTS:
        raise SystemExit(f"--smoke does not write into {RESULTS}: give -o another place")
    return Path(output)


def describe() -> dict:
    mem_gb = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import duckdb
    import polars

    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb, "os": platform.platform(),
        "python": sys.version.split()[0], "duckdb": duckdb.__version__, "polars": polars.__version__,
        "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=RESULTS.parent).stdout.strip(),   # this checkout's, wherever it is run from
    }
