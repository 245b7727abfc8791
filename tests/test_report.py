"""Reports: Markdown, HTML, CSV, JSON; user text escaped everywhere (and in the app's instance view)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from analysis import Workspace

EVIL = "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) ![i](http://x/y.png)"


@pytest.fixture(scope="module")
def evil_ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("evil") / "ws.duckdb"
    ws = Workspace(path)
    src = path.parent / "evil.jsonl"
    rows = []
    words = ["first", "second", "final", "key", "main", "middle", "last", "early", "core", "hard"]
    for i in range(60):
        for m in ("good-model", "<b>bad</b>-model"):
            w = words[i % len(words)]
            bad = (f"The response does not explain the {w} step of the derivation. {EVIL} "
                   f"It also ignores the {w} constraint that the user gave. The answer is wrong about the {w} fact.")
            rows.append({"question_id": f"q{i}", "prompt": f"Question {i} about topic {i * 7}", "model": m,
                         "response": f"answer {i} {m}", "judge": "judge<script>", "score": 2 if "bad" in m else 8,
                         "critique": bad if "bad" in m else "The response is correct and helpful."})
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ws.ingest(src, mapping={"scale": "1-10"})
    ws.issues.discover(per_cluster=5)
    return ws


def test_markdown_and_html_escape_user_text(evil_ws):
    md_text = evil_ws.report("md")
    # every angle bracket and link bracket of user text is escaped: GitHub shows it literally
    assert not re.search(r"(?<!\\)[<>]", md_text) and "](javascript:" not in md_text and "![i](" not in md_text
    assert "judge\\<script\\>" in md_text and "\\<b\\>bad\\</b\\>-model" in md_text
    html_text = evil_ws.report("html")
    assert "<script>alert" not in html_text and "<img src=x" not in html_text
    assert "judge&lt;script&gt;" in html_text
    assert "plotly" in html_text.lower() and 'src="https://cdn.plot.ly' not in html_text  # plotly.js inlined


def test_csv_and_json_reports(evil_ws):
    data = json.loads(evil_ws.report("json"))
    assert data["issue_set"]["instances"] == 120 and data["audit"] and data["issues"]
    rows = list(csv.DictReader(io.StringIO(evil_ws.report("csv"))))
    assert {r["section"] for r in rows} >= {"issue", "issue_prevalence", "audit"}


def test_app_shows_user_text_literally(evil_ws, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from .conftest import ROOT

    jid = evil_ws.judgments("model=<b>bad</b>-model", limit=1)["judgment_id"][0]
    monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(evil_ws.path))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.query_params["page"] = "instances"
    at.query_params["instance"] = jid
    at.run()
    assert not at.exception, at.exception
    assert any(EVIL in t.value for t in at.text)  # st.text: shown as typed, never as markup
    for m in at.markdown:
        assert "<script>" not in m.value and "](javascript:" not in m.value and "<img" not in m.value


def test_cli_report(evil_ws, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from analysis import store

    store.close(evil_ws.path)
    out = tmp_path / "r.html"
    exe = str(Path(sys.executable).parent / "judgescope")
    r = subprocess.run([exe, "report", "-w", str(evil_ws.path), "--format", "html", "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.read_text().startswith("<!doctype html>")


def test_csv_cells_never_start_a_formula():
    import polars as pl

    from analysis.export import safe_cell, safe_csv_frame

    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")'):
        assert safe_cell(bad) == "'" + bad
    for fine in ("a=1", "model", "", " =1", "'=1", None, 1, -1.5, True):
        assert safe_cell(fine) == fine
    frame = pl.DataFrame({"name": ["=cmd", "ok", None, "-2"], "score": [-1.0, 2.0, None, -3.5],
                          "n": [-1, 2, 3, 4], "cat": pl.Series(["@x", "y", "z", "+w"], dtype=pl.Categorical)})
    safe = safe_csv_frame(frame)
    assert safe["name"].to_list() == ["'=cmd", "ok", None, "'-2"]
    assert safe["cat"].to_list() == ["'@x", "y", "z", "'+w"]
    assert safe["score"].dtype == pl.Float64 and safe["score"].to_list() == [-1.0, 2.0, None, -3.5]  # numbers stay numbers
    assert safe["n"].to_list() == [-1, 2, 3, 4]
    rows = list(csv.reader(io.StringIO(safe.write_csv())))
    assert rows[1][:3] == ["'=cmd", "-1.0", "-1"]


def test_every_csv_export_neutralises_formulas(tmp_path):
    """The report's CSV and the CLI's `judgments -o x.csv` on a workspace whose names start with = + - @."""
    import subprocess
    import sys
    from pathlib import Path

    from analysis import store

    from .hostile import build_hostile

    ws, h = build_hostile(tmp_path / "hostile.duckdb", 9, n_items=4)

    def number(c):
        try:
            float(c)
            return True
        except ValueError:
            return False

    def formula_cells(rows):  # text (not numbers) a spreadsheet would read as a formula
        return [c for r in rows for c in r if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not number(c)]

    rows = list(csv.reader(io.StringIO(ws.report("csv"))))
    judges = {r[3] for r in rows[1:] if r[0] == "audit"}
    assert "'" + h.judges[2] in judges  # the @-judge, quoted
    assert not formula_cells(rows)
    store.close(ws.path)
    out = tmp_path / "j.csv"
    exe = str(Path(sys.executable).parent / "judgescope")
    r = subprocess.run([exe, "judgments", "-w", str(ws.path), "-o", str(out)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    table = list(csv.reader(out.open(encoding="utf-8")))
    header, body = table[0], table[1:]
    assert body and not formula_cells(body)
    models = {row[header.index("model")] for row in body}
    assert "'" + h.models[3] in models and h.models[0] in models  # only the formula-like name changed
    assert "'" + h.templates[1] in {row[header.index("template")] for row in body}
    scores = [row[header.index("score")] for row in body if row[header.index("score")]]
    assert scores and all(float(s) >= 1 for s in scores)  # numbers stay numbers (no quote)
    values = [row[5] for row in rows[1:] if row[5]]
    assert any(v.startswith("-") for v in values) and all(number(v) for v in values)  # negative values unquoted


def test_a_summary_first_in_words_with_intervals(evil_ws):
    """The findings that stand out come first, with their intervals, and nothing of where the workspace lives."""
    data = json.loads(evil_ws.report("json"))
    assert data["summary"] and data["workspace"] == "ws.duckdb"
    # the issue the bad model has and the good one does not is told with both groups' intervals
    gap = [f for f in data["summary"] if " has “" in f]
    assert gap and gap[0].startswith("<b>bad</b>-model has") and "good-model in 0.0% [" in gap[0], data["summary"]
    md_text = evil_ws.report("md")
    head = md_text.split("## Issues")[0]
    assert "## Summary" in head and "/tmp" not in md_text and str(evil_ws.path.parent) not in md_text
    # our own brackets stay readable; the data's are escaped
    assert re.search(r"\d% \[\d", head) and "\\<b\\>bad\\</b\\>-model has" in head


def test_bundle_never_deletes_what_it_did_not_create(evil_ws, tmp_path):
    """A folder the user named `<out>.partial` beforehand is left alone; a refused bundle writes nothing."""
    mine = tmp_path / "site.partial"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    out = evil_ws.bundle(tmp_path / "site")
    assert (out / "index.html").exists() and (mine / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "site.partial"]     # no temporary folder left
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(Exception, match="not an empty directory"):
        evil_ws.bundle(tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]


def test_findings_count_what_the_share_counts(demo_path):
    """A pairwise judgment judges two responses: the finding's share and its count are both of judged responses
    (a helper read "in 16.4% of the 5,028 judgments (1,563)", where 1,563 was judgments and 16.4% of responses)."""
    from analysis.report import collect, findings

    ws = Workspace(demo_path, read_only=True)
    pandalm = ws.issues.sets().filter(ws.issues.sets()["filter"] == "dataset=pandalm")["issue_set_id"][0]
    d = collect(ws.q, demo_path, pandalm)
    first = d["issues"][0]
    assert d["issue_set"]["responses"] == 2 * d["issue_set"]["instances"]   # PandaLM: every judgment a pair
    line = findings(d)[0]
    assert f"of the {d['issue_set']['responses']:,} judged responses ({first['responses']:,}," in line
    assert first["prevalence"] == pytest.approx(first["responses"] / d["issue_set"]["responses"])


def test_a_report_says_what_a_lift_does_not_show_and_what_no_issue_explains(demo_path):
    """The notes the CLI and the Issues page put beside a lift ("not clearly tied", "mostly from comparisons") are in
    the report too, and so is the share of failing responses no named issue explains (a new user read "Lacks depth",
    lift 0.98, as a failure tied to losing in a report that did not say it was not)."""
    from analysis.formatting import lift_notes
    from analysis.report import collect, findings

    ws = Workspace(demo_path, read_only=True)
    sets = ws.issues.sets()
    pandalm = sets.filter(sets["filter"] == "dataset=pandalm")["issue_set_id"][0]
    d = collect(ws.q, demo_path, pandalm, top=None)
    table = {r["issue_id"]: r for r in ws.issues.get(pandalm).table().iter_rows(named=True)}
    noted = [x for x in d["issues"] if x["lift_note"]]
    assert noted, [x["title"] for x in d["issues"]]
    for x in d["issues"]:
        r = table[x["issue_id"]]
        assert x["lift_note"] == lift_notes(r["lift_ci_low"], r["lift_ci_high"], r["n_compared"], r["n_units"])
    text = ws.report("md", issue_set=pandalm, top=None)
    for x in noted:
        assert f"({x['lift_note']}) · mean outcome with it" in text, x["title"]
    e = d["issue_set"]["explained"]
    assert e["failing_units"] > 0 and f"{e['failing_without_issue']:,} of the {e['failing_units']:,} failing" in text
    # an agreement with labels departs from what a perfect judge shows, a bias from what an unbiased one does
    for line in findings(collect(ws.q, demo_path, None, top=None), n=20):
        if "gold label" in line or "human" in line:
            assert "(a perfect judge:" in line, line
        elif "judge:" in line:
            assert "(an unbiased judge:" in line, line
