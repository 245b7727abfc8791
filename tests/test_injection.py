"""No value from data, links or options reaches SQL as text: hostile and random metadata keys and values go
through the notebook API, the CLI and the dashboard (AppTest), and every call gives a result or a one-line
UserError: never a traceback, a raw DuckDB message, or a local file's contents.

The workspace is SYNTHETIC on purpose (a known answer): its metadata keys are SQL written to break out of an
identifier or a JSON path and read /etc/hostname."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import Filter, UserError, Workspace

from .conftest import ROOT

SECRET = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "no-such-host-name"
HOSTILE_KEYS = [
    'leak", (SELECT content FROM read_text(\'/etc/hostname\')) AS "pwned',
    "a\\", 'a\\"b', "x'); SELECT * FROM read_text('/etc/hostname'); --", "$.", "*", "a.b", "a=1", "ü", "a\nb",
]
RAW_DUCKDB = ("Binder Error", "Parser Error", "Catalog Error", "Conversion Error", "Invalid Input Error",
              "INTERNAL Error", "Traceback")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("inject")
    rows = []
    for i in range(60):
        row = {"item_id": f"q{i // 3}", "judge": "j", "model": f"m{i % 3}", "score": 1 + i % 5,
               "critique": ("The answer is wrong because the calculation is incorrect. " if i % 5 < 2 else
                            "The answer is clear and correct. ") + "It explains the steps."}
        for k, key in enumerate(HOSTILE_KEYS):
            row[key] = f"v{(i + k) % 3}"
        rows.append(row)
    src = d / "hostile.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    ws = Workspace(d / "ws.duckdb")
    ws.ingest(src, mapping={"scale": [1, 5]})
    iset = ws.issues.discover(seed=0, per_cluster=5)
    return ws, iset


def _clean(text: str) -> None:
    assert SECRET not in text, "a file's contents reached the output"
    assert not any(m in text for m in RAW_DUCKDB), text


def test_every_hostile_key_is_a_plain_name(hostile):
    ws, iset = hostile
    keys = ws.meta_keys()
    assert set(HOSTILE_KEYS) <= set(keys)
    for key in HOSTILE_KEYS:
        stats = ws.scores.stats("meta." + key)
        assert stats.columns[0] == "meta." + key and set(stats[stats.columns[0]]) <= {"v0", "v1", "v2"}
        assert "pwned" not in stats.columns
        prev = iset.prevalence("meta." + key)
        assert "pwned" not in prev.columns
        assert prev.height == 0 or set(prev["meta." + key]) <= {"v0", "v1", "v2"}
        assert ws.count(Filter.make(meta={key: "v1"})) == 20
        table = ws.scores.distribution_table("meta." + key)
        _clean(table.write_csv())
        _clean(ws.report("csv", by="meta." + key))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(min_size=0, max_size=30), value=st.text(max_size=20))
def test_random_keys_and_values_give_results_or_one_line_errors(hostile, key, value):
    ws, iset = hostile
    for call in (lambda: ws.count(Filter.make(meta={key: value})) if key else 0,
                 lambda: ws.scores.stats("meta." + key),
                 lambda: iset.prevalence("meta." + key),
                 lambda: ws.issues.compare("m0", "m1", by="meta." + key, issue_set=iset.id),
                 lambda: ws.judgments(Filter.parse(f"meta.{key}={value}", strict=False)[0], limit=3),
                 lambda: ws.values(key)):
        try:
            out = call()
        except UserError as exc:
            assert "\n" not in str(exc)
            _clean(str(exc))
            continue
        _clean(str(out))


def test_cli_by_and_filters_from_hostile_input(hostile):
    ws, _ = hostile
    from analysis import store

    store.close(ws.path)
    exe = str(Path(sys.executable).parent / "judgescope")
    for args in (["report", "--format", "csv", "--by", "meta." + HOSTILE_KEYS[0]],
                 ["report", "--format", "md", "--by", "meta.nope\"); DROP TABLE judgments; --"],
                 ["judgments", "--filter", "meta.a%5C=1", "--limit", "5"],
                 ["judgments", "--filter", "meta.a\\=1"],
                 ["judgments", "--limit", "-3"],
                 ["judgments", "--filter", "score_min=abc"],
                 ["issues", "--show", "'; DROP TABLE issues; --"]):
        r = subprocess.run([exe, *args, "-w", str(ws.path)], capture_output=True, text=True, timeout=120)
        assert r.returncode in (0, 1), (args, r.returncode, r.stderr[-2000:])
        if r.returncode == 1:
            assert r.stderr.count("\n") == 1, r.stderr
        _clean(r.stdout + r.stderr)
    assert Workspace(ws.path, read_only=True).count() == 60          # nothing was dropped


def test_dashboard_links_with_hostile_keys(hostile, monkeypatch):
    from streamlit.testing.v1 import AppTest

    ws, iset = hostile
    from analysis import store

    store.close(ws.path)
    monkeypatch.setenv("JUDGESCOPE_WORKSPACE", str(ws.path))
    for page in ("overview", "issues", "instances"):
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
        at.query_params["page"] = page
        at.query_params["meta." + HOSTILE_KEYS[0]] = "v1"
        at.query_params["meta.a\\"] = "1"
        at.query_params["issue_set"] = "x' OR '1'='1"
        at.run()
        assert not at.exception, at.exception
        shown = " ".join(str(e.value) for e in at.markdown) + " ".join(str(e.value) for e in at.caption)
        _clean(shown)
