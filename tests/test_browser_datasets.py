"""Every page on every shipped dataset alone, in a real browser: a researcher who imports only their PandaLM (or
Prometheus, LLMBar, arena-bench) files and discovers issues gets no traceback, no error box and no empty default
on any page, and Compare opens on two different models. Real data (data/demo), a real Streamlit server per
workspace, Debian's chromium. Screenshots: test-output/datasets-<dataset>-<page>.png."""

from __future__ import annotations


import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis.serve import DashboardServer

from .conftest import DEMO
from . import chromium

chromium.require()

pytestmark = pytest.mark.browser
DATASETS = {  # folder in data/demo: the protocol a user meets there (the smallest first)
    "pandalm": "pairwise, three-way labels",
    "prometheus": "pointwise with per-item rubrics and references",
    "arena_bench_v1": "pairwise and single-answer grading, human votes",
    "llmbar": "pairwise, several judges and templates, gold labels",
}
PAGES = ["", "issues", "instances", "judges", "rubrics", "compare", "export"]


@pytest.fixture(scope="module")
def browser():
    yield from chromium.launched()


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    """Each dataset in a workspace of its own, imported and its issues discovered as a user does it in a shell
    (`judgescope ingest`, then `judgescope issues`): one after the other in the background, the smallest first, so
    the browser checks one dataset while the next is being built. Yields name -> Future of the workspace's path."""
    folder = tmp_path_factory.mktemp("alone")
    exe = Path(sys.executable).with_name("judgescope")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    def build(name: str) -> Path:
        path = folder / f"{name}.duckdb"
        for args in (["ingest", str(DEMO / name)], ["issues", "--seed", "0"]):
            done = subprocess.run([str(exe), *args, "-w", str(path)], capture_output=True, text=True, env=env,
                                  timeout=900)
            assert done.returncode == 0, (name, args, done.stdout[-2000:], done.stderr[-2000:])
        return path

    with ThreadPoolExecutor(1) as pool:
        yield {name: pool.submit(build, name) for name in DATASETS}


@pytest.fixture(scope="module", params=list(DATASETS))
def served(request, workspaces):
    """One workspace with only this dataset, its issues discovered, served as `judgescope dashboard` serves it."""
    name = request.param
    srv = DashboardServer(workspaces[name].result(), timeout_s=300)
    try:
        yield name, srv.url
    finally:
        srv.stop()


def test_every_page_works_on_each_dataset_alone(served, browser, output_dir):
    name, url = served
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        for view in PAGES:
            page.goto(url + view)
            chromium.rendered(page)  # its content (or its exception) drawn once its queries are done, not a guess
            shot = output_dir / f"datasets-{name}-{view or 'overview'}.png"
            page.screenshot(path=str(shot), full_page=True)
            where = f"{name} / {view or 'overview'} (screenshot {shot.name})"
            assert not page.locator('[data-testid="stException"]').count(), (
                where, page.locator('[data-testid="stException"]').first.inner_text()[:800])
            assert not page.locator('[data-testid="stAlertContentError"]').count(), (
                where, page.locator('[data-testid="stAlertContentError"]').first.inner_text()[:800])
            assert page.locator(chromium.CONTENT).count(), f"{where}: the default view shows nothing"
            assert "None" not in page.locator('[data-testid="stHeading"]').all_inner_texts(), where
            if view == "":   # the headlines use what the dataset has: judges where models are unnamed, gold labels
                body = page.inner_text("main")
                assert "No issue set covers" not in body and "What stands out" in body, where
                if name == "llmbar":
                    assert "Agreement with gold labels" in body and "of responses" in body, where
            if view == "compare":
                sides = [page.get_by_role("combobox", name=label, exact=True).first.input_value().strip()
                         for label in ("A", "B")]
                assert sides[0] and sides[1] and sides[0] != sides[1], (where, sides)
    finally:
        page.close()
