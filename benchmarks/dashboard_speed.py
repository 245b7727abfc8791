"""Dashboard speed on a 1,000,000-judgment workspace (synthetic, from benchmarks/audit.py's generator):
the median time of the DuckDB queries behind each page, the audit uncached, and what the user waits for: each
page drawn in Chromium by `judgescope dashboard`'s server, on first visit, warm (reloaded), and on a selection
it has not computed yet (a filter change).

    python benchmarks/dashboard_speed.py [--items 50000] [--browser-only] [-o FILE]
        -> benchmarks/results/dashboard.json

`--smoke`: the same run on 300 items in a temporary folder, two pages drawn (overview and instances); a check that
it runs, not a measure, written to -o or a temporary file (never benchmarks/results/).

"Drawn" is tests/chromium.py's `time_to_render`: from the request until the page has its heading and content and
no script run is going (polled every 50 ms; the 0.25 s it waits to see that last is not counted).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from audit import make  # noqa: E402
from machine import add_output_args, describe, output_path  # noqa: E402


def median_ms(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


PAGES = ["", "instances", "judges", "rubrics", "compare", "issues", "export"]
SMOKE_PAGES = ["", "instances"]
FILTERED = "judge=fair-judge&judge=length-judge"
OTHER = "dataset=pairs"  # a dataset: the judges that also judged the other dataset are audited again
MODEL = "model=model-1"  # a model: every judge's judgments change, so every judge is audited again


def page_times(db: Path, pages: list[str] = PAGES) -> dict[str, dict[str, float]]:
    """Each page drawn in Chromium by a server started for it (nothing computed yet): first visit, reloaded,
    and on a selection not computed before."""
    sys.path.insert(0, str(HERE.parent))
    from analysis.serve import DashboardServer
    from tests import chromium

    out: dict[str, dict[str, float]] = {}
    for browser in chromium.launched():
        for view in pages:
            # nothing kept from an earlier page or run (analysis/reliability/saved.py): the server prepares the
            # whole workspace's audit as `judgescope dashboard` does, and the new selection is computed
            shutil.rmtree(str(db) + ".cache", ignore_errors=True)
            srv = DashboardServer(db, timeout_s=300)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            try:
                first = chromium.time_to_render(page, srv.url + view)
                warm = chromium.time_to_render(page, srv.url + view)
                filtered = chromium.time_to_render(page, srv.url + view + "?" + FILTERED)
                other = chromium.time_to_render(page, srv.url + view + "?" + OTHER)
                model = chromium.time_to_render(page, srv.url + view + "?" + MODEL)
            finally:
                page.close()
                srv.stop()
            out[view or "overview"] = {"first": round(first, 2), "warm": round(warm, 2), "filtered": round(filtered, 2),
                                       "other_selection": round(other, 2), "model_selection": round(model, 2)}
            print(view or "overview", out[view or "overview"], flush=True)
    return out


BARE_APP = """import plotly.graph_objects as go
import polars as pl
import streamlit as st

st.title("Bare page")
st.plotly_chart(go.Figure(go.Bar(x=["a", "b", "c"], y=[3, 1, 2])))
st.dataframe(pl.DataFrame({"model": ["a", "b", "c"], "score": [3, 1, 2]}))
"""


def bare_times(repeat: int = 3) -> dict[str, float]:
    """The bare equivalent: a Streamlit page with a heading, one plotly chart and one table and nothing else, served
    by `streamlit run` with the dashboard's server options and drawn the same way (a new server and browser context
    each time; medians of `repeat`). What any Streamlit page costs on this machine, for the ratios."""
    import subprocess

    sys.path.insert(0, str(HERE.parent))
    from analysis.serve import _end, free_port, options, wait_until_serving
    from tests import chromium

    folder = Path(tempfile.mkdtemp(prefix="bench-bare-"))
    app = folder / "app.py"
    app.write_text(BARE_APP)
    runs: dict[str, list[float]] = {"first": [], "warm": []}
    try:
        for browser in chromium.launched():
            for _ in range(repeat):
                port = free_port()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", str(app), *options(port)],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(folder),
                )
                url = f"http://127.0.0.1:{port}/"
                try:
                    wait_until_serving(proc, url, 60)
                    page = browser.new_page(viewport={"width": 1440, "height": 900})
                    try:
                        runs["first"].append(chromium.time_to_render(page, url))
                        runs["warm"].append(chromium.time_to_render(page, url))
                    finally:
                        page.close()
                finally:
                    _end(proc)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {k: round(statistics.median(v), 2) for k, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--work", default=str(HERE / "work"))
    parser.add_argument("--browser-only", action="store_true", help="only the page timings (printed, not saved)")
    add_output_args(parser, "dashboard", "300 items in a temporary folder, two pages")
    args = parser.parse_args()
    out = output_path("dashboard", args.output, args.smoke)
    pages = PAGES
    if args.smoke:
        args.items, args.work, pages = 300, tempfile.mkdtemp(prefix="bench-dashboard-"), SMOKE_PAGES
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    db = work / "dashboard.duckdb"
    from analysis import Workspace, store

    if not db.exists():
        p1, p2, _ = make(args.items, work)
        ws = Workspace(db)
        ws.ingest(p1)
        ws.ingest(p2, mapping={"scale": "1-10", "criteria": ["helpfulness", "accuracy"]})
        store.close(db)
    if args.browser_only:
        print("bare", bare_times(), flush=True)
        page_times(db, pages)
        if args.smoke:
            shutil.rmtree(work, ignore_errors=True)
        return
    ws = Workspace(db, read_only=True)
    n = ws.count()
    f = "judge=first-slot-judge&judge=fair-judge"
    queries = {
        "overview: filtered counts": lambda: ws.filtered_counts(f),
        "overview: score distribution by model": lambda: ws.scores.distribution_table("model", f),
        "overview: score stats by judge": lambda: ws.scores.stats("judge"),
        "overview: verdicts by position": lambda: ws.scores.verdict_outcomes("judge", f),
        "overview: win rates": lambda: ws.scores.win_rates(f),
        "sidebar: distinct models": lambda: ws.values("model"),
        "sidebar: distinct judges": lambda: ws.values("judge"),
        "instances: count": lambda: ws.count(f + "&q=critique"),
        "instances: one page of 50 (offset 500,000)": lambda: ws.judgments(f, limit=50, offset=500_000),
        "judges: model x judge means": lambda: ws.scores.model_judge_heatmap(),
        "rubrics: criterion x model": lambda: ws.rubrics.breakdown("model"),
        "compare: items differing most": lambda: ws.compare_instances("model-0", "model-1"),
    }
    query_ms = {k: median_ms(fn) for k, fn in queries.items()}
    shutil.rmtree(str(db) + ".cache", ignore_errors=True)  # computed, not read from an earlier run
    t = time.perf_counter()
    ws.audit()
    audit_s = time.perf_counter() - t
    store.close(db)
    bare_s = bare_times(1 if args.smoke else 3)
    browser_s = page_times(db, pages)
    report = {"benchmark": "dashboard", "judgments": n, "query_median_ms": query_ms,
              "audit_seconds_uncached": round(audit_s, 1), "page_drawn_seconds": browser_s,
              "bare_streamlit_page_seconds": bare_s,
              "ratio_to_bare": {
                  view: {k: round(v / bare_s["first" if k == "first" else "warm"], 1) for k, v in t.items()}
                  for view, t in browser_s.items()
              },
              "targets": {"query_ms": 200, "page_drawn_s": 3.0}, "machine": describe(),
              **({"smoke": f"{args.items} items, pages {[p or 'overview' for p in pages]}"} if args.smoke else {}),
              "note": "pages drawn in Chromium (Debian's chromium, headless, a new browser context per page) from "
                      "a dashboard server started for each page, which prepares the whole workspace's audit as "
                      "`judgescope dashboard` does (nothing kept from earlier pages or runs); 'first' is the page's "
                      "first visit, 'warm' a reload, 'filtered' the same page on a selection not computed before "
                      f"({FILTERED!r}: two judges, whose audit is read from the whole workspace's), 'other_selection' "
                      f"then on another ({OTHER!r}: a dataset; the judges that also judged the other dataset are "
                      f"audited again, the others' rows read), 'model_selection' then on a third ({MODEL!r}: every "
                      "judge audited again). The Instances page asks DuckDB for one page of 50 rows (LIMIT/OFFSET); "
                      "an audit is kept per selection (st.cache_data, and beside the workspace) once computed"}
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
        print("->", out)


if __name__ == "__main__":
    main()
