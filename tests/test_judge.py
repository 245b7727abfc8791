"""Running judges and probes against a local OpenAI-compatible server with injected faults (tests/fake_llm.py).
Real inputs: LLMBar pairs and arena-bench answers from data/demo; the judge's replies are the fake server's."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from base64 import b64encode, urlsafe_b64encode
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from analysis import Workspace
from analysis.cli import main as cli
from analysis.errors import UserError
from analysis.judge.client import Endpoint, FailureKind
from analysis.judge.parse import expected_score, parse_criteria, parse_score, parse_verdict
from analysis.judge.secrets import Scrubber

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm import ECHOES, FAULTS, TRANSIENT, FakeLLM, echo_text, fault_for, point_score  # noqa: E402

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
    # a reply written in parts keeps them all, under the headers the issue segmenter reads
    parts = parse_score('{"Strengths": "Clear.", "weaknesses": ["Too short.", " "], "score": 5}', (1, 10))
    assert (parts.score, parts.critique) == (5, "Strengths: Clear.\nWeaknesses:\n- Too short.")
    assert parse_verdict('{"explanation": "B errs.", "cons": "B is wrong.", "winner": "A"}').critique == (
        "B errs.\nWeaknesses: B is wrong."
    )
    # the keys a critique is read from are the importer's column names (sections.CRITIQUE), in its order
    assert parse_score('{"Rationale": "Off by one.", "score": 3}', (1, 10)).critique == "Off by one."
    assert parse_verdict('{"reasoning": "B is vague.", "feedback": "A wins.", "winner": "A"}').critique == "A wins."
    from analysis.ingest.mapping import GUESSES
    from analysis.sections import CRITIQUE

    assert GUESSES["critique"] == CRITIQUE
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
    rows = ws.sql("SELECT judgment_id, parse_status, raw_output, meta FROM judgments WHERE run_id = ?", [res.run_id])
    assert rows.height == planned - n_failed == res.written
    assert rows["judgment_id"].n_unique() == rows.height
    failures = ws.judge.failures(res.run_id)
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


def _settled(llm, quiet: float = 0.5, limit: float = 30.0) -> dict:
    """The server's count of requests once it has stopped changing for `quiet` seconds: on a busy machine requests a
    killed client had already sent may reach the server well after the kill, and a fixed wait would miss them."""
    last, since, deadline = llm.served(), time.time(), time.time() + limit
    while time.time() < deadline:
        time.sleep(0.05)
        now = llm.served()
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet:
            break
    return last


def _unplanned(llm, w, served) -> str:
    """What the server saw beyond the planned requests (a failure message): each request the workspace holds no
    stored call for, with its model and first words, so that a stray request (another test's, a changed prompt) can be
    told apart from a repeat."""
    planned = {fake_hash_of(r[0]) for r in w.con.execute("SELECT request FROM llm_calls").fetchall()}
    out = []
    for h in sorted(set(served) - planned):
        body = llm.bodies.get(h, {})
        text = " ".join(m.get("content") or "" for m in body.get("messages", []))
        out.append(f"{h % 10**8}: model={body.get('model')} served={served[h]} {text[:160]!r}")
    return f"{len(served)} distinct requests, {len(planned)} stored; not stored: " + "; ".join(out)


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
        first_run = _settled(llm)             # the server finishes what the dead client had sent it
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
    ids = w.sql("SELECT judgment_id FROM judgments WHERE judge = 'fake-judge'")["judgment_id"]
    assert ids.len() == 120 and ids.n_unique() == 120                # every request judged once
    assert len(served) == 120, _unplanned(llm, w, served)
    assert all(served[h] == 1 for h in persisted)                    # a completed (persisted) call is never repeated
    repeated = [h for h, n in served.items() if n > 1]
    assert len(repeated) <= 4                                        # at most the calls in flight at the kill
    assert set(repeated) <= set(first_run) - persisted


def test_readers_open_the_workspace_while_a_judge_run_waits_for_replies(ws):
    """A long judge run lets go of the file between commits: `judgescope info` in another process reads it while
    the run is going on, and the run still stores every reply."""
    path = ws.path
    ws.close()
    env = {**os.environ, "OPENAI_API_KEY": "k", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "analysis.cli", "judge", "-w", str(path), "--model", "fake-slow", "--template",
           "pairwise", "--filter", LLMBAR, "--limit", "12", "--concurrency", "2", "--quiet"]
    with FakeLLM(delay=0.4) as llm:    # a slow endpoint: ~12 s of waiting for replies
        proc = subprocess.Popen(cmd + ["--base-url", llm.base_url], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not llm.served() and time.time() < deadline:   # the run has begun
            time.sleep(0.05)
        reads = []
        while proc.poll() is None and len(reads) < 3:
            t = time.time()
            r = subprocess.run([sys.executable, "-m", "analysis.cli", "info", "-w", str(path), "--json"], env=env,
                               capture_output=True, text=True, timeout=120)
            reads.append((r.returncode, time.time() - t, r.stderr[-300:], proc.poll() is None))
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    during = [x for x in reads if x[3]]
    assert during and all(code == 0 for code, _, _, _ in during), reads   # read while the run was going on
    w = Workspace(path, read_only=True)
    assert w.count("judge=fake-slow") == 24 and len(llm.served()) == 24
    w.close()


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


# a key with characters that URL-encoding changes and whose base64 differs between the two alphabets
ECHO_KEY = "sk-proj-Zq8+vN/3xT=kW9~pL4_mR7.hJ2>?"


def _traces(key: str) -> dict[str, str]:
    """Per echo of ECHOES, the part of it that depends on the key: what differs from the same echo of
    another key (so "QmVhcmVy..." for base64 "Bearer " is left out)."""
    out = {}
    for name, enc in ECHOES.items():
        a, b = enc(key), enc("#" * len(key))
        head = len(os.path.commonprefix([a, b]))
        tail = len(os.path.commonprefix([a[head:][::-1], b[head:][::-1]]))
        out[name] = a[head:len(a) - tail]
    return out


def _leaks(blob: str, key: str = ECHO_KEY, step: int = 1) -> list[str]:
    """The echoes of which 8 consecutive key-dependent characters appear in `blob` (checked every `step`
    characters: step s still finds any run of 7 + s)."""
    return sorted({name for name, t in _traces(key).items() for i in range(0, len(t) - 7, step) if t[i:i + 8] in blob})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scrubber_takes_out_every_encoding():
    key = ECHO_KEY
    assert b64encode(key.encode()) != urlsafe_b64encode(key.encode()) and "%2B" in ECHOES["quote"](key)
    assert _leaks(echo_text(key)) == sorted(ECHOES)                  # the check sees every echo ...
    scrub = Scrubber(key)
    for name, enc in ECHOES.items():
        text = f"before {enc(key)} after"
        out = scrub(text)
        assert name in _leaks(text) and _leaks(out) == [], (name, out)  # ... and none is left
        assert out.startswith("before ") and out.endswith(" after") and "***" in out
    # base64 of part of the key, at each offset; the key split over lines
    for a in range(3):
        assert _leaks(scrub(b64encode(b"." * a + key[4:24].encode()).decode()), key) == []
    assert _leaks(scrub(key[:18] + "\n" + key[18:])) == []
    # ordinary text is left alone; placeholders shorter than 8 characters are no secret
    plain = "A key-value store. Bearer bonds. sk-learn. The answer is correct: Rating: [[7]]"
    assert scrub(plain) == plain and Scrubber("EMPTY")("EMPTY reply") == "EMPTY reply" and Scrubber(None)("x") == "x"
    # the endpoint: not in its repr, and a password in the URL is a secret too
    e = Endpoint("m", "http://user:pa55word-secret@127.0.0.1:9/v1", key)
    assert key not in repr(e) and "pa55word" not in e.scrub("refused: pa55word-secret, " + b64encode(b"user:pa55word-secret").decode())


def test_key_echoed_in_any_encoding_is_never_kept(ws, tmp_path, capsys, monkeypatch):
    """The server quotes the key back in every encoding (tests/fake_llm.py ECHOES) in error bodies and 200 replies:
    none of it reaches the workspace (tables and raw .duckdb / .wal bytes), the outputs or an export."""
    secret = ECHO_KEY
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    outputs = []

    def run(*args) -> int:
        code = cli(list(args))
        out = capsys.readouterr()
        outputs.extend([out.out, out.err])
        return code

    opts = ["--timeout", "2", "--max-tries", "2", "--quiet", "--json"]
    with FakeLLM(faults={"429", "500", "always_500", "400", "empty"}, echo=True) as llm:
        assert run("judge", "-w", str(ws.path), "--model", "fake-echo", "--template", "pairwise", "--filter", LLMBAR,
                   "--limit", "30", "--base-url", llm.base_url, *opts) == 0
        assert run("judge", "-w", str(ws.path), "--model", "fake-echo", "--filter", "dataset=arena_bench_v1&model=llama-13b",
                   "--criteria", "accuracy,clarity", "--json-mode", "off", "--limit", "6", "--base-url", llm.base_url,
                   "--logprobs", *opts) == 0
        assert f"Bearer {secret}" in llm.auth_headers
    with FakeLLM(reject_key=secret, echo=True) as bad:
        assert run("judge", "-w", str(ws.path), "--model", "other", "--filter", "dataset=arena_bench_v1",
                   "--limit", "3", "--base-url", bad.base_url, "--quiet") == 1
    assert "authentication failed (HTTP 401)" in outputs[-1]
    assert "refused_request" in json.loads(outputs[0])["errors"]
    # the echoes were there and were scrubbed where they landed
    failures = ws.judge.failures()
    refused = [e for e in failures["error"] if e.startswith("HTTP 400 ")]
    assert refused and all("invalid request [exact: ***; first 20: ***" in e for e in refused)
    got = ws.sql("SELECT critique, raw_output FROM judgments WHERE judge = 'fake-echo'")
    assert got.height > 0 and all("[exact: ***; first 20: ***; last 10: ***" in r for r in got["raw_output"] if r)
    assert any("base64 inside at 2: " in (c or "") for c in got["critique"])
    assert run("judgments", "-w", str(ws.path), "--filter", "judge=fake-echo", "-o", str(tmp_path / "j.csv")) == 0
    tables = [str(v) for q in ("FROM llm_calls", "FROM llm_failures", "FROM runs WHERE source_format = 'judge'",
                               "FROM judgments WHERE judge = 'fake-echo'")
              for row in ws.con.execute(f"SELECT * {q}").fetchall() for v in row]
    export = (tmp_path / "j.csv").read_text()
    assert _leaks("\n".join(tables + outputs + [export])) == [] and "***" in export
    # the raw bytes, with the .wal before it is checkpointed: the key and one run of every echo (56 MB: kept short)
    needles = [secret.encode()] + [t[len(t) // 2 - 4:][:8].encode() for t in _traces(secret).values()]
    raw = [p.read_bytes() for p in tmp_path.glob("*.wal")]
    ws.close()
    raw += [p.read_bytes() for p in tmp_path.glob("ws.duckdb*")]
    assert raw and not [n for b in raw for n in needles if n in b]


def test_failure_kinds_are_typed(ws):
    with FakeLLM(faults={"400", "always_500"}) as llm:
        res = ws.judge(LLMBAR, model="fake-kinds", template="pairwise", base_url=llm.base_url, api_key="k", limit=80,
                       **FAST)
    assert set(res.stats.errors) == {FailureKind.REFUSED_REQUEST, FailureKind.HTTP_STATUS}
    assert sum(res.stats.errors.values()) == res.stats.failed == len(llm.served("400")) + len(llm.served("always_500"))
    failures = ws.judge.failures(res.run_id)
    by_text = {e[:8]: set(failures.filter(pl.col("error") == e)["attempts"]) for e in failures["error"]}
    assert by_text == {"HTTP 400": {1}, "HTTP 500": {3}}               # a refused request is not retried
    res = ws.judge("dataset=arena_bench_v1&model=llama-13b", model="fake-kinds", api_key="k", limit=3,
                   base_url=f"http://127.0.0.1:{_closed_port()}/v1", **FAST)
    assert res.stats.errors == {FailureKind.CONNECTION: 3} and res.summary()["errors"] == {"connection": 3}
    assert all(e.startswith("connection error: ") for e in ws.judge.failures(res.run_id)["error"])


def test_hostile_replies_are_capped_and_marked_not_fatal(ws):
    """Replies too large are cut to max_reply_chars; token counts that are no numbers are recorded as invalid."""
    with FakeLLM(faults={"hostile_usage", "huge"}) as llm:
        res = ws.judge(LLMBAR, model="fake-hostile", template="pairwise", base_url=llm.base_url, api_key="k",
                       limit=15, max_reply_chars=5000, **FAST)
    assert res.stats.failed == 0 and res.stats.succeeded == 30
    replies = [json.loads(r) for r in ws.q.frame("SELECT response FROM llm_calls")["response"]]
    cut = [r for r in replies if "cut_from_chars" in r]
    bad = [r for r in replies if r.get("usage_invalid")]
    assert cut and all(len(r["content"]) == 5000 and r["cut_from_chars"] > 300_000 for r in cut)
    assert bad and all(r["tokens_in"] == 0 and r["tokens_out"] == 0 for r in bad)
    assert len(bad) + len(cut) < len(replies)       # the others are whole, with their counts


def test_a_run_stops_itself_when_most_requests_fail_and_resumes(ws, capsys):
    with FakeLLM(faults={"always_500", "400"}) as llm:
        # a third of the requests fail: under the default share the run goes on
        res = ws.judge(LLMBAR, model="fake-share", template="pairwise", base_url=llm.base_url, api_key="k", limit=40,
                       **FAST)
        assert res.stats.failed > 0 and res.stats.stopped is None
        code = cli(["judge", "-w", str(ws.path), "--model", "fake-share2", "--template", "pairwise", "--filter", LLMBAR,
                    "--limit", "40", "--base-url", llm.base_url, "--max-failure-share", "0.1", "--timeout", "0.5",
                    "--backoff", "0.01", "--max-tries", "2", "--concurrency", "2", "--quiet"])
        err = capsys.readouterr().err
        assert code == 1 and "requests failed (more than 10%" in err and "run the same command again" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


BAD_OPTIONS = [  # CLI flags, the same as Python keywords, the message
    (["--concurrency", "-1"], {"concurrency": -1}, "concurrency must be at least 1 (got -1)"),
    (["--samples", "0"], {"samples": 0}, "samples must be between 1 and 1000 (got 0)"),
    (["--max-tries", "0"], {"max_tries": 0}, "max_tries must be at least 1 (got 0)"),
    (["--limit", "-5"], {"limit": -5}, "limit must be between 1 and 1000000000 (got -5)"),
    (["--limit", "0"], {"limit": 0}, "limit must be between 1 and 1000000000 (got 0)"),
    (["--limit", str(10**30)], {"limit": 10**30}, f"limit must be between 1 and 1000000000 (got {10**30})"),
    (["--timeout", "-1"], {"timeout": -1}, "timeout must be greater than 0 (got -1)"),
    (["--timeout", "nan"], {"timeout": float("nan")}, "timeout must be a finite number (got nan)"),
    (["--budget", "-1"], {"budget": -1}, "budget must be at least 0 (got -1)"),
    (["--price-in", "-0.5"], {"price_in": -0.5}, "price_in must be at least 0 (got -0.5)"),
    (["--price-out", "-2"], {"price_out": -2}, "price_out must be at least 0 (got -2)"),
    (["--max-tokens", "0"], {"max_tokens": 0}, "max_tokens must be at least 1 (got 0)"),
    (["--temperature", "-0.1"], {"temperature": -0.1}, "temperature must be at least 0 (got -0.1)"),
    (None, {"backoff": -1}, "backoff must be at least 0 (got -1)"),
    (["--max-reply-chars", "0"], {"max_reply_chars": 0}, "max_reply_chars must be at least 1 (got 0)"),
    (["--max-failure-share", "1.5"], {"max_failure_share": 1.5}, "max_failure_share must be between 0 and 1 (got 1.5)"),
    (None, {"top_logprobs": 21}, "top_logprobs must be between 0 and 20 (got 21)"),
    (None, {"json_mode": "maybe"}, "json_mode must be one of auto, on, off (got 'maybe')"),
    (None, {"concurrency": "8"}, "concurrency must be an integer (got '8')"),
    (None, {"pairs": "some"}, "pairs must be one of auto, existing, baseline, all (got 'some')"),
]


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    path = tmp_path / "empty.duckdb"
    ws = Workspace(path)                     # options are checked before anything is selected
    for _, kwargs, message in BAD_OPTIONS:
        calls = [ws.judge] if {"samples", "pairs"} & set(kwargs) else [ws.judge, ws.judge.probe]
        for call in calls:
            with pytest.raises(UserError) as err:
                call(None, model="m", **kwargs)
            assert str(err.value) == message
    ws.close()
    r = subprocess.run([sys.executable, "-m", "analysis.cli", "judge", "-w", str(path), "--model", "m", "--concurrency", "-1"],
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.splitlines() == ["judgescope: error: concurrency must be at least 1 (got -1)"]
    for flags, _, message in BAD_OPTIONS:
        for command in ([] if flags is None else ["judge"] if flags[0] == "--samples" else ["judge", "probe"]):
            assert cli([command, "-w", str(path), "--model", "m", *flags]) == 1, flags
            assert capsys.readouterr().err.splitlines() == [f"judgescope: error: {message}"]


def test_embedding_endpoint_errors_are_one_line(ws, capsys, monkeypatch):
    """`--embedding-model openai:<model>` against a closed port, then an endpoint that refuses (and echoes) the key."""
    monkeypatch.setenv("OPENAI_API_KEY", ECHO_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")
    args = ["issues", "-w", str(ws.path), "--filter", "dataset=arena_bench_v1&model=llama-13b",
            "--embedding-model", "openai:emb"]
    assert cli(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("judgescope: error: embedding model openai:emb at http://127.0.0.1:")
    assert "APIConnectionError" in err[0]
    with FakeLLM(reject_key=ECHO_KEY, echo=True) as bad:
        monkeypatch.setenv("OPENAI_BASE_URL", bad.base_url)
        assert cli(args) == 1
    out = capsys.readouterr()
    err = out.err.splitlines()
    assert len(err) == 1 and "AuthenticationError" in err[0] and "Incorrect API key provided: ***" in err[0]
    assert _leaks(out.out + out.err) == []


_DISGUISES = {   # how a hostile server can hide the key in a reply
    "plain": lambda k: k,
    "reversed": lambda k: k[::-1],
    "upper": lambda k: k.upper(),
    "lower": lambda k: k.lower(),
    "base32": lambda k: __import__("base64").b32encode(k.encode()).decode(),
    "base32 lower, inside": lambda k: __import__("base64").b32encode(b"key=" + k.encode()).decode().lower(),
    "html decimal": lambda k: "".join(f"&#{ord(c)};" for c in k),
    "html hex": lambda k: "".join(f"&#x{ord(c):x};" for c in k),
    "\\u escapes": lambda k: "".join(f"\\u{ord(c):04x}" for c in k),
}


@given(key=hst.text(alphabet=hst.characters(min_codepoint=33, max_codepoint=126), min_size=20, max_size=60),
       disguise=hst.sampled_from(sorted(_DISGUISES)), chunk=hst.integers(1, 7),
       sep=hst.sampled_from(["", " ", "\n", ", ", "' '", '" "', "\u200b", " | "]),
       before=hst.text(max_size=40), after=hst.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_a_disguised_echo_is_always_scrubbed(key, disguise, chunk, sep, before, after):
    """Property: whatever the key, however it is disguised and cut into chunks, the scrubbed reply holds no
    8 consecutive characters of it in any form (read plainly or through the disguises), and text without the key
    comes back unchanged."""
    scrub = Scrubber(key)
    shown = _DISGUISES[disguise](key)
    text = before + sep.join(shown[i:i + chunk] for i in range(0, len(shown), chunk)) + after
    clean = scrub(text)
    assert scrub.leaks(text) and not scrub.leaks(clean)
    assert key not in clean and key[::-1] not in clean
    assert scrub(before) == before or scrub.leaks(before)


def test_a_key_spelled_over_logprob_tokens_is_not_kept(ws, monkeypatch):
    """The reply text is clean, the logprob tokens (and, reversed, their alternatives) spell the key 3 characters
    at a time: the logprobs are dropped, the score still parsed from the text."""
    monkeypatch.setenv("OPENAI_API_KEY", ECHO_KEY)
    with FakeLLM(echo_tokens=True) as llm:
        res = ws.judge("dataset=arena_bench_v1&model=llama-13b", model="fake-lpecho", base_url=llm.base_url,
                       logprobs=True, limit=4, **FAST)
    assert res.written == 4
    calls = ws.sql("SELECT response FROM llm_calls WHERE model = 'fake-lpecho'")["response"].to_list()
    assert len(calls) == 4 and _leaks("\n".join(calls)) == []
    assert all(json.loads(c).get("logprobs") is None for c in calls)
    # the tokens are gone with the logprobs: no 3-character piece of the key's middle survives as a token
    assert not any(json.dumps(ECHO_KEY[9:12]) in c for c in calls)
    scores = ws.sql("SELECT score FROM judgments WHERE run_id = ?", [res.run_id])["score"]
    assert scores.is_not_null().all()


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
    rows = ws.sql("""SELECT j.criterion, j.score, j.scale_max, j.score_norm, j.meta, r.text, i.reference
                      FROM judgments j JOIN responses r USING (response_id) JOIN items i ON i.item_id = j.item_id
                      WHERE j.run_id = ? ORDER BY j.judgment_id""", [res.run_id])
    assert set(rows["criterion"]) == {"accuracy", "clarity"}
    for r in rows.iter_rows(named=True):
        want = point_score(r["text"], 1, 10, r["reference"] is not None) - (r["criterion"] == "clarity")
        assert r["score"] == max(1, want)                             # the fake judge's rule, per criterion
    texts = ws.sql("SELECT meta FROM judgments WHERE run_id = ?", [per.run_id])["meta"].to_list()
    assert all(json.loads(m)["parsed_from"] == "text" for m in texts)   # JSON mode off: the strict text parser
    with FakeLLM() as llm:
        lp = ws.judge("dataset=arena_bench_v1&model=llama-13b", model="fake-lp", base_url=llm.base_url, api_key="k",
                      logprobs=True, limit=8, **FAST)
    metas = [json.loads(m) for m in ws.sql("SELECT meta, score FROM judgments WHERE run_id = ?", [lp.run_id])["meta"]]
    scored = [m for m in metas if "score_expected" in m]
    assert len(scored) == 8 and all(abs(sum(m["score_probs"].values()) - 1) < 1e-6 for m in scored)
    p = ws.sql("SELECT score, scale_min, scale_max FROM judgments WHERE run_id = ?", [prom.run_id])
    assert p.height == 5 and set(p["scale_max"]) == {5.0} and p["score"].is_between(1, 5).all()


def test_user_template_file_and_bad_templates(ws, tmp_path):
    good = tmp_path / "short.toml"
    good.write_text('name = "short"\nprotocol = "pointwise"\nscale = [0, 4]\nuser = """Q: {prompt}\n'
                    '[The Start of Answer]\n{response}\n[The End of Answer]\nGive an integer from 0 to 4. Rating: [[n]]"""\n')
    with FakeLLM() as llm:
        res = ws.judge("dataset=arena_bench_v1", model="fake", template=str(good), base_url=llm.base_url, api_key="k",
                       limit=4, json_mode="off", **FAST)
    got = ws.sql("SELECT template, scale_min, scale_max, parse_status FROM judgments WHERE run_id = ?", [res.run_id])
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
        res = ws.judge.probe(f"run={base.run_id}", model="fake-judge", probes="all", base_url=llm.base_url, api_key="k",
                       concurrency=8, **FAST)
        point = ws.judge.probe("dataset=arena_bench_v1&model=llama-13b", model="fake-judge",
                         probes="verbosity,authority,one-token,swap", base_url=llm.base_url, api_key="k", limit=40, **FAST)
    assert res.stats.cached >= 120          # the baselines are the base run's own requests: no new call
    probes = ws.sql("""SELECT v.probe, count(*) AS n, count(p.judgment_id) AS linked
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
    refs = ws.sql("SELECT count(*) FILTER (WHERE reference IS NOT NULL) / count(*) AS share FROM items "
                   "WHERE item_id IN (SELECT item_id FROM judgments WHERE probe = 'one-token' AND protocol = 'pointwise')")
    assert v["probe_one_token_pass"]["value"] == pytest.approx(refs["share"][0], abs=1e-9)  # passes exactly with a reference
    for m in ("probe_authority", "probe_swap", "probe_verbosity_shift"):
        assert v[m]["ci_low"] <= v[m]["value"] <= v[m]["ci_high"] and v[m]["n"] > 0
    cols = set(ws.audit.bias_heatmap("judge=fake-judge").data[0].x)
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
        assert at.sidebar.multiselect(key="w_probe").value == ["authority"]
        n_auth = ws.sql("SELECT count(*) AS n FROM judgments WHERE probe = 'authority'")["n"][0]
        assert at.get("metric")[0].value == f"{n_auth:,}"
    finally:
        mp.undo()
    # probe variants stay out of plain selections unless asked for
    n = ws.sql("SELECT count(*) FILTER (WHERE probe IS NULL) AS plain, count(*) FILTER (WHERE probe = 'swap') AS swap, "
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
    got = ws.sql("SELECT model_a, model_b, count(DISTINCT shown_first) AS orders FROM judgments "
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
