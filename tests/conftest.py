"""Shared fixtures. The real datasets come from data/demo (shipped with the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
OUTPUT = ROOT / "test-output"


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory) -> Path:
    """The demo workspace, built once per test session from data/demo."""
    from analysis.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path)
    return path


@pytest.fixture(scope="session")
def demo_ws(demo_path):
    from analysis import Workspace

    return Workspace(demo_path)


@pytest.fixture
def ws(tmp_path):
    from analysis import Workspace

    w = Workspace(tmp_path / "ws.duckdb")
    yield w
    w.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


def _dashboard_servers() -> set[int]:
    """PIDs of running Streamlit servers of this project's dashboard."""
    out = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "streamlit" in cmd and str(ROOT / "dashboard" / "app.py") in cmd:
            out.add(int(proc.name))
    return out


@pytest.fixture(scope="session", autouse=True)
def no_server_left_behind():
    """Every dashboard server a test starts is gone when the suite ends (waiting up to 20 s for them to exit)."""
    import time

    before = _dashboard_servers()
    yield
    deadline = time.monotonic() + 20
    while (left := _dashboard_servers() - before) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"dashboard servers left running after the tests: {sorted(left)}"
