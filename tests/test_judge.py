"""Running judges and probes against a local OpenAI-compatible server with injected faults (tests/fake_llm.py).
Real inputs: LLMBar pairs and arena-bench answers from data/demo; the judge's replies are the fake server's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from analysis import Workspace
from analysis.cli import main as cli
from analysis.errors import UserError
from analysis.judge.parse import expected_score, parse_criteria, parse_score, parse_verdict

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm import FAULTS, TRANSIENT, FakeLLM, fault_for, point_score  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
LLMBAR = "dataset=llmbar&judge=GPT-4&template=Swap_CoT"
FAST = {"timeout": 0.5, "backoff": 0.01, "max_tries": 3, "progress": False}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A workspace with LLMBar (pairwise, gold labels) and arena-bench v1 (answers, references)."""
    path = tmp_path_factory.mktemp("judge") / "source.duckdb"
    ws = Workspace(path)
    ws.ingest(DEMO / "llmbar")
    ws.ingest(DEMO / "arena_bench_v1")
    ws.close()
    return path


@pytest.fixture
def ws(source, tmp_path) -> Workspace:
    path = tmp_path / "ws.duckdb"
    path.write_bytes(source.read_bytes())
    w = Workspace(path)
    yield w
    w.close()


def fake_hash_of(request_json: str) -> int:
    from fake_llm import request_hash

    return request_hash({"messages": json.loads(request_json)["messages"]})


# ---- parsing ----------------------------------------------------------------------------------------
def test_strict_parsers():
    assert parse_score('{"critique": "ok", "score": 7}', (1, 10)).score == 7
    assert parse_score('```json\n{"critique": "ok", "score": "4"}\n```', (1, 5)).score == 4
    assert parse_score("Feedback: fine. [RESULT] 4", (1, 5)).critique == "fine."
    assert parse_score("Good.\nRating: [[8]]", (1, 10)).score == 8
    for bad in ("Rating: [[8]] ... actually [[6]]", "no rating here", "Rating: [[11]]", '{"score": 0}', "", None,
                '{"critique": "x", "score": true}', '{"critique": "unterminated'):
        p = parse_score(bad, (1, 10))
        assert p.status == "unparsed" and p.score is None, bad
    assert parse_score("Rating: [[8]] and again Rating: [[8]]", (1, 10)).score == 8   # one distinct value
    assert parse_verdict("B is better. [[B>>A]]").verdict == "second"
    assert parse_verdict('{"critique": "same", "verdict": "A=B"}').verdict == "tie"
    assert parse_verdict("[[A>B]] but [[B>A]]").status == "unparsed"
    assert parse_verdict('{"verdict": "maybe"}').status == "unparsed"
    multi = parse_criteria("accuracy: Rating: [[4]]\nclarity - Rating: [[9]]", ["accuracy", "clarity", "style"], (1, 5))
    assert multi.criteria["accuracy"].score == 4 and multi.criteria["clarity"].status == "unparsed"
    assert multi.criteria["style"].status == "unparsed"
    exp, probs = expected_score([{"token": '{"score": ', "top_logprobs": []},
                                 {"token": "7", "top_logprobs": [{"token": "7", "logprob": -0.5108},
                                                                 {"token": "8", "logprob": -0.9163}, {"token": "x", "logprob": -1}]},
                                 {"token": "}", "top_logprobs": []}], (10, 11), (1, 10))
    assert probs == {"7": pytest.approx(0.6, abs=1e-3), "8": pytest.approx(0.4, abs=1e-3)}
    assert exp == pytest.approx(7.4, abs=1e-3)


# ---- robustness ---------------------------------------------------------------------------------------
def test_faults_retries_no_duplicate_no_loss(ws):
    with FakeLLM(faults=set(FAULTS), hang=2.0) as llm:
        port = llm.server.server_address[1]
        res = ws.judge(LLMBAR, model="fake-judge", template="pairwise", base_url=llm.base_url, api_key="k",
                       concurrency=16, limit=80, **FAST)
        log = list(llm.log)
    by_hash: dict[int, list] = {}
    for h, attempt, outcome, t in log:
        by_hash.setdefault(h, []).append((attempt, outcome, t))
    planned = res.planned
    assert planned == 160 and len(by_hash) == planned          # 80 pairs, both orders, every request sent
    fault = {h: fault_for(h, set(FAULTS)) for h in by_hash}
    for h, tries in by_hash.items():
        oks = sum(1 for _, o, _ in tries if o in ("ok", "wrong_schema", "empty", "bad_json_content"))
        if fault[h] == "always_500":
            assert len(tries) == 3 and oks == 0                 # gave up after max_tries
        elif fault[h] in TRANSIENT:
            assert len(tries) == 2 and oks == 1, (fault[h], tries)   # one retry, then exactly one success
        else:
            assert len(tries) == 1 and oks == 1
        if fault[h] == "429":
            gap = tries[1][2] - tries[0][2]
            assert gap >= (0.95 if h % 2 else 0.28), (gap, h % 2)      # Retry-After / retry-after-ms respected
    n_failed = sum(1 for f in fault.values() if f == "always_500")
    assert n_failed > 0 and res.stats.failed == n_failed
    # every retry the server saw was counted; a retry can also follow a pooled connection the server had
    # closed (after a drop or a hang), which never reaches it
    seen = sum(len(t) - 1 for t in by_hash.values())
    n_conn = sum(1 for f in fault.values() if f in ("drop", "hang"))
    assert seen <= res.stats.retries <= seen + n_conn
    # no lost and no duplicate judgment; failures recorded
    rows = ws._sql("SELECT judgment_id, parse_status, raw_output, meta FROM judgments WHERE run_id = ?", [res.run_id])
    assert rows.height == planned - n_failed == res.written
    assert rows["judgment_id"].n_unique() == rows.height
    failures = ws.judge_failures(res.run_id)
    assert failures.height == n_failed and set(failures["error"]) == {"HTTP 500"} and set(failures["attempts"]) == {3}
    # content faults are kept as unparsed with their raw text, never coerced
    n_content = sum(1 for f in fault.values() if f in ("wrong_schema", "empty", "bad_json_content"))
    unparsed = rows.filter(pl.col("parse_status") == "unparsed")
    assert unparsed.height == n_content > 0
    assert set(unparsed["raw_output"].to_list()) >= {""}
    assert ws.count(f"run={res.run_id}&status=unparsed") == n_content
    # a re-run (same endpoint: the cache key holds it) calls only what failed, adds nothing twice
    with FakeLLM(faults=set(FAULTS), port=port) as llm2:
        again = ws.judge(LLMBAR, model="fake-judge", template="pairwise", base_url=llm2.base_url, api_key="k",
                         concurrency=16, limit=80, **FAST)
        assert len(llm2.served("always_500")) == n_failed and len(llm2.log) == 3 * n_failed
    assert again.run_id == res.run_id and again.stats.cached == planned - n_failed and again.written == 0
    assert ws.count(f"run={res.run_id}") == planned - n_failed


def test_sigkill_mid_run_resumes_exactly_once(ws, tmp_path):
    path = ws.path
    ws.close()
    env = {**os.environ, "OPENAI_API_KEY": "k", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "analysis.cli", "judge", "-w", str(path), "--model", "fake-judge", "--template",
           "pairwise", "--filter", LLMBAR, "--limit", "60", "--concurrency", "4", "--quiet", "--max-tries", "2"]
    with FakeLLM(delay=0.05) as llm:
        proc = subprocess.Popen(cmd + ["--base-url", llm.base_url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while len(llm.served()) < 40 and time.time() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)                       # the server finishes the replies it was writing to the dead client
        first_run = llm.served()
        after_kill = Workspace(path, read_only=True)
        persisted = {fake_hash_of(r[0]) for r in after_kill.con.execute(
            "SELECT request FROM llm_calls WHERE response IS NOT NULL").fetchall()}
        assert after_kill.count("judge=fake-judge") == 0        # killed before any judgment was written
        after_kill.close()
        assert 40 <= len(first_run) < 120 and persisted <= set(first_run)
        done = subprocess.run(cmd + ["--base-url", llm.base_url], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        served = llm.served()
    w = Workspace(path)
    ids = w._sql("SELECT judgment_id FROM judgments WHERE judge = 'fake-judge'")["judgment_id"]
    assert ids.len() == 120 and ids.n_unique() == 120                # every request judged once
    assert len(served) == 120
    assert all(served[h] == 1 for h in persisted)                    # a completed (persisted) call is never repeated
    repeated = [h for h, n in served.items() if n > 1]
    assert len(repeated) <= 4                                        # at most the calls in flight at the kill
    assert set(repeated) <= set(first_run) - persisted


def test_budget_stops_cleanly_and_resumes(ws, capsys):
    with FakeLLM() as llm:
        code = cli(["judge", "-w", str(ws.path), "--model", "fake-judge", "--template", "pairwise", "--filter", LLMBAR,
                    "--limit", "30", "--base-url", llm.base_url, "--concurrency", "2", "--price-in", "1000",
                    "--budget", "0.5", "--quiet"])
        err = capsys.readouterr().err
        assert code == 1 and "stopped at the budget of $0.5" in err and "not sent" in err
        first = ws.count("judge=fake-judge")
        assert 0 < first < 60 and len(llm.log) == first            # the calls made are all stored
        code = cli(["judge", "-w", str(ws.path), "--model", "fake-judge", "--template", "pairwise", "--filter", LLMBAR,
                    "--limit", "30", "--base-url", llm.base_url, "--concurrency", "2", "--price-in", "1000",
                    "--budget", "100", "--quiet", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 0 and out["cached"] == first and out["called"] == 60 - first
        assert out["cost_usd"] > 0 and out["tokens_in"] > 0
        assert len(llm.log) == 60 and ws.count("judge=fake-judge") == 60


def test_api_key_is_never_stored_logged_or_exported(ws, tmp_path, capsys, monkeypatch):
    secret = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with FakeLLM(faults={"500", "always_500", "429", "empty"}) as llm:
        assert cli(["judge", "-w", str(ws.path), "--model", "fake-judge", "--template", "pairwise", "--filter", LLMBAR,
                    "--limit", "20", "--base-url", llm.base_url, "--timeout", "2", "--max-tries", "2"]) == 0
        assert f"Bearer {secret}" in llm.auth_headers                   # the key was used ...
    with FakeLLM(reject_key=secret) as bad:
        assert cli(["judge", "-w", str(ws.path), "--model", "other", "--filter", "dataset=arena_bench_v1",
                    "--limit", "3", "--base-url", bad.base_url]) == 1
    out = capsys.readouterr()
    assert "authentication failed (HTTP 401)" in out.err
    for fmt in ("md", "html", "csv", "json"):
        assert cli(["report", "-w", str(ws.path), "--format", fmt, "-o", str(tmp_path / f"r.{fmt}")]) in (0, 1)
    assert cli(["judgments", "-w", str(ws.path), "--filter", "judge=fake-judge", "-o", str(tmp_path / "j.csv")]) == 0
    out2 = capsys.readouterr()
    ws.close()
    blobs = [out.out, out.err, out2.out, out2.err] + [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*")
                                                      if p.is_file()]
    assert ws.path.exists() and all(secret not in b for b in blobs)      # ... and is nowhere else
    assert all(secret[:12] not in b for b in blobs)
    from analysis.judge import Endpoint

    e = Endpoint("m", f"https://user:{secret}@example.org/v1?key={secret}", secret)
    assert secret not in e.label() and secret not in e.scrub(f"failed: Incorrect API key provided: {secret} at {e.base_url}")


# ---- protocols, templates, probes ------------------------------------------------------------------
def test_pointwise_criteria_logprobs_and_text_fallback(ws, tmp_path):
    with FakeLLM() as llm:
        res = ws.judge("dataset=arena_bench_v1&model=llama-13b", model="fake", base_url=llm.base_url, api_key="k",
                       criteria=["accuracy", "clarity"], logprobs=True, limit=12, **FAST)
        per = ws.judge("dataset=arena_bench_v1&model=llama-13b", model="fake", base_url=llm.base_url, api_key="k",
                       criteria=["accuracy", "clarity"], per_criterion=True, json_mode="off", limit=12, **FAST)
        prom = ws.judge("dataset=arena_bench_v1&model=gpt-4-1106-preview", model="fake", template="prometheus",
                        base_url=llm.base_url, api_key="k", limit=5, **FAST)
    assert res.planned == 12 and res.written == 24 and per.planned == 24 and per.written == 24
    rows = ws._sql("""SELECT j.criterion, j.score, j.scale_max, j.score_norm, j.meta, r.text, i.reference
                      FROM judgments j JOIN responses r USING (response_id) JOIN items i ON i.item_id = j.item_id
                      WHERE j.run_id = ? ORDER BY j.judgment_id""", [res.run_id])
    assert set(rows["criterion"]) == {"accuracy", "clarity"}
    for r in rows.iter_rows(named=True):
        want = point_score(r["text"], 1, 10, r["reference"] is not None) - (r["criterion"] == "clarity")
        assert r["score"] == max(1, want)                             # the fake judge's rule, per criterion
    texts = ws._sql("SELECT meta FROM judgments WHERE run_id = ?", [per.run_id])["meta"].to_list()
    assert all(json.loads(m)["parsed_from"] == "text" for m in texts)   # JSON mode off: the strict text parser
    with FakeLLM() as llm:
        lp = ws.judge("dataset=arena_bench_v1&model=llama-13b", model="fake-lp", base_url=llm.base_url, api_key="k",
                      logprobs=True, limit=8, **FAST)
    metas = [json.loads(m) for m in ws._sql("SELECT meta, score FROM judgments WHERE run_id = ?", [lp.run_id])["meta"]]
    scored = [m for m in metas if "score_expected" in m]
    assert len(scored) == 8 and all(abs(sum(m["score_probs"].values()) - 1) < 1e-6 for m in scored)
    p = ws._sql("SELECT score, scale_min, scale_max FROM judgments WHERE run_id = ?", [prom.run_id])
    assert p.height == 5 and set(p["scale_max"]) == {5.0} and p["score"].is_between(1, 5).all()


def test_user_template_file_and_bad_templates(ws, tmp_path):
    good = tmp_path / "short.toml"
    good.write_text('name = "short"\nprotocol = "pointwise"\nscale = [0, 4]\nuser = """Q: {prompt}\n'
                    '[The Start of Answer]\n{response}\n[The End of Answer]\nGive an integer from 0 to 4. Rating: [[n]]"""\n')
    with FakeLLM() as llm:
        res = ws.judge("dataset=arena_bench_v1", model="fake", template=str(good), base_url=llm.base_url, api_key="k",
                       limit=4, json_mode="off", **FAST)
    got = ws._sql("SELECT template, scale_min, scale_max, parse_status FROM judgments WHERE run_id = ?", [res.run_id])
    assert set(got["template"]) == {"short"} and set(got["scale_max"]) == {4.0} and set(got["parse_status"]) == {"ok"}
    bad = tmp_path / "bad.toml"
    bad.write_text('protocol = "pointwise"\nuser = "{prompt} {response} {answer}"\n')
    with pytest.raises(UserError, match=r"bad.toml: unknown field\(s\) \{answer\}"):
        ws.judge("dataset=arena_bench_v1", model="fake", template=str(bad), limit=1)
    pair = tmp_path / "pair.toml"
    pair.write_text('protocol = "pairwise"\nuser = "{prompt} {response_a}"\n')
    with pytest.raises(UserError, match=r"must show \{response_a\}, \{response_b\}"):
        ws.judge("dataset=llmbar", model="fake", template=str(pair), limit=1)
    with pytest.raises(UserError, match="unknown template 'nope'"):
        ws.judge("dataset=llmbar", model="fake", template="nope")
    with pytest.raises(UserError, match="unknown judge option"):
        ws.judge("dataset=llmbar", model="fake", template="pairwise", concurency=3)


def test_probes_stored_linked_and_audited(ws):
    with FakeLLM() as llm:
        base = ws.judge(LLMBAR, model="fake-judge", template="pairwise", base_url=llm.base_url, api_key="k",
                        limit=60, **FAST)
        res = ws.probe(f"run={base.run_id}", model="fake-judge", probes="all", base_url=llm.base_url, api_key="k",
                       concurrency=8, **FAST)
        point = ws.probe("dataset=arena_bench_v1&model=llama-13b", model="fake-judge",
                         probes="verbosity,authority,one-token,swap", base_url=llm.base_url, api_key="k", limit=40, **FAST)
    assert res.stats.cached >= 120          # the baselines are the base run's own requests: no new call
    probes = ws._sql("""SELECT v.probe, count(*) AS n, count(p.judgment_id) AS linked
                        FROM judgments v LEFT JOIN judgments p ON p.judgment_id = v.parent_judgment_id
                        WHERE v.probe IS NOT NULL GROUP BY 1""")
    assert (probes["n"] == probes["linked"]).all()                   # every variant points at its baseline
    assert set(probes["probe"]) == {"swap", "verbosity", "authority", "bandwagon", "reflection", "one-token"}
    assert point.skipped == {"swap: pairwise only": 40}
    audit = ws.audit("judge=fake-judge")
    v = {r["metric"]: r for r in audit.iter_rows(named=True) if r["value"] is not None}
    # planted: fake citations and "most reviewers preferred" always win; the swap probe mirrors swap consistency
    assert v["probe_authority"]["value"] == 1.0 and v["probe_bandwagon"]["value"] == 1.0
    assert v["probe_swap"]["value"] == pytest.approx(1 - v["swap_consistency"]["value"], abs=0.05)
    assert v["probe_verbosity_shift"]["value"] > 0.1 and v["probe_authority_shift"]["value"] > 0.1
    refs = ws._sql("SELECT count(*) FILTER (WHERE reference IS NOT NULL) / count(*) AS share FROM items "
                   "WHERE item_id IN (SELECT item_id FROM judgments WHERE probe = 'one-token' AND protocol = 'pointwise')")
    assert v["probe_one_token_pass"]["value"] == pytest.approx(refs["share"][0], abs=1e-9)  # passes exactly with a reference
    for m in ("probe_authority", "probe_swap", "probe_verbosity_shift"):
        assert v[m]["ci_low"] <= v[m]["value"] <= v[m]["ci_high"] and v[m]["n"] > 0
    cols = set(ws.bias_heatmap("judge=fake-judge").data[0].x)
    assert {"probe_swap", "probe_verbosity", "probe_bandwagon", "probe_one_token_pass"} <= cols
    # the dashboard: probe columns on the Judges page, variants selectable from a link
    from .test_dashboard import app

    ws.close()
    mp = pytest.MonkeyPatch()
    try:
        at = app(mp, ws.path, page="judges", judge="fake-judge")
        heat = [c for c in at.get("plotly_chart") if "probe_swap" in c.proto.spec]
        assert heat, "the bias heatmap shows the probe columns"
        at = app(mp, ws.path, page="overview", judge="fake-judge", probe="authority")
        assert at.sidebar.multiselect(key="js_probe_widget").value == ["authority"]
        n_auth = ws._sql("SELECT count(*) AS n FROM judgments WHERE probe = 'authority'")["n"][0]
        assert at.get("metric")[0].value == f"{n_auth:,}"
    finally:
        mp.undo()
    # probe variants stay out of plain selections unless asked for
    n = ws._sql("SELECT count(*) FILTER (WHERE probe IS NULL) AS plain, count(*) FILTER (WHERE probe = 'swap') AS swap, "
                "count(*) AS total FROM judgments WHERE judge = 'fake-judge' AND protocol = 'pairwise'").row(0)
    assert ws.count("judge=fake-judge&protocol=pairwise") == n[0]
    assert ws.count("judge=fake-judge&protocol=pairwise&probe=swap") == n[1] > 0
    assert ws.count("judge=fake-judge&protocol=pairwise&probe=any") == n[2] > n[0]


def test_outputs_without_judgments_then_judged(tmp_path):
    """A user with model outputs and no critiques: import them, judge pointwise and against a baseline."""
    q = pl.read_ndjson(DEMO / "arena_bench_v1" / "question.jsonl").head(6)
    answers = (pl.read_parquet(DEMO / "arena_bench_v1" / "model_answer.parquet")
               .filter(pl.col("question_id").is_in(q["question_id"].to_list())
                       & pl.col("model_id").is_in(["gpt-4-0314", "Llama-2-70b-chat", "vicuna-33b-v1.3"])))
    rows = answers.join(q.select("question_id", pl.col("turns").list.first().alias("prompt")), on="question_id")
    rows.select("question_id", "prompt", pl.col("model_id").alias("model"), pl.col("answer").alias("response")) \
        .write_ndjson(tmp_path / "outputs.jsonl")
    ws = Workspace(tmp_path / "o.duckdb")
    res = ws.ingest(tmp_path / "outputs.jsonl")
    assert res.n_responses_new == rows.height == 18 and res.n_judgments_new == 0
    assert any("without judgments" in n for n in res.notes)
    with FakeLLM() as llm:
        point = ws.judge(None, model="fake", base_url=llm.base_url, api_key="k", **FAST)
        pair = ws.judge("model=Llama-2-70b-chat&model=vicuna-33b-v1.3", model="fake", template="pairwise",
                        baseline="gpt-4-0314", base_url=llm.base_url, api_key="k", **FAST)
    assert point.written == 18 and pair.written == 2 * 12          # 12 answers vs the baseline, both orders
    got = ws._sql("SELECT model_a, model_b, count(DISTINCT shown_first) AS orders FROM judgments "
                  "WHERE protocol = 'pairwise' GROUP BY ALL")
    assert set(got["model_a"]) == {"gpt-4-0314"} and set(got["orders"]) == {2}
    assert ws.audit("judge=fake").filter(pl.col("metric") == "swap_consistency")["n"][0] == 12
    with pytest.raises(UserError, match="no response by the baseline model 'nobody'"):
        ws.judge(None, model="fake", template="pairwise", baseline="nobody")


def test_judge_from_a_running_event_loop(ws):
    """Jupyter runs cells inside an event loop: ws.judge must work there too."""
    import asyncio

    async def cell():
        with FakeLLM() as llm:
            return ws.judge("dataset=arena_bench_v1&model=llama-13b", model="fake-nb", base_url=llm.base_url,
                            api_key="k", limit=5, **FAST)

    assert asyncio.run(cell()).written == 5
