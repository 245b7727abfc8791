"""Debian's chromium for the browser tests: where it is, the flags it runs with, and the module-level check (CI
installs it; elsewhere a module without it is skipped, saying how to install it)."""

from __future__ import annotations

import os
import shutil
import time

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def require() -> None:
    """Call at a browser test module's top: fail in CI without chromium, else skip the module."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed; .ci/run installs Debian's chromium package")
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); CI installs it",
                allow_module_level=True)


def launched():
    """A headless chromium for a module's tests (a generator for a fixture: yields the browser, closes it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


# what a page shows once its queries are done (or the error it met instead)
CONTENT = ('.js-plotly-plot, [data-testid="stDataFrame"], [data-testid="stMetric"], [data-testid="stTable"], '
           '[data-testid="stAlertContentInfo"], [data-testid="stDownloadButton"], [data-testid="stButton"]')
FAILED = '[data-testid="stException"], [data-testid="stAlertContentError"]'
RUNNING = '[data-testid="stStatusWidget"]'


def idle(page, timeout_ms: int = 180_000, before_ms: int = 300, after_ms: int = 0) -> None:
    """Until Streamlit's script run is over (its running indicator hidden), with pauses before (a run may not
    have shown its indicator yet) and after (the page draws what the run sent)."""
    page.wait_for_timeout(before_ms)
    page.locator(RUNNING).wait_for(state="hidden", timeout=timeout_ms)
    if after_ms:
        page.wait_for_timeout(after_ms)


def settled(page, timeout_ms: int = 180_000) -> None:
    """Until the page has a heading and Streamlit's run is over."""
    page.locator('[data-testid="stHeading"]').first.wait_for(timeout=timeout_ms)
    idle(page, timeout_ms, after_ms=500)


def rendered(page, timeout_ms: int = 180_000) -> None:
    """settled, and the page's content (or its exception) drawn."""
    settled(page, timeout_ms)
    page.locator(f"{CONTENT}, {FAILED}").first.wait_for(timeout=timeout_ms)
    settled(page, timeout_ms)


def _runs(page) -> dict:
    """When the page's Streamlit script runs started and finished, read from the messages its server sends over
    the websocket (a run starts with `new_session` and ends with `script_finished`): the status widget alone shows
    only after a delay, so a page drawn in part, its run still going, could look done."""
    runs = getattr(page, "_judgescope_runs", None)
    if runs is None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        runs = {"started": [], "finished": []}

        def frame(payload) -> None:
            if not isinstance(payload, (bytes, bytearray)):
                return
            try:
                kind = ForwardMsg.FromString(bytes(payload)).WhichOneof("type")
            except Exception:  # noqa: BLE001 - not a message of Streamlit's
                return
            if kind == "new_session":
                runs["started"].append(time.perf_counter())
            elif kind == "script_finished":
                runs["finished"].append(time.perf_counter())

        page.on("websocket", lambda ws: ws.on("framereceived", frame))
        page._judgescope_runs = runs
    return runs


def time_to_render(page, url: str, timeout_s: float = 300, stable_s: float = 0.25) -> float:
    """Seconds from asking for `url` until the page is drawn: a script run has finished since (and none started
    after it), a heading and content are there and no run is shown going, and that state lasts `stable_s` (not
    counted). For benchmarks: it polls, with no fixed pauses."""
    runs = _runs(page)
    start = time.perf_counter()
    page.goto(url)
    deadline = start + timeout_s
    since = None
    while time.perf_counter() < deadline:
        finished = [t for t in runs["finished"] if t >= start]
        started = [t for t in runs["started"] if t >= start]
        done = (finished and (not started or max(finished) >= max(started))
                and page.locator('[data-testid="stHeading"]').count() and page.locator(f"{CONTENT}, {FAILED}").count()
                and not page.locator(RUNNING).is_visible())
        now = time.perf_counter()
        if done:
            since = since or now
            if now - since >= stable_s:
                return since - start
        else:
            since = None
        page.wait_for_timeout(50)
    raise TimeoutError(f"{url} was not drawn within {timeout_s:.0f} s")
