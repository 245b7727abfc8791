"""Issue 10 end to end: a workspace whose every name and text is hostile (tests/hostile.py), every dashboard
page in headless Chromium. Nothing from the data may become a request, a link or an image: the page makes
requests only to the dashboard's own origin, no <a> or <img> (HTML or SVG) carries a URL from the data,
and a server on the port the hostile URLs name receives nothing. Screenshots: test-output/hostile-*.png."""

from __future__ import annotations

import csv
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urljoin, urlparse

import pytest

from analysis.serve import DashboardServer

from .hostile import build_hostile
from . import chromium

chromium.require()

pytestmark = pytest.mark.browser

PAGES = ("overview", "issues", "instances", "judges", "rubrics", "compare", "export")

# every element attribute that can make the browser fetch or navigate
URL_ATTRS_JS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('*')) {
    for (const name of ['href', 'src', 'srcset', 'xlink:href', 'action', 'formaction', 'poster', 'data']) {
      const v = el.getAttribute(name);
      if (v) out.push([el.tagName.toLowerCase(), name, v]);
    }
    const style = el.getAttribute('style');
    if (style && style.includes('url(')) out.push([el.tagName.toLowerCase(), 'style', style]);
  }
  return out;
}"""


class _Trap(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Trap.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    do_POST = do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def trap():
    """The server the hostile URLs point at; it must never be asked for anything."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, trap):
    from analysis import Filter, store

    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    ws, h = build_hostile(path, trap.server_address[1])
    one = lambda **kw: ws.judgments(Filter.make(**kw), limit=1)["judgment_id"][0]  # noqa: E731
    h.pointwise_id = one(model=h.models[2], protocol="pointwise")
    h.pairwise_id = one(protocol="pairwise")
    ws.close()
    store.close(path)  # the server opens the workspace read-only in its own process
    return h


@pytest.fixture(scope="module")
def server(hostile):
    srv = DashboardServer(hostile.path)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    yield from chromium.launched()


def wait_idle(page):
    chromium.idle(page, 60_000, before_ms=500)


def pick_option(page, opener, text: str, attempts: int = 8) -> None:
    """Open a dropdown and click the option with `text`. A click that lands while Streamlit reruns (a busy
    machine makes that likelier) can leave the list closed: wait for the run to end and open it again, as a
    user would, until the option is there."""
    for attempt in range(attempts):
        wait_idle(page)
        opener.click()
        option = page.get_by_role("option").filter(has_text=text).first
        try:
            option.wait_for(timeout=10_000)
        except Exception:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
            continue
        option.click()
        return


class Visit:
    """One browser context recording every request its pages make."""

    def __init__(self, browser, server, hostile, output_dir):
        self.server, self.hostile, self.output_dir = server, hostile, output_dir
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 2000}, accept_downloads=True)
        self.requests: list[str] = []
        self.ctx.on("request", lambda r: self.requests.append(r.url))
        self.page = self.ctx.new_page()
        self.page.on("popup", lambda p: self.requests.append("popup:" + p.url))

    def open(self, query: str, name: str, tabs: bool = False):
        """Open the dashboard at ?query, hover its charts and check it; with tabs, every tab in turn too."""
        page = self.page
        page.goto(self.server.url + "?" + query)
        page.locator('[data-testid="stHeading"]').first.wait_for(timeout=90_000)
        wait_idle(page)
        page.wait_for_timeout(1500)
        self.hover()
        self.check(name)
        if tabs:
            for i, tab in enumerate(page.locator('[data-testid="stMain"] [role="tab"]').all()):
                tab.click()
                page.wait_for_timeout(800)
                self.hover()
                self.check(f"{name}-tab{i + 1}")
        return page

    def hover(self):
        """Hover text is drawn on hover: move over the visible charts."""
        page = self.page
        for chart in page.locator('[data-testid="stPlotlyChart"]').all():
            box = chart.bounding_box()
            if box and box["width"] > 0 and chart.is_visible():
                page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
                page.wait_for_timeout(300)

    def check(self, name: str):
        page = self.page
        page.wait_for_timeout(500)
        page.screenshot(path=str(self.output_dir / f"hostile-{name}.png"), full_page=True)
        assert not page.locator('[data-testid="stException"]').count(), name
        origin = self.server.url  # http://127.0.0.1:<dashboard port>/
        foreign = [u for u in self.requests if not u.startswith(origin) and not u.startswith(("data:", "blob:"))]
        assert not foreign, f"{name}: requests outside the dashboard: {foreign}"
        # the dashboard's own URLs carry hostile filter values in their query string; never in the path
        assert not [u for u in self.requests if "leak-" in urlparse(u).path], name
        assert not _Trap.hits, f"{name}: the server the data names was asked for {_Trap.hits}"
        port = f":{self.hostile.port}"
        here = urlparse(origin)

        def own_link(v: str) -> bool:
            """A link to one of the dashboard's own pages: data may ride in its (encoded) query string only."""
            u = urlparse(urljoin(origin, v.strip()))
            return (u.scheme, u.netloc) == (here.scheme, here.netloc) and "leak-" not in u.path and port not in u.path

        bad = [(tag, attr, v) for tag, attr, v in page.evaluate(URL_ATTRS_JS)
               if v.strip().lower().startswith(("javascript:", "vbscript:"))
               or (("leak-" in v or port in v) and not own_link(v))]
        assert not bad, f"{name}: elements with a URL from the data: {bad}"
        assert page.locator("script[src*='leak-'], style:has-text('leak-'), iframe").count() == 0, name

    def close(self):
        self.ctx.close()


@pytest.fixture
def visit(browser, server, hostile, output_dir):
    _Trap.hits.clear()
    v = Visit(browser, server, hostile, output_dir)
    yield v
    v.close()


def body_text(page) -> str:
    """What the page shows as text, with the values of its inputs (a selectbox shows its value in one);
    the invisible word joiners md_escape puts into URLs are dropped."""
    values = page.evaluate("() => [...document.querySelectorAll('input')].map(i => i.value).join('\\n')")
    return (page.locator("body").inner_text() + "\n" + values).replace("\u2060", "")


@pytest.mark.parametrize("name", [p for p in PAGES if p not in ("instances",)])
def test_every_page_keeps_hostile_text_inert(visit, trap, hostile, name):
    page = visit.open(f"page={name}", name, tabs=True)
    assert not _Trap.hits, _Trap.hits
    if name in ("overview", "judges", "rubrics"):
        assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1


def test_sidebar_with_hostile_selections(visit, trap, hostile):
    """Filters from a link put hostile names in the sidebar's chips, captions and the link box."""
    h = hostile
    query = urlencode([("page", "overview"), ("model", h.models[0]), ("model", h.models[2]), ("judge", h.judges[1]),
                       ("judge", h.judges[0]), ("judge", h.judges[2]), ("criterion", h.criteria[0]), (f"meta.{h.meta_key}", h.meta_values[0]),
                       ("meta." + h.meta_key, h.meta_values[1])])
    page = visit.open(query, "sidebar")
    sidebar = page.locator('[data-testid="stSidebar"]')
    text = sidebar.inner_text()
    assert h.models[0] in text and h.judges[1] in text  # the chips show the names as typed
    shown = body_text(page)
    assert "&amp;judge&lt;b&gt;" in shown  # an entity in a name is shown as typed, not decoded
    assert f"![model](http://127.0.0.1:{h.port}/leak-model.png)" in shown  # the filter caption, literally
    # an open dropdown lists the hostile options as text
    for label in ("Models", "Datasets"):
        opener = sidebar.locator('[data-testid="stMultiSelect"]').filter(has_text=label).locator("input")
        for attempt in range(8):
            wait_idle(page)
            opener.click()
            try:
                page.get_by_role("option").filter(has_text="leak-").first.wait_for(timeout=10_000)
                break
            except Exception:
                if attempt == 7:
                    raise
                page.keyboard.press("Escape")
        visit.check(f"sidebar-open-{label.lower()}")
        page.keyboard.press("Escape")
        page.locator('[data-testid="stMain"] [data-testid="stHeading"]').first.click()
        wait_idle(page)
    # the metadata facet: open the expander and pick the hostile key, so its label shows
    sidebar.get_by_text("Metadata facets").click()
    box = sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Facet")
    pick_option(page, box.get_by_role("combobox"), "leak-metakey")
    wait_idle(page)
    page.wait_for_timeout(1000)
    visit.check("sidebar-facet")
    assert "leak-metakey" in sidebar.inner_text()
    assert not _Trap.hits, _Trap.hits


@pytest.mark.parametrize("kind", ["pointwise", "pairwise"])
def test_instances_page_shows_a_hostile_instance(visit, trap, hostile, kind):
    jid = hostile.pointwise_id if kind == "pointwise" else hostile.pairwise_id
    page = visit.open(f"page=instances&instance={jid}", f"instances-{kind}")
    text = body_text(page)
    assert "leak-prompt" in text and "leak-critique" in text  # shown, as text
    assert f"![prompt](http://127.0.0.1:{hostile.port}/leak-prompt.png)" in text
    if kind == "pairwise":
        assert "leak-response-a" in text and "leak-response-b" in text
    assert not _Trap.hits, _Trap.hits


def test_compare_two_hostile_models(visit, trap, hostile):
    h = hostile
    query = urlencode([("page", "compare"), ("compare_a", h.models[1]), ("compare_b", h.models[2]),
                       ("compare_by", "model")])
    page = visit.open(query, "compare-models")
    # the two selectboxes show the names as typed
    assert h.models[1] in body_text(page) and h.models[2] in body_text(page)
    assert not _Trap.hits, _Trap.hits


def test_export_csv_from_the_page(visit, trap, hostile):
    page = visit.open("page=export", "export-csv")
    page.get_by_role("button", name="Prepare the table").click()
    wait_idle(page)
    with page.expect_download(timeout=120_000) as dl:
        page.get_by_role("button", name="Download judgments.csv").click()
    rows = list(csv.reader(io.StringIO(open(dl.value.path(), encoding="utf-8").read())))
    header = rows[0]
    models = {r[header.index("model")] for r in rows[1:]}
    assert "'" + hostile.models[3] in models  # the "-HYPERLINK(...)" model, quoted
    for r in rows[1:]:
        for c in r:
            if c[:1] in "=+@" and c:
                pytest.fail(f"formula cell in the export: {c!r}")
    visit.check("export-csv")
    assert not _Trap.hits, _Trap.hits
