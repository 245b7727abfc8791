"""Every benchmark runs at this commit: `python benchmarks/<name>.py --smoke -o FILE` (the same code on small
inputs, in a temporary folder) exits 0, writes the keys a reader of its results uses, names the commit it was
made at (machine.git_commit), and leaves benchmarks/results/ and benchmarks/work/ as they were."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from . import chromium

pytestmark = pytest.mark.bench  # `make bench-smoke`, not `make test` (CI runs both)

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()}


def smoke(name: str, tmp_path: Path, timeout: int = 180) -> dict:
    """Run one benchmark's smoke mode; its results as a dict (checked for what every result must have)."""
    out = tmp_path / "x.json"
    before = _files(BENCH / "results"), _files(BENCH / "work") if (BENCH / "work").exists() else {}
    r = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--smoke", "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    after = _files(BENCH / "results"), _files(BENCH / "work") if (BENCH / "work").exists() else {}
    assert after == before, "a smoke run wrote into benchmarks/results/ or benchmarks/work/"
    return json.loads(out.read_text())


def has_commit(machine: dict) -> None:
    """The result names a commit of this repository."""
    commit = machine["git_commit"]
    assert re.fullmatch(r"[0-9a-f]{7,40}", commit), machine
    r = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True)
    assert r.returncode == 0, commit


def test_audit(tmp_path):
    r = smoke("audit", tmp_path)
    has_commit(r["machine"])
    assert r["smoke"] and r["items"] == 300 and r["judgments"] > 0
    for key in ("ingest_seconds", "audit_seconds", "heatmap_seconds", "metric_rows", "computed", "peak_rss_mb"):
        assert r[key] >= 0, key
    assert "first-slot-judge p_first_shown_wins" in r["found"], r["found"]


def test_ingest(tmp_path):
    r = smoke("ingest", tmp_path)
    has_commit(r["machine"])
    assert r["rows"] == 300 and r["demo_build_seconds"] > 0
    for profile in ("critiques_and_responses", "critiques_only"):
        p = r["profiles"][profile]
        assert p["jsonl_vs_parquet_time_ratio"] > 0 and p["avg_critique_chars"] > 0
        for source in ("parquet", "jsonl"):
            res = p["results"][source]
            assert res["ingested"] == 300 and res["rejected"] == 0, res
            assert res["rows_per_second"] > 0 and res["peak_rss_mb"] > 0 and res["workspace_mb"] >= 0


def test_judge(tmp_path):
    r = smoke("judge", tmp_path)
    has_commit(r["machine"])
    (level,) = r["levels"]
    assert level["concurrency"] == 8 and level["requests"] == 20
    for key in (
        "wall_seconds",
        "requests_per_s",
        "calls_per_s",
        "bare_openai_seconds",
        "overhead_ms_per_call",
        "cache_hit_seconds",
        "cache_hit_ms_per_request",
    ):
        assert key in level, key


@pytest.mark.browser
def test_dashboard_speed(tmp_path):
    chromium.require()
    r = smoke("dashboard_speed", tmp_path)
    has_commit(r["machine"])
    assert r["benchmark"] == "dashboard" and r["judgments"] > 0 and r["audit_seconds_uncached"] >= 0
    assert len(r["query_median_ms"]) == 12 and "overview: win rates" in r["query_median_ms"] and all(v >= 0 for v in r["query_median_ms"].values())
    assert set(r["page_drawn_seconds"]) == {"overview", "instances"}
    for times in r["page_drawn_seconds"].values():
        assert set(times) == {"first", "warm", "filtered", "other_selection", "model_selection"}
        assert all(v > 0 for v in times.values())
    assert set(r["bare_streamlit_page_seconds"]) == {"first", "warm"}  # the bare equivalent, for the ratios
    assert all(v > 0 for v in r["bare_streamlit_page_seconds"].values())
    assert set(r["ratio_to_bare"]) == set(r["page_drawn_seconds"])


def test_issue_quality(tmp_path):
    r = smoke("issue_quality", tmp_path)
    (run,) = r["runs"].values()
    has_commit(run["machine"])
    assert run["smoke"] and run["commit"] and set(run["sets"]) == {"pandalm"}
    res = run["sets"]["pandalm"]
    assert res["n_issues"] > 0 and "second_reader" in res
    for half in ("tune", "test"):
        for key in ("purity", "best_match_f1", "best_match_f1_with_categories", "coverage", "false_alarm"):
            assert res[half][key] is not None, (half, key)


def test_strength_names(tmp_path):
    r = smoke("strength_names", tmp_path)
    has_commit(r["machine"])
    runs = r["runs"]
    assert r["smoke"] and "smoke" in runs and len(runs) >= 4    # the recorded runs, and the smoke run's draw
    mine = runs["smoke"]
    assert mine["drawn"] == 20 and set(mine["by_set"]) == {"pandalm"} and 0 <= mine["read"] <= 20
    for run in runs.values():
        assert run["read"] == 0 or (0 <= run["name_fits"] <= 1 and 0 <= run["failure_only"] <= 1), run


@pytest.mark.slow
def test_issues(tmp_path):
    r = smoke("issues", tmp_path)
    has_commit(r["machine"])
    assert set(r["datasets"]) == {"arena", "pandalm"}
    for d in r["datasets"].values():
        assert d["top"] and d["stats"]["timings"] and d["seconds_in_process"] > 0
        assert {"issue_id", "label", "lift", "lift_ci", "prevalence", "severity"} <= set(d["top"][0])
    assert "prevalence_llama-13b" in r["datasets"]["arena"]["top"][0]
    bars = r["arena_bars"]
    assert {"top15_meeting_bar", "seed0_vs_seed1_top10_best_match_jaccard", "judgments_with_an_issue"} <= set(bars)
    assert r["fresh_process_issues_arena_seconds"]["median"] > 0 and r["demo_discovery_seconds"] > 0
    assert len(r["reproducibility"]["runs"]) == 3 and r["reproducibility"]["identical"], r["reproducibility"]


@pytest.mark.slow
def test_issues_scale(tmp_path):
    r = smoke("issues_scale", tmp_path)
    has_commit(r["machine"])
    assert r["data"]["judgments"] == 600 and r["problem_segments"] > 0 and r["issues"] > 0
    assert r["embedded_in_timed_run"] == 0  # the timed run finds every vector in the cache
    assert r["wall_seconds"] > 0 and r["meets_aim"] and {"embed", "reduce", "cluster"} <= set(r["timings"])
    assert 0 <= r["top15_meeting_bar"] <= 15 and r["top5_titles"]


@pytest.mark.slow
def test_embedders(tmp_path):
    r = smoke("embedders", tmp_path)
    has_commit(r["machine"])
    assert r["commit"] and r["default"] and r["accurate"]
    assert r["throughput"]["sample"] == 200 and r["throughput"]["static_over_bare"] > 0
    sets = r["quality"]["sets"]
    assert set(sets) == {"pandalm"} and set(sets["pandalm"]) == {r["accurate"], r["default"]}
    assert "largest_loss_on_held_out_halves" in r["quality"]
    cold = r["cold_issues"]["copies=2"]
    assert cold["judgments"] == 600 and cold["wall_seconds"] > 0 and cold["unique_texts_embedded"] > 0
    assert cold["bare_minilm_over_cold_run"] > 0 and cold["peak_rss_gb"] > 0


@pytest.mark.slow
def test_bertopic_compare_judgescope_side(tmp_path):
    """BERTopic's own environment is not installed here: the smoke run is judgescope's side of the comparison,
    and it reads the pipeline's stage timings under the names they have now (it stops when one is missing)."""
    from analysis.issues.pipeline import _Timer

    r = smoke("bertopic_compare", tmp_path)
    has_commit(r["machine"])
    assert "judgescope's side only" in r["smoke"] and r["bertopic_version"] is None
    assert r["segments"] > 0 and r["items"] > 0
    ours = r["judgescope"]
    assert {"reduce", "cluster", "label"} <= set(ours["stage_seconds"]) <= set(_Timer.STEPS)
    assert ours["topics"] > 0 and ours["comparable_seconds"] >= 0 and ours["whole_discover_seconds"] > 0
