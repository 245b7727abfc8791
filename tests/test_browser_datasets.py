"""Every page on every shipped dataset alone, in a real browser: a researcher who imports only their PandaLM (or
Prometheus, LLMBar, arena-bench) files and discovers issues gets no traceback, no error box and no empty default
on any page, and Compare opens on two different models. Real data (data/demo), a real Streamlit server per
workspace, Debian's chromium. Screenshots: test-output/datasets-<dataset>-<page>.png."""

from __future__ import annotations


import pytest

from analysis import Workspace, store
from analysis.serve import DashboardServer

from .conftest import DEMO
from . import chromium

chromium.require()

pytestmark = pytest.mark.browser
DATASETS = {  # folder in data/demo: the protocol a user meets there
    "pandalm": "pairwise, three-way labels",
    "prometheus": "pointwise with per-item rubrics and references",
    "llmbar": "pairwise, several judges and templates, gold labels",
    "arena_bench_v1": "pairwise and single-answer grading, human votes",
}
PAGES = ["", "issues", "instances", "judges", "rubrics", "compare", "export"]


@pytest.fixture(scope="module")
def browser():
    yield from chromium.launched()


@pytest.fixture(scope="module", params=list(DATASETS))
def served(request, tmp_path_factory):
    """One workspace with only this dataset, its issues discovered, served as `judgescope dashboard` serves it."""
    name = request.param
    path = tmp_path_factory.mktemp(f"alone-{name}") / f"{name}.duckdb"
    ws = Workspace(path)
    ws.ingest(DEMO / name)
    ws.issues.discover(seed=0)
    store.close(path)
    srv = DashboardServer(path, timeout_s=300)
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
