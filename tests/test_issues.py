"""Issue discovery on real critiques (arena-bench v1, GPT-4 grading four models of very different
strength): embeddings from the packaged all-MiniLM-L6-v2, UMAP, HDBSCAN. One discovery per session;
its second run must come from the embedding cache and give the identical issue set."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import polars as pl
import pytest

from analysis import Workspace
from analysis.issues.segment import classify, segment, split

from .conftest import DEMO

MODELS = "model=llama-13b&model=gpt-4-1106-preview&model=claude-2.1&model=gpt-3.5-turbo"


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("issues") / "ws.duckdb")
    ws.ingest(DEMO / "arena_bench_v1")
    first = ws.discover_issues(MODELS, seed=0)
    second = ws.discover_issues(MODELS, seed=0)
    return ws, first, second


def test_segmentation_rules():
    critique = """The assistant's answer is correct and helpful. However, it does not mention the edge case.
- It ignores the user's request for a table.
- The code is fine.

```python
print("this code is not critique")
```
> quoted output that is wrong
The assistant's answer is not helpful.
Rating: [[3]]

Corrected Answer: the right thing is X, which is not what it said."""
    parts = split(critique)
    assert "print" not in " ".join(parts) and "quoted output" not in " ".join(parts)
    assert not any("[[3]]" in p or "right thing" in p for p in parts)
    kinds = {s.text: s.kind for s in segment(critique)}
    assert kinds["However, it does not mention the edge case."] == "problem"
    assert kinds["It ignores the user's request for a table."] == "problem"
    assert kinds["The assistant's answer is not helpful."] == "verdict"
    assert kinds["The assistant's answer is correct and helpful."] == "verdict"
    assert classify("But it achieves the same result and is just as valid.") == "praise"
    assert classify("This minor difference does not affect the correctness of the code.") != "problem"


def test_issue_set_quality_on_real_critiques(arena):
    ws, iset, _ = arena
    stats = iset.stats
    assert stats["n_judgments"] == 1200
    assert stats["kinds"]["problem"] > 2000 and stats["kinds"]["verdict"] > 0
    assert stats["coverage"] >= 0.7, stats["coverage"]
    table = iset.table()
    assert table.height >= 10
    top = table.head(5)
    # an issue groups one kind of failure across tasks, not one task's critiques
    assert (top["n_items"] >= 20).all() and (top["max_item_share"] <= 0.2).all(), top
    assert all(t and len(t.split()) >= 3 for t in top["title"])
    assert all(len(k) >= 3 for k in top["keywords"])


def test_weak_model_has_more_issues(arena):
    ws, iset, _ = arena
    prev = iset.prevalence("model")
    with_issue = {}
    for m in ("llama-13b", "gpt-4-1106-preview"):
        with_issue[m] = ws.count(f"model={m}&issue=" + "&issue=".join(iset.table()["issue_id"]))
    assert with_issue["llama-13b"] > with_issue["gpt-4-1106-preview"] * 1.2
    total = prev.group_by("model").agg(pl.col("n_with").sum())
    t = dict(total.iter_rows())
    assert t["llama-13b"] > t["gpt-4-1106-preview"]
    assert (prev["ci_low"] <= prev["share"]).all() and (prev["share"] <= prev["ci_high"]).all()


def test_same_seed_same_issues_and_cached_embeddings(arena):
    ws, first, second = arena
    assert second.stats["embedding"]["n_embedded"] == 0
    assert second.stats["embedding"]["n_cached"] == second.stats["embedding"]["n_unique"] > 1000
    a = first.assignments().select("judgment_id", "issue_id").sort("judgment_id", "issue_id")
    b = second.assignments().select("judgment_id", "issue_id").sort("judgment_id", "issue_id")
    assert a.equals(b)
    assert first.table()["title"].to_list() == second.table()["title"].to_list()


def test_issue_filters_examples_and_map(arena):
    ws, iset, _ = arena
    ids = iset.table()["issue_id"].to_list()
    one, two = ids[0], ids[1]
    q = f"issue_set={iset.id}"
    n_any = ws.count(f"{q}&issue={one}&issue={two}")
    n_all = ws.count(f"{q}&issue_all={one}&issue_all={two}")
    n_one = ws.count(f"{q}&issue={one}")
    n_none = ws.count(f"{q}&issue_none={one}&{MODELS}")
    assert n_all <= min(n_one, n_any) and n_any >= n_one
    assert n_one + n_none == 1200
    n_only = ws.count(f"{q}&issue_only={one}")
    assert 0 < n_only <= n_one
    ex = iset.examples(one, 5)
    assert ex.height == 5 and ex["similarity"].is_sorted(descending=True)
    fig = iset.map()
    assert len(fig.data) >= 5
    assign = iset.assignments()
    assert set(assign.columns) >= {"item_id", "judgment_id", "issue_id", "item_source_key", "judgment_source_key"}
    assert assign.filter(pl.col("issue_id") == one).height == n_one


def test_curation_is_recorded(arena):
    ws, _, iset = arena
    ids = iset.table()["issue_id"].to_list()
    before = iset.table().filter(pl.col("issue_id").is_in(ids[2:4]))["n_instances"].sum()
    new = iset.merge(ids[2:4], title="Merged issue")
    merged = iset.table().filter(pl.col("issue_id") == new)
    assert merged["title"][0] == "Merged issue" and merged["n_instances"][0] <= before
    iset.rename(new, "Renamed <b>issue</b>")
    parts = iset.split(new, 2)
    assert len(parts) == 2
    iset.drop(ids[-1])
    assert ids[-1] not in iset.table()["issue_id"].to_list()
    actions = iset.history()["action"].to_list()
    assert actions == ["created", "merge", "rename", "split", "drop"]


def test_known_taxonomy(arena):
    ws, _, _ = arena
    taxonomy = [{"title": "Code does not work", "description": "The code has bugs, errors or does not run correctly."},
                {"title": "Missing information", "description": "The answer leaves out parts the user asked for."}]
    iset = ws.discover_issues("model=llama-13b&model=gpt-4-1106-preview", taxonomy=taxonomy)
    table = iset.table()
    known = table.filter(pl.col("origin") == "taxonomy")
    assert known["title"].to_list() and set(known["title"]) <= {t["title"] for t in taxonomy}
    assert (known["n_instances"] > 10).all()
    assert table.filter(pl.col("origin") == "cluster").height >= 3  # the rest is still clustered


class _Namer(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Namer.calls += 1
        assert body["temperature"] == 0 and body["response_format"] == {"type": "json_object"}
        content = json.dumps({"title": f"LLM issue {_Namer.calls}", "description": "One sentence."})
        out = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": content}}],
                          "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def test_llm_naming_one_call_per_issue_and_cached(arena, monkeypatch):
    ws, _, _ = arena
    server = HTTPServer(("127.0.0.1", 0), _Namer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    try:
        _Namer.calls = 0
        iset = ws.discover_issues("model=llama-13b&model=gpt-4-1106-preview", name_with="fake-judge")
        n = iset.table().height
        titles = iset.table()["title"].to_list()
        assert _Namer.calls >= n and all(t.startswith("LLM issue") for t in titles)
        calls = _Namer.calls
        ws.discover_issues("model=llama-13b&model=gpt-4-1106-preview", name_with="fake-judge")
        assert _Namer.calls == calls  # every request came from the cache
        stored = ws.con.execute("SELECT string_agg(request, '') FROM llm_calls").fetchall()[0][0]
        assert "sk-test-secret-123" not in stored
    finally:
        server.shutdown()


def test_cli_issues_json(arena):
    import subprocess
    import sys
    from pathlib import Path

    ws, iset, _ = arena
    from analysis import store

    store.close(ws.path)
    exe = str(Path(sys.executable).parent / "judgescope")
    r = subprocess.run([exe, "issues", "-w", str(ws.path), "--show", iset.id, "--json"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    records = json.loads(r.stdout)
    assert {"issue_id", "title", "keywords", "n_instances", "n_segments", "severity",
            "prevalence_by_model"} <= set(records[0])
    assert set(records[0]["prevalence_by_model"]) <= {"llama-13b", "gpt-4-1106-preview", "claude-2.1", "gpt-3.5-turbo"}
    r = subprocess.run([exe, "issues", "-w", str(ws.path), "--list"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and iset.id in r.stdout


def test_dashboard_issues_page(arena, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from .conftest import ROOT

    ws, iset, _ = arena
    monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(ws.path))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.query_params["page"] = "issues"
    at.query_params["issue_set"] = iset.id
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert {"issue_id", "title", "n_instances", "n_items"} <= set(table.columns)
    assert len(at.get("plotly_chart")) >= 2
    # selecting an issue filters every page and goes into the link
    first = str(table["issue_id"].iloc[0])
    at.selectbox(key="js_issue_pick").set_value(first).run()
    assert at.query_params["issue"] in (first, [first])
    at.query_params["page"] = "overview"
    at2 = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
    at2.query_params["page"] = "overview"
    at2.query_params["issue_set"] = iset.id
    at2.query_params["issue"] = first
    at2.run()
    n = int({m.label: m.value for m in at2.metric}["Judgments"].replace(",", ""))
    assert n == ws.count(f"issue_set={iset.id}&issue={first}")


def test_merge_by_terms_joins_restatements_only():
    import numpy as np

    from analysis.issues.cluster import merge_by_terms
    from analysis.issues.naming import _OPENER, content_words

    texts = {0: ["The assistant's code does not correctly implement the function.",
                 "However, the code does not correctly handle the input."],
             1: ["The code does not correctly implement the request.", "Its code does not handle the input correctly."],
             2: ["The answer is too verbose and repeats itself.", "It repeats the same point at length."]}
    labels = np.array([k for k, v in texts.items() for _ in v] + [-1])
    tokens = [content_words(t) for v in texts.values() for t in v] + [set()]
    merged, merges = merge_by_terms(labels, tokens, 0.75)
    assert len(merges) == 1 and {merges[0][0], merges[0][1]} == {0, 1} and merges[0][2] >= 0.75
    assert len(set(merged[:4])) == 1 and set(merged[4:6]) == {2} and merged[6] == -1
    assert _OPENER.sub("", "However, the code is wrong.") == "the code is wrong."
