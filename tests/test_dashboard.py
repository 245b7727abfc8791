"""The dashboard's overview page under Streamlit's AppTest: filters from query parameters, bad
parameters, and user text kept as text."""

from __future__ import annotations

import json

import polars as pl
from streamlit.testing.v1 import AppTest

from analysis import Workspace

from .conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")


def app(monkeypatch, path, **params) -> AppTest:
    monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_counts(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path)
    m = metrics(at)
    assert m["Judgments"] == "109,062" and m["Items"] == "2,659" and m["Rejected rows"] == "0"
    assert len(at.get("plotly_chart")) == 4
    assert at.query_params["page"] in ("overview", ["overview"])


def test_filters_from_query_params(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, judge=["GPT-4"], template="Swap_CoT", **{"meta.subset": "LLMBar/Natural"})
    assert metrics(at)["Judgments"] == "200"
    assert at.sidebar.multiselect(key="js_judge").value == ["GPT-4"]
    # the URL keeps the filter
    assert at.query_params["judge"] in ("GPT-4", ["GPT-4"])
    assert at.query_params["meta.subset"] in ("LLMBar/Natural", ["LLMBar/Natural"])
    # changing a widget changes the URL and the counts
    at.sidebar.multiselect(key="js_judge").set_value(["GPT-4", "Falcon"]).run()
    assert metrics(at)["Judgments"] == "400"
    assert at.query_params["judge"] == ["GPT-4", "Falcon"]


def test_bad_query_params_warn_and_fall_back(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, judge=["GPT-4", "no-such-judge"], score_min="high", colour="red", page="nope")
    warnings = " ".join(w.value for w in at.warning)
    assert "no\\-such\\-judge" in warnings and "not a number" in warnings and "unknown filter key" in warnings
    assert "unknown page" in warnings
    assert metrics(at)["Judgments"] == f"{Workspace(demo_path, read_only=True).count('judge=GPT-4'):,}"


def test_user_text_is_not_rendered_as_markup(monkeypatch, tmp_path):
    path = tmp_path / "x.duckdb"
    ws = Workspace(path)
    evil = "<script>alert(1)</script>[click](javascript:alert(2))"
    src = tmp_path / "evil.jsonl"
    src.write_text(json.dumps({"question_id": "q", "model": evil, "judge": "<img src=x onerror=alert(3)>",
                               "score": 3, "critique": evil}) + "\n")
    ws.ingest(src, mapping={"scale": "1-5"})
    ws.close()
    at = app(monkeypatch, path, judge="<img src=x onerror=alert(3)>")
    # the judge filter from the link applies and no markdown element carries the raw text unescaped
    assert metrics(at)["Judgments"] == "1"
    for md in at.markdown:
        assert "<script>" not in md.value and "](javascript:" not in md.value
    caption = " ".join(c.value for c in at.caption)
    assert "\\<img" in caption  # escaped when shown as part of the filter description


def test_judges_page(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, page="judges", template="Swap_CoT")
    charts = at.get("plotly_chart")
    assert len(charts) >= 4
    frames = [d.value for d in at.dataframe]
    audit = next(f for f in frames if "metric" in f.columns)
    falcon = audit[(audit["judge"] == "Falcon") & (audit["metric"] == "swap_consistency")]["value"].iloc[0]
    assert abs(falcon - 0.152) < 0.0015


def test_rubrics_page(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, page="rubrics", dataset="prometheus")
    assert len(at.get("plotly_chart")) >= 2
    assert any("No two criteria" in c.value for c in at.caption)


def test_every_page_renders_on_the_demo(monkeypatch, demo_path):
    ws = Workspace(demo_path, read_only=True)
    iset = ws.issue_set()
    for page in ("overview", "issues", "instances", "judges", "rubrics", "compare", "export"):
        at = app(monkeypatch, demo_path, page=page, dataset="arena_bench_v1")
        assert at.query_params["page"] in (page, [page])
        assert not at.error, [e.value for e in at.error]
    # the demo's issue set is on the Issues page
    at = app(monkeypatch, demo_path, page="issues", issue_set=iset.id)
    assert at.dataframe[0].value.shape[0] == iset.table().height


def test_instance_and_compare_from_the_link(monkeypatch, demo_path):
    ws = Workspace(demo_path, read_only=True)
    jid = ws.judgments("judge=Falcon&template=Swap_CoT", limit=1)["judgment_id"][0]
    at = app(monkeypatch, demo_path, page="instances", instance=jid, judge="Falcon", template="Swap_CoT")
    assert any("Swapped order" in i.value for i in at.info)
    texts = " ".join(t.value for t in at.text)
    row = ws.instance(jid)["judgment"]
    assert row["prompt"][:60] in texts
    arena = ws.issue_sets().filter(pl.col("filter") == "dataset=arena_bench_v1")["issue_set_id"][0]
    at = app(monkeypatch, demo_path, page="compare", compare_a="llama-13b", compare_b="gpt-4-1106-preview",
             compare_by="model", dataset="arena_bench_v1", issue_set=arena)
    frames = [d.value for d in at.dataframe]
    diff = next(f for f in frames if "share_a" in f.columns)
    assert len(diff) == ws.issue_set(arena).table().height
    assert at.query_params["compare_a"] in ("llama-13b", ["llama-13b"])


def test_judges_cell_opens_its_instances(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, page="judges", template="Swap_CoT")
    at.selectbox(key="js_cell_judge").set_value("Falcon")
    at.selectbox(key="js_cell_metric").set_value("swap_consistency")
    at.button(key="js_cell_go").click().run()
    assert not at.exception, at.exception
    assert at.query_params["page"] in ("instances", ["instances"])
    assert at.query_params["judge"] in ("Falcon", ["Falcon"])
    assert at.query_params["protocol"] in ("pairwise", ["pairwise"])
    assert any("1,468 judgments match" in c.value.replace("\\", "") for c in at.caption)


def test_sidebar_meta_and_label_widgets(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, page="overview", **{"meta.subset": "LLMBar/Natural"}, label="disagree",
             judge="GPT-4", template="Swap_CoT")
    ws = Workspace(demo_path, read_only=True)
    expected = ws.count("meta.subset=LLMBar/Natural&label=disagree&judge=GPT-4&template=Swap_CoT")
    assert {m.label: m.value for m in at.metric}["Judgments"] == f"{expected:,}"
    assert at.query_params["label"] in ("disagree", ["disagree"])
