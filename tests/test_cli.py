"""The judgescope command: output, exit codes (0 ok, 1 user error, 2 bug), JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import DEMO

EXE = str(Path(sys.executable).parent / "judgescope")


def run(*args, cwd=None):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_ingest_info_rejects_round_trip(tmp_path):
    ws = tmp_path / "w.duckdb"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question_id": "q1", "model": "m", "judge": "j", "score": 3}\n{"question_id": \n'
                   '{"question_id": "q3", "model": "m", "judge": "j", "score": 9}\n')
    r = run("ingest", bad, "--workspace", ws, "--scale", "1-5")
    assert r.returncode == 0, r.stderr
    assert "ingested 1, rejected 2" in r.stdout
    assert "bad.jsonl:2: invalid JSON" in r.stdout and "score 9 is outside the scale 1–5" in r.stdout
    assert "judgescope rejects --run" in r.stdout
    r = run("rejects", "--workspace", ws)
    assert r.returncode == 0 and r.stdout.count("bad.jsonl:") == 2
    r = run("info", "--workspace", ws, "--json")
    info = json.loads(r.stdout)
    assert info["counts"]["judgments"] == 1 and info["counts"]["rejects"] == 2
    r = run("-w", ws, "info", "--json")      # the workspace also before the command
    assert r.returncode == 0 and json.loads(r.stdout)["counts"] == info["counts"]
    assert {x["reason"] for x in info["rejects_by_reason"]} >= {"score 9 is outside the scale 1–5"}
    # the criteria table holds rubric definitions, and the summary line says so (it had read "criteria 0" above a
    # list of the criteria judged)
    r = run("-w", ws, "info")
    assert "rubric definitions 0" in r.stdout and "criteria 0" not in r.stdout


def test_ingest_real_llmbar_and_filter_export(tmp_path):
    ws = tmp_path / "w.duckdb"
    r = run("ingest", DEMO / "pandalm", "-w", ws)
    assert r.returncode == 0 and "ingested 2,997, rejected 0" in r.stdout
    r = run("ingest", DEMO / "pandalm", "-w", ws)
    assert "already imported" in r.stdout
    out = tmp_path / "x.parquet"
    r = run("judgments", "-w", ws, "--filter", "judge=PandaLM-7B&meta.motivation_app=Grammarly", "-o", out)
    assert r.returncode == 0, r.stderr
    import polars as pl

    frame = pl.read_parquet(out)
    assert frame.height > 0 and set(frame["judge"]) == {"PandaLM-7B"} and "warning" not in r.stderr
    # a name the workspace does not have selects nothing, and is said
    r = run("judgments", "-w", ws, "--filter", "model=gpt-3.5-turbo-rev9", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    assert "warning: no model 'gpt-3.5-turbo-rev9' in w.duckdb" in r.stderr
    # a reader that stops early (`| head -2`) is no error
    piped = subprocess.run(f"{EXE} judgments -w {ws} --json | head -c 300", shell=True, capture_output=True, text=True,
                           timeout=300)
    assert len(piped.stdout) == 300 and "error" not in piped.stderr, piped.stderr
    # scores: PandaLM is pairwise only; its win rates are the notebook's, and the table says there are no scores
    r = run("scores", "-w", ws, "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    from analysis import Workspace

    w = Workspace(ws, read_only=True)
    want = w.scores.win_rates().to_dicts()
    w.close()
    assert got["scores"] == [] and [x["model"] for x in got["win_rates"]] == [x["model"] for x in want]
    assert all(x["wins"] + x["ties"] + x["losses"] + x["no_verdict"] == x["comparisons"] for x in got["win_rates"])
    assert got["win_rates"][0]["win_rate"] == want[0]["win_rate"] > got["win_rates"][-1]["win_rate"]
    r = run("scores", "-w", ws, "--filter", "judge=PandaLM-7B")
    assert r.returncode == 0 and "no pointwise scores in the selection" in r.stdout
    assert "win rates" in r.stdout and want[0]["model"] in r.stdout
    out = tmp_path / "wins.csv"
    r = run("scores", "-w", ws, "--win-rates", "-o", out)
    assert r.returncode == 0 and pl.read_csv(out).height == len(want)
    r = run("scores", "-w", ws, "--by", "meta.nope")
    assert r.returncode == 1 and "cannot group by 'meta.nope'" in r.stderr


def test_user_errors_exit_1_with_one_line(tmp_path):
    cases = [
        ("ingest", tmp_path / "missing.jsonl", "-w", tmp_path / "w.duckdb"),
        ("info", "-w", tmp_path / "nope.duckdb"),
        ("judgments", "-w", tmp_path / "w.duckdb", "--filter", "bogus=1"),
        ("ingest", "--format", "nonsense", DEMO / "pandalm", "-w", tmp_path / "w.duckdb"),
        ("frobnicate",),
    ]
    for args in cases:
        r = run(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("judgescope: error: "), (args, r.stderr)
    # a first import that fails leaves no workspace behind (a new user's folder of model answers, no judge column,
    # had left an empty 800 KB file); one that fails on a workspace with data leaves it as it was
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"question_id": 1, "text": "hi", "model_id": "alpaca"}\n')
    fresh = tmp_path / "fresh.duckdb"
    r = run("ingest", answers, "-w", fresh)
    assert r.returncode == 1 and "no judge column" in r.stderr and not fresh.exists(), r.stderr
    assert not Path(str(fresh) + ".wal").exists()
    kept, scored = tmp_path / "kept.duckdb", tmp_path / "scored.csv"
    scored.write_text("prompt,model,response,judge,score\nq1,m1,an answer,J,4\nq2,m1,another,J,2\n")
    assert run("ingest", scored, "-w", kept, "--scale", "1-5").returncode == 0
    before = run("info", "-w", kept, "--json").stdout
    assert run("ingest", answers, "-w", kept).returncode == 1
    assert kept.exists() and run("info", "-w", kept, "--json").stdout == before


def test_demo_builds_from_shipped_data(tmp_path):
    r = run("demo", "--no-serve", "--no-issues", "-w", tmp_path / "demo.duckdb")
    assert r.returncode == 0, r.stderr
    assert "ready in" in r.stdout and "109,062 judgments" in r.stdout
    # a second run finds every source already imported
    r = run("demo", "--no-serve", "--no-issues", "-w", tmp_path / "demo.duckdb")
    assert r.stdout.count("already imported") == 4


def test_paths_that_cannot_be_read_or_written_are_one_line_errors(tmp_path, capsys):
    """Every path option, given a folder, a missing place, no permission or nothing: exit 1 and one line naming
    it, never a traceback (exit 2 is for bugs)."""
    from analysis.cli import main

    ws = tmp_path / "w.duckdb"
    # PandaLM's first 100 items: an empty path runs the command as if the option were not given (a discovery, a
    # report), and on a hundred items those take seconds
    small = tmp_path / "pandalm"
    small.mkdir()
    for f in (DEMO / "pandalm").glob("*.jsonl"):
        (small / f.name).write_text("".join(f.read_text(encoding="utf-8").splitlines(keepends=True)[:100]))
    assert main(["ingest", str(small), "-w", str(ws)]) == 0
    folder = tmp_path / "a folder"
    folder.mkdir()
    bad_paths = [str(folder), str(tmp_path / "missing" / "dir" / "x.md"), ""]
    if Path("/proc/1/mem").exists():
        bad_paths.append("/proc/1/mem")   # exists, cannot be read or written
    capsys.readouterr()
    for p in bad_paths:
        for args in (["report", "-w", str(ws), "-o", p], ["judgments", "-w", str(ws), "-o", p],
                     ["issues", "-w", str(ws), "--taxonomy", p], ["issues", "-w", str(ws), "--namer-lexicon", p],
                     ["info", "-w", p], ["ingest", p, "-w", str(tmp_path / "other.duckdb")],
                     ["judge", "-w", str(ws), "--model", "m", "--template", p, "--base-url", "http://127.0.0.1:9/v1"]):
            try:
                code = main(args)
            except SystemExit as exc:   # argparse refusing a value: its own usage line, exit 2
                code = exc.code
            err = capsys.readouterr().err
            assert "Traceback" not in err and "internal error" not in err, (args, err)
            if args[0] == "ingest" and p == "":   # not the current folder, which an unset variable would import
                assert code == 1 and "the path is empty" in err, (args, code, err)
            if code == 0:
                assert p == "", args   # an empty path is the option not given
            elif code != 2:
                assert code == 1 and len(err.strip().splitlines()) == 1, (args, code, err)


def test_verbose_says_what_it_does_on_stderr(tmp_path, capsys):
    """-v: each import batch, the audit's time, or where a kept audit was read, on stderr (stdout unchanged);
    without it, nothing."""
    from analysis.cli import main

    ws = str(tmp_path / "v.duckdb")
    assert main(["-v", "ingest", str(DEMO / "pandalm"), "-w", ws]) == 0
    out = capsys.readouterr()
    assert "judgescope: analysis.ingest: pandalm: batch of 999 source rows" in out.err
    assert "ingested 2,997" in out.out and "judgescope:" not in out.out
    assert main(["audit", "-w", ws, "--json"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and json.loads(quiet.out)
    assert main(["-v", "audit", "-w", ws, "--json"]) == 0
    loud = capsys.readouterr()
    assert "analysis.reliability.saved: audit read from" in loud.err and loud.out == quiet.out  # kept by the first
    assert main(["-v", "audit", "-w", ws, "--json", "--filter", "judge=gpt-3.5-turbo"]) == 0
    err = capsys.readouterr().err  # one judge of the kept whole audit: its rows are read, not computed again
    assert "audit of 'judge=gpt-3.5-turbo' from the kept audit of '': 1 judge(s) kept, 0 audited again" in err
    assert main(["-v", "audit", "-w", ws, "--json", "--filter", "label=disagree"]) == 0
    err = capsys.readouterr().err  # both judges' judgments change: both are audited again
    assert "analysis.reliability.audit: audit of 'label=disagree' from the kept audit of '': 0 judge(s) kept, 2" in err
