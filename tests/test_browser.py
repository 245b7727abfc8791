"""End to end in a real browser: Debian's chromium driven by Playwright against a real Streamlit server."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from analysis.serve import DashboardServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed; .ci/run installs Debian's chromium package")
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); CI installs it",
                allow_module_level=True)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(demo_path):
    from analysis import store

    store.close(demo_path)  # the server opens the workspace read-only in its own process
    srv = DashboardServer(demo_path)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def metric(page, label: str) -> str:
    m = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    m.wait_for(timeout=60_000)
    return m.locator('[data-testid="stMetricValue"]').inner_text().strip()


def wait_idle(page):
    page.wait_for_timeout(500)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


def test_overview_filter_link_round_trip(server, browser, output_dir):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server.url)
    assert metric(page, "Judgments") == "109,062"
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
    wait_idle(page)
    page.screenshot(path=str(output_dir / "overview.png"))

    # pick a judge in the sidebar filter
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Judges").locator("input")
    box.click()
    box.fill("Falcon")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_function("() => window.location.search.includes('judge=Falcon')", timeout=30_000)
    wait_idle(page)
    filtered = metric(page, "Judgments")
    assert filtered == "14,002"
    link = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().strip()
    assert re.search(r"[?&]judge=Falcon", link) and "page=overview" in link and link.startswith("http://127.0.0.1")
    page.get_by_role("tab", name="Pairwise verdicts by judge").click()
    wait_idle(page)
    page.screenshot(path=str(output_dir / "overview-falcon.png"))

    # the copied link, opened in a fresh browser context, shows the same view
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    fresh.goto(link)
    assert metric(fresh, "Judgments") == filtered
    assert "Falcon" in fresh.locator('[data-testid="stMultiSelect"]').filter(has_text="Judges").inner_text()
    wait_idle(fresh)
    fresh.screenshot(path=str(output_dir / "overview-from-link.png"))


def test_every_page_and_the_markdown_export(server, browser, output_dir, demo_path):
    from analysis import Workspace

    iset = Workspace(demo_path, read_only=True).issue_set()
    title = iset.table()["title"][0]
    ctx = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    page = ctx.new_page()
    for name in ("issues", "instances", "judges", "rubrics", "compare"):
        page.goto(server.url + f"?page={name}&dataset=arena_bench_v1")
        page.locator('[data-testid="stHeading"]').first.wait_for(timeout=60_000)
        wait_idle(page)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(output_dir / f"page-{name}.png"))
        assert not page.locator('[data-testid="stException"]').count()
    page.goto(server.url + "?page=export&dataset=arena_bench_v1")
    page.get_by_role("button", name="Build the report").click()
    with page.expect_download(timeout=300_000) as dl:
        page.get_by_role("button", name="Download report.md").click()
    text = open(dl.value.path(), encoding="utf-8").read()
    page.screenshot(path=str(output_dir / "page-export.png"))
    assert text.startswith("# judgescope report")
    assert "## Issues" in text and "## Judge audit" in text
    from analysis.report import md

    assert md(title) in text
    assert "| GPT-4 | length_score_spearman |" in text  # arena-bench's gpt-4, one identity with LLMBar's


def test_notebook_dashboard_handle(demo_path):
    from urllib.request import urlopen

    from analysis import Workspace

    ws = Workspace(demo_path, read_only=True)
    srv = ws.dashboard()
    try:
        assert srv.url.startswith("http://127.0.0.1:")
        assert f'src="{srv.url}"' in srv._repr_html_()
        with urlopen(srv.url + "_stcore/health", timeout=10) as r:
            assert r.read() == b"ok"
        assert ws.count() == 109_062  # the notebook keeps reading while the app runs
    finally:
        srv.stop()
    assert srv.process.poll() is not None
