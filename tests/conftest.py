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
