"""The dashboard under Streamlit's AppTest, on the demo workspace: the selection from the URL and the widgets,
bad parameters, every page, the headline's links, the Issues page within the selection, an instance as the
judge saw it, links that pin their issue set, and user text kept as text. (Clicks on chart cells need a
browser: tests/test_browser.py.)"""

from __future__ import annotations

import json

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analysis import Filter, Workspace

from .conftest import DEMO, ROOT

APP = str(ROOT / "dashboard" / "app.py")
PAGES = ("overview", "issues", "instances", "judges", "rubrics", "compare", "export")


def app(monkeypatch, path, **params) -> AppTest:
    monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def param(at: AppTest, key: str):
    v = at.query_params.get(key)
    return v[0] if isinstance(v, list) and len(v) == 1 else v


def links(at: AppTest) -> list[tuple[str, Filter]]:
    """The page links on the page: (label, the selection they open)."""
    out = []
    for el in at.get("page_link"):
        out.append((el.proto.label, Filter.parse(el.proto.query_string)[0]))
    return out


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption).replace("\\", "")


def test_overview_headline_and_counts(monkeypatch, demo_path):
    ws = Workspace(demo_path, read_only=True)
    at = app(monkeypatch, demo_path)
    m = metrics(at)
    assert m["Judgments"] == "109,062" and m["Items"] == "2,659" and m["Rejected rows"] == "0"
    found = links(at)
    # worst issues by model: each link opens that issue's instances for that model, in its own issue set
    issue_links = [(label, f) for label, f in found if f.issue]
    assert issue_links
    for label, f in issue_links:
        assert f.issue_set and f.model and len(f.issue) == 1
        iset = ws.issues.get(f.issue_set)
        share = iset.prevalence("model").filter((pl.col("issue_id") == f.issue[0]) & (pl.col("model") == f.model[0]))
        assert f"{share['share'][0]:.0%}" in label.replace("\\", "")
        assert ws.count(f) > 0
    # bias flags: each opens the instances behind the metric (Falcon's flipped pairs among them)
    bias = [f for _, f in found if f.swap or f.won]
    assert any(f.judge == ("Falcon",) and f.swap == ("flipped",) for f in bias)
    # human agreement beside its ceiling
    assert "Humans agree with each other" in captions(at)
    assert any(f.label == "disagree" for _, f in found)
    # the default view of a mostly pairwise workspace: verdicts by position, all of them, and each model's win rate
    assert len(at.get("plotly_chart")) == 1
    shown = [d.value for d in at.dataframe if "win_rate" in d.value.columns]
    assert shown and len(shown[0]) == ws.scores.win_rates().height > 0


def test_overview_reads_the_newest_of_several_runs_over_one_selection(tmp_path):
    """A selection discovered twice (a rerun; session 19's trial) listed its top issue twice in "What stands out",
    once per run: only the newest set of a selection is read."""
    from dashboard.views.overview import _worst_issues

    ws = Workspace(tmp_path / "ws.duckdb")
    ws.ingest(DEMO / "pandalm")
    ws.issues.discover("dataset=pandalm", seed=0)
    newest = ws.issues.discover("dataset=pandalm", seed=1)
    got = _worst_issues(ws, Filter())
    assert got["covered"] and got["issues"]
    assert {r["issue_set"] for r in got["issues"]} == {newest.id}
    assert len({r["issue_id"] for r in got["issues"]}) == len(got["issues"])


def test_win_rates_count_each_comparison(demo_path):
    """A model's win rate is its wins plus half its ties over its comparisons with a verdict, counted from the
    stored verdicts by hand here; a pair of a model with itself is no comparison."""
    ws = Workspace(demo_path, read_only=True)
    rates = ws.scores.win_rates("protocol=pairwise")
    rows = ws.judgments("protocol=pairwise", columns=["verdict", "model_a", "model_b"])
    a, b, v = pl.col("model_a"), pl.col("model_b"), pl.col("verdict")
    for r in rates.head(3).iter_rows(named=True):
        m = r["model"]
        mine = rows.filter(((a == m) | (b == m)) & (a != b))
        won = mine.filter(((a == m) & (v == "a")) | ((b == m) & (v == "b"))).height
        tied = mine.filter(v == "tie").height
        decided = mine.filter(v.is_not_null()).height
        assert (r["comparisons"], r["wins"], r["ties"]) == (mine.height, won, tied)
        assert r["win_rate"] == pytest.approx((won + tied / 2) / decided)
        assert r["ci_low"] < r["win_rate"] < r["ci_high"]


def test_win_rates_keep_a_comparison_with_an_unnamed_model(tmp_path):
    """SYNTHETIC, a known answer: m1 beats m2, an unnamed model and (no comparison) itself; m2 also loses as b."""
    src = tmp_path / "pairs.csv"
    src.write_text("prompt,response_a,response_b,model_a,model_b,verdict,judge\n"
                   "q1,x,y,m1,m2,a,J\nq2,x,y,m1,,a,J\nq3,x,y,m2,m1,b,J\nq4,x,y,m1,m1,a,J\n")
    ws = Workspace(tmp_path / "ws.duckdb")
    ws.ingest(src, format="generic", dataset="g")
    rates = {r["model"]: r for r in ws.scores.win_rates().iter_rows(named=True)}
    assert set(rates) == {"m1", "m2"}
    assert (rates["m1"]["comparisons"], rates["m1"]["wins"], rates["m1"]["n_self"]) == (3, 3, 1)
    assert (rates["m2"]["comparisons"], rates["m2"]["losses"], rates["m2"]["win_rate"]) == (2, 2, 0.0)


def test_scores_one_chart_per_scale(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, view="judge", protocol="pointwise")
    charts = at.get("plotly_chart")
    ws = Workspace(demo_path, read_only=True)
    scales = ws.scores.scales("protocol=pointwise")
    assert len(charts) == min(3, scales.height) and scales.height > 1
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in charts]
    assert any("1–10 scale" in t for t in titles) and any("1–5 scale" in t for t in titles)
    assert "different scales" in captions(at)


def test_selection_from_the_url_and_the_widgets(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, judge=["GPT-4"], template="Swap_CoT", **{"meta.subset": "LLMBar/Natural"})
    assert metrics(at)["Judgments"] == "200"
    assert at.sidebar.multiselect(key="w_judge").value == ["GPT-4"]
    assert param(at, "judge") == "GPT-4" and param(at, "meta.subset") == "LLMBar/Natural"
    at.sidebar.multiselect(key="w_judge").set_value(["GPT-4", "Falcon"]).run()
    assert metrics(at)["Judgments"] == "400"
    assert at.query_params["judge"] == ["GPT-4", "Falcon"]


def test_bad_query_params_warn_and_fall_back(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, judge=["GPT-4", "no-such-judge"], score_min="high", colour="red", page="nope",
             swap="sideways")
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "no-such-judge" in warnings and "not a number" in warnings and "unknown filter key" in warnings
    assert "unknown page" in warnings and "swap='sideways'" in warnings
    assert metrics(at)["Judgments"] == f"{Workspace(demo_path, read_only=True).count('judge=GPT-4'):,}"


def test_every_page_renders_and_says_its_selection(monkeypatch, demo_path):
    for page in PAGES:
        at = app(monkeypatch, demo_path, page=page, dataset="arena_bench_v1")
        assert not at.error, (page, [e.value for e in at.error])
        assert at.header[0].value == page.capitalize()
        assert "dataset = arena_bench_v1" in captions(at), page


def test_issues_page_honours_the_selection(monkeypatch, demo_path):
    ws = Workspace(demo_path, read_only=True)
    arena = ws.issues.sets().filter(pl.col("filter") == "dataset=arena_bench_v1")["issue_set_id"][0]
    at = app(monkeypatch, demo_path, page="issues", model="llama-13b", view="examples")
    n = ws.count("model=llama-13b&dataset=arena_bench_v1")
    assert f"{n:,} of the set's 4,500 critiques are in the selection" in captions(at)
    assert param(at, "issue_set") == arena   # the set is pinned in the link
    tree = at.dataframe[0].value
    table = ws.issues.get(arena).table("model=llama-13b")
    assert set(tree["issue_id"].dropna()) == set(table.filter(pl.col("n_units") > 0)["issue_id"])
    examples = [c.value for c in at.caption if "judged by" in c.value]
    assert examples and all(e.replace("\\", "").startswith("llama-13b ·") for e in examples)
    # an issue listed though failing responses do not clearly have it more often says so
    rows = {r["issue_id"]: r for r in table.iter_rows(named=True) if r["n_units"]}
    for r in tree.iter_rows(named=True) if isinstance(tree, pl.DataFrame) else tree.to_dict("records"):
        low, high = rows[r["issue_id"]]["lift_ci_low"], rows[r["issue_id"]]["lift_ci_high"]
        assert ("more in passing" in r["lift_interval"]) == (high is not None and high < 1), r
        assert ("not clearly tied" in r["lift_interval"]) == (low is not None and low <= 1 <= high), r
        # beside the share, the share among failing responses (a pairwise share counts winners and losers)
        assert r["in_outcome"] == pytest.approx(rows[r["issue_id"]]["p_fail"]), r


def test_an_issue_in_the_selection_picks_its_examples_not_the_list(monkeypatch, demo_path):
    """A link to one issue (Overview's "issue 2 in model X") opens the Issues page on that issue's examples; the list
    still counts the rest of the selection (it had shown the issue holding 100% of its own judgments)."""
    ws = Workspace(demo_path, read_only=True)
    arena = ws.issues.sets().filter(pl.col("filter") == "dataset=arena_bench_v1")["issue_set_id"][0]
    table = ws.issues.get(arena).table("model=llama-13b")
    second = table.sort("n_units", descending=True)["issue_id"][1]
    at = app(monkeypatch, demo_path, page="issues", model="llama-13b", issue=second, issue_set=arena, view="examples")
    assert f"Selected: issue {second}" in captions(at)
    tree = at.dataframe[0].value
    rows = tree.to_dict("records") if not isinstance(tree, pl.DataFrame) else tree.to_dicts()
    mine = next(r for r in rows if r["issue_id"] == second)
    want = table.filter(pl.col("issue_id") == second).row(0, named=True)
    assert mine["prevalence"] == pytest.approx(want["prevalence"]) and mine["prevalence"] < 0.9
    assert len(rows) == table.filter(pl.col("n_units") > 0).height
    assert at.selectbox(key="w_example_issue").value == second


def test_marks_and_curation_from_the_issues_page(monkeypatch, demo_path, tmp_path):
    """Fits / Does not fit and the curation buttons write through the library (they had raised AttributeError: the
    page still called the removed Workspace.issue_set)."""
    import shutil

    path = tmp_path / "copy.duckdb"
    from analysis import store

    store.close(demo_path)
    shutil.copy(demo_path, path)
    ws = Workspace(path, read_only=True)
    pandalm = ws.issues.sets().filter(pl.col("filter") == "dataset=pandalm")["issue_set_id"][0]
    ws.close()
    at = app(monkeypatch, path, page="issues", issue_set=pandalm, view="examples")
    shown_issue = at.selectbox(key="w_example_issue").value
    at.button(key="w_nofit_0").click().run()
    assert not at.exception, at.exception
    iset = Workspace(path, read_only=True).issues.get(pandalm)
    marks = iset.marks()
    assert marks.height == 1 and marks["fits"].to_list() == [False]
    # what a reader checks is a random draw of the members (the most typical would overstate the precision)
    drawn = iset.examples(shown_issue, 10, sample=0)["judgment_id"].to_list()
    assert marks["judgment_id"][0] == drawn[0] != iset.examples(shown_issue, 10)["judgment_id"][0]
    at.button(key="w_example_next").click().run()
    assert not at.exception and "drawn at random (draw 2)" in captions(at)
    assert "judged by gpt-3.5-turbo · not preferred" in captions(at) or "judged by PandaLM-7B · not preferred" in \
        captions(at)
    store.close(path)
    at = app(monkeypatch, path, page="issues", issue_set=pandalm, view="curate")
    drop = next(b for b in at.button if b.label == "Drop")
    drop.click().run()
    assert not at.exception, at.exception
    assert Workspace(path, read_only=True).issues.get(pandalm).history()["action"].to_list()[-1] == "drop"


def test_instance_reads_as_the_judge_saw_it(monkeypatch, demo_path):
    ws = Workspace(demo_path, read_only=True)
    rows = ws.judgments("judge=GPT-4&template=Swap_CoT&dataset=llmbar", limit=50)
    row = rows.filter(pl.col("shown_first") == "b").row(0, named=True)
    d = ws.instance(row["judgment_id"])
    assert d["slots"][0]["response_id"] == row["response_b"]          # the slot shown first comes first
    assert d["critique_names"]["Output (a)"] == "response A"     # LLMBar keeps no model names: the page's letter
    assert d["swapped"] is not None and d["swapped"]["shown_first"] == "a"
    # the other order's "Output (a)" is the answer shown second on this page
    if "Output (a)" in (d["swapped"]["critique"] or ""):
        assert d["swapped"]["critique_names"]["Output (a)"] == "response B"
    gold = [lab for lab in d["labels"] if lab["kind"] == "gold"]
    assert gold and gold[0]["judge_agrees"] == (gold[0]["prefers"] == {"a": row["response_a"], "b": row["response_b"]}
                                                .get(row["verdict"]))
    at = app(monkeypatch, demo_path, page="instances", instance=row["judgment_id"])
    md = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert "The other order" in md
    assert "\\*\\*The other order" not in " ".join(m.value for m in at.markdown)   # bold, not literal asterisks
    assert "None" not in md and "unnamed" not in md
    texts = " ".join(t.value for t in at.text)
    assert d["swapped"]["critique"][:80] in texts and d["judgment"]["prompt"][:60] in texts
    first_label = next(m.value for m in at.markdown if m.value.startswith("**A"))
    assert "shown first" in first_label.replace("\\", "")
    labels = next(m.value for m in at.markdown if "judge agrees" in m.value or "judge disagrees" in m.value)
    assert labels.count("- ") == len(d["labels"]) and "gold" in labels


def test_instances_table_previews_and_sorts_across_pages(monkeypatch, demo_path):
    ws = Workspace(demo_path, read_only=True)
    at = app(monkeypatch, demo_path, page="instances", dataset="arena_bench_v1", sort="score", desc="1")
    table = at.dataframe[0].value
    assert {"prompt", "critique", "issues", "outcome"} <= set(table.columns)
    assert table["critique"].str.len().max() <= 160 and table["issues"].notna().any()
    top = ws.judgments("dataset=arena_bench_v1", columns=["score"])["score"].max()
    assert table["outcome"].iloc[0].startswith(f"{top}")
    assert param(at, "sort") == "score"


def test_compare_from_the_link_honours_the_selection(monkeypatch, demo_path):
    ws = Workspace(demo_path, read_only=True)
    arena = ws.issues.sets().filter(pl.col("filter") == "dataset=arena_bench_v1")["issue_set_id"][0]
    at = app(monkeypatch, demo_path, page="compare", compare_a="llama-13b", compare_b="gpt-4-1106-preview",
             compare_by="model", dataset="arena_bench_v1", issue_set=arena, score_max="5")
    diff = next(d.value for d in at.dataframe if "share_a" in d.value.columns)
    want = ws.issues.compare("llama-13b", "gpt-4-1106-preview", issue_set=arena, filter="dataset=arena_bench_v1&score_max=5")
    assert len(diff) == want.height
    assert abs(diff["share_a"].iloc[0] - want["share_a"][0]) < 1e-12
    assert param(at, "compare_a") == "llama-13b"
    # the items table: scores as judged (arena: 1-10) beside the difference on a 0-1 scale
    items = next(d.value for d in at.dataframe if "raw_a" in d.value.columns)
    assert items["raw_a"].max() > 1 and items["difference"].abs().max() <= 1
    assert abs((items["score_a"] - items["score_b"] - items["difference"]).abs().max()) < 1e-9


def test_sidebar_issue_condition_pins_the_issue_set(monkeypatch, demo_path):
    ws = Workspace(demo_path, read_only=True)
    at = app(monkeypatch, demo_path, page="instances", issue="1")
    newest = ws.issues.sets()["issue_set_id"][0]
    assert param(at, "issue_set") == newest
    assert f"{ws.count(f'issue=1&issue_set={newest}'):,} judgments match" in captions(at)


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
    assert metrics(at)["Judgments"] == "1"
    for md in at.markdown:
        assert "<script>" not in md.value and "](javascript:" not in md.value
    assert "\\<img" in " ".join(c.value for c in at.caption)


def test_judges_page_numbers(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, page="judges", template="Swap_CoT")
    audit = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    falcon = audit[(audit["judge"] == "Falcon") & (audit["metric"] == "swap_consistency")]["value"].iloc[0]
    assert abs(falcon - 0.152) < 0.0015
    assert len(at.get("plotly_chart")) >= 3


def test_rubrics_page(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, page="rubrics", dataset="prometheus")
    assert len(at.get("plotly_chart")) >= 2
    at = app(monkeypatch, demo_path, page="rubrics", dataset="llmbar")
    assert any("no rubric criteria" in i.value for i in at.info) and not at.get("plotly_chart")


def test_old_page_links_still_open_their_page(monkeypatch, demo_path):
    at = app(monkeypatch, demo_path, page="judges", judge="Falcon")
    assert at.header[0].value == "Judges" and param(at, "judge") == "Falcon"


def test_a_slow_query_is_stopped_with_one_line(monkeypatch, demo_path):
    """Past JUDGESCOPE_QUERY_SECONDS a read is stopped: a page says what to narrow, no traceback; 0 is no limit.
    The slow query is one that cannot finish in the limit on any machine (a billion-row join), so the test
    does not depend on how fast this machine is; the CLI's read commands take the same limit."""
    from analysis.cli import _workspace
    from analysis.errors import UserError
    from analysis.query import Query
    from dashboard.views import judges

    slow = "SELECT count(*) FROM range(100000000) a, range(1000) b WHERE a.range % 7 = b.range"
    q = Query(demo_path, read_only=True, time_limit=0.5)
    with pytest.raises(UserError, match="took longer than 0.5 s and was stopped: narrow the selection"):
        q.rows(slow)
    assert q.rows("SELECT 1") == [(1,)]                 # the connection is fine afterwards
    monkeypatch.setattr(judges, "render", lambda ws: ws.q.frame(slow))
    monkeypatch.setenv("JUDGESCOPE_QUERY_SECONDS", "0.5")
    at = app(monkeypatch, demo_path, page="judges")
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    assert "took longer than 0.5 s" in errors and "narrow the selection" in errors
    monkeypatch.setenv("JUDGESCOPE_QUERY_SECONDS", "0")  # 0: no limit
    monkeypatch.undo()
    monkeypatch.setenv("JUDGESCOPE_QUERY_SECONDS", "7")
    args = type("A", (), {"workspace": str(demo_path)})()
    assert _workspace(args, read_only=True).q.time_limit == 7.0
    assert _workspace(args).q.time_limit is None        # writing commands are never bounded
    monkeypatch.setenv("JUDGESCOPE_QUERY_SECONDS", "soon")
    with pytest.raises(UserError, match="must be a number of seconds"):
        _workspace(args, read_only=True)


def test_a_label_on_two_answers_of_one_model_names_the_slot(monkeypatch, tmp_path):
    """JudgeBench pairs two answers of one model: "prefers claude-3-5-sonnet" said nothing (a new user's reading);
    the label names the slot as the page shows it. Hand-made rows, the layout's known answer."""
    rows = [{"prompt": f"Question {i}?", "model_a": "m", "model_b": "m", "response_a": f"first answer {i}",
             "response_b": f"second answer {i}", "judge": "j", "verdict": "A", "critique": "Assistant A is right.",
             "label_verdict": "B"} for i in range(3)]
    src = tmp_path / "pairs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = Workspace(tmp_path / "w.duckdb")
    ws.ingest(src, mapping={"columns": {"label_verdict": "label_verdict"}, "label_kind": "gold"})
    jid = ws.judgments(limit=1)["judgment_id"][0]
    ws.close()
    at = app(monkeypatch, tmp_path / "w.duckdb", page="instances", instance=jid)
    labels = next(m.value for m in at.markdown if "judge agrees" in m.value or "judge disagrees" in m.value)
    assert "prefers response B (m)" in labels.replace("\\", "") and "judge disagrees" in labels, labels
