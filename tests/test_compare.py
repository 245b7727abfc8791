"""Compare on shipped datasets alone (PandaLM: pairwise, two judges, models named; Prometheus: rubric scores, one
judge), under Streamlit's AppTest: two different sides by default, significant differences marked with the
correction named, and an honest message (not an error) when the issue set does not cover a side."""

from __future__ import annotations

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analysis import Workspace
from analysis.instances import _holm

from .conftest import DEMO, ROOT

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    out = {}
    for name, fmt, flt in (("pandalm", "pandalm", "dataset=pandalm"), ("prometheus", "prometheus", "dataset=prometheus")):
        path = tmp_path_factory.mktemp("compare") / f"{name}.duckdb"
        ws = Workspace(path)
        ws.ingest(DEMO / name, format=fmt)
        ws.issues.discover(flt)
        ws.close()
        out[name] = path
    return out


def _run(monkeypatch, path, **params) -> AppTest:
    monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["page"] = "compare"
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.parametrize("name,by", [("pandalm", "model"), ("pandalm", "judge"), ("prometheus", "model")])
def test_compare_defaults_to_two_sides_and_marks_significance(monkeypatch, alone, name, by):
    at = _run(monkeypatch, alone[name], compare_by=by)
    a, b = at.selectbox(key="w_cmp_a").value, at.selectbox(key="w_cmp_b").value
    assert a and b and a != b
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "Holm-corrected" in caption and "differences are significant" in caption
    table = at.dataframe[0].value
    assert set(table["significant"]) <= {"yes", ""} and len(table) >= 5
    # the items where the two differ most: pairwise models by the share of comparisons won on the item
    if name == "pandalm" and by == "model":
        items = at.dataframe[1].value
        assert len(items) > 0 and set(items["basis"]) == {"verdicts"}
        ws = Workspace(alone[name], read_only=True)
        mine = ws.compare_instances(a, b, "model", "dataset=pandalm", limit=500)
        assert mine["difference"].abs().max() == 1.0  # some item one of them won every comparison on, the other none
        r = mine.row(0, named=True)
        v = ws.judgments({"item": [r["item_id"]], "protocol": "pairwise"}, columns=["verdict", "model_a", "model_b"])
        ma, mb = pl.col("model_a"), pl.col("model_b")
        side = v.filter(((ma == a) & (mb != a) | (mb == a) & (ma != a)) & pl.col("verdict").is_not_null())
        got = [0.5 if x["verdict"] == "tie" else float((x["model_a"] == a) == (x["verdict"] == "a"))
               for x in side.iter_rows(named=True)]
        assert r["score_a"] == pytest.approx(sum(got) / len(got))
    # choosing B = A's value resets B to another side, never the same on both
    at.selectbox(key="w_cmp_b").set_value(a).run()
    assert not at.exception
    assert at.selectbox(key="w_cmp_a").value != at.selectbox(key="w_cmp_b").value or at.warning


def test_compare_difference_and_holm_on_real_numbers(alone):
    ws = Workspace(alone["pandalm"], read_only=True)
    diff = ws.issues.compare("gpt-3.5-turbo", "PandaLM-7B", by="judge")
    assert diff.height >= 5
    assert ((diff["ci_low"] <= diff["difference"]) & (diff["difference"] <= diff["ci_high"])).all()
    assert (diff["p_holm"] >= diff["p_value"]).all()
    # a difference whose 95% interval excludes 0 by a wide margin is significant even after the correction
    wide = diff.filter((pl.col("ci_low") > 0.05) | (pl.col("ci_high") < -0.05))
    assert wide.height == 0 or wide["significant"].any()
    assert _holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # the largest differences first, whichever side they favour (a new user had found the large ones at the bottom)
    sizes = diff["difference"].abs().to_list()
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("page,key", [("instances", "offset"), ("instances", "sort"), ("instances", "desc"),
                                      ("instances", "instance"), ("compare", "compare_by"), ("compare", "compare_a"),
                                      ("issues", "view"), ("issues", "kind"), ("judges", "view"), ("rubrics", "view")])
def test_no_traceback_from_a_link_parameter(monkeypatch, alone, page, key):
    """Hostile or nonsense values in a link's view parameters give the page's default, never a traceback."""
    for value in ("abc", "-100", "99999999999999999999", "", "<b>x</b>"):
        monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(alone["pandalm"]))
        at = AppTest.from_file(APP, default_timeout=180)
        at.query_params["page"] = page
        at.query_params[key] = value
        at.run()
        assert not at.exception, (page, key, value, [e.value for e in at.exception])


def test_sigterm_stops_the_dashboard_and_its_server(alone):
    """`judgescope dashboard` told to stop (SIGTERM, as a service manager or `kill` does) takes its Streamlit
    server with it: the port stops answering."""
    import signal
    import subprocess
    import sys
    import time
    from urllib.request import urlopen

    from analysis.serve import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "analysis.cli", "dashboard", "-w", str(alone["pandalm"]), "--port",
                             str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urlopen(url, timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise AssertionError("the dashboard did not start")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urlopen(url, timeout=1)
                time.sleep(0.3)
            except OSError:
                break
        else:
            raise AssertionError("the Streamlit server still answers after SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()


def test_rubrics_rank_the_criteria_lowest_first(monkeypatch, alone):
    """Prometheus has 160 per-item criteria: a table ranks them, lowest mean first, with a search; the heatmap
    of them all is one click away (an expander), not a 3,000-pixel page."""
    monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(alone["prometheus"]))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["page"] = "rubrics"
    at.run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) > 100 and list(table["mean_score"]) == sorted(table["mean_score"])
    ws = Workspace(alone["prometheus"], read_only=True)
    b = ws.rubrics.breakdown("model").group_by("criterion").agg(
        ((pl.col("mean_score") * pl.col("n")).sum() / pl.col("n").sum()).alias("m")).sort("m")
    assert table["criterion"].iloc[0] == b["criterion"][0]
    assert any("Heatmap of all" in e.label for e in at.expander)
    word = b["criterion"][0].split()[-1].strip("?.,")
    at.text_input(key="w_crit_search").set_value(word).run()
    found = at.dataframe[0].value
    assert 1 <= len(found) < len(table) and all(word.lower() in c.lower() for c in found["criterion"])


def test_absurd_filters_are_refused_when_parsed(monkeypatch, alone):
    """300 issue conditions (each one a join) are refused by the parser with one line; a link with them opens the
    page with the first 50 and a warning, instead of a query that runs for tens of seconds."""
    import subprocess
    import sys

    from analysis import Filter, UserError
    from analysis.filters import MAX_ISSUE_CONDITIONS

    query = "&".join(f"issue_all={i}" for i in range(300))
    with pytest.raises(UserError, match="at most 50"):
        Filter.parse(query)
    f, warnings = Filter.parse(query, strict=False)
    assert len(f.issue_all) == MAX_ISSUE_CONDITIONS and warnings
    r = subprocess.run([sys.executable, "-m", "analysis.cli", "judgments", "-w", str(alone["pandalm"]), "--filter",
                        query], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 1 and "at most 50" in r.stderr and "Traceback" not in r.stderr
    monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(alone["pandalm"]))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["page"] = "instances"
    at.query_params["issue_all"] = [str(i) for i in range(300)]
    at.run()
    assert not at.exception
    assert any("at most 50" in w.value.replace("\\", "") for w in at.warning)
