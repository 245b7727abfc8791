"""Bad input: every row is ingested or rejected with file, line, column and reason; a failed import
leaves the store as it was."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from analysis import UserError, Workspace
from analysis.ingest import writer

GOOD = {"question_id": "q1", "model": "m1", "judge": "j1", "response": "answer", "score": 4, "critique": "fine"}


def jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def row(i, **kw):
    return {**GOOD, "question_id": f"q{i}", **kw}


def snapshot(ws: Workspace) -> dict:
    return ws._counts()


def test_truncated_line_and_wrong_types(tmp_path, ws):
    path = jsonl(tmp_path / "a.jsonl", [
        row(1), '{"question_id": "q2", "model": "m1", "judge": "j1", "sco', row(3, score="abc"), row(4), "[1, 2]",
    ])
    result = ws.ingest(path, mapping={"scale": "1-5"})
    assert (result.n_source_rows, result.n_ingested, result.n_rejected) == (5, 2, 3)
    rej = {r["line"]: r for r in ws.rejects().to_dicts()}
    assert rej[2]["reason"].startswith("invalid JSON at column ")
    assert rej[3]["column"] == "score" and rej[3]["reason"] == "score 'abc' is not a number"
    assert rej[5]["reason"] == "expected a JSON object, got list"
    assert all(r["source"] == str(path) for r in rej.values())


def test_nan_inf_and_out_of_scale_scores(tmp_path, ws):
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join([
        json.dumps(row(1)), json.dumps(row(2, score=float("nan"))), json.dumps(row(3, score=float("inf"))),
        json.dumps(row(4, score=12)), json.dumps(row(5, score=0)), json.dumps(row(6, score=5)),
    ]) + "\n")
    result = ws.ingest(path, mapping={"scale": "1-5"})
    assert (result.n_ingested, result.n_rejected) == (2, 4)
    reasons = {r["line"]: r["reason"] for r in ws.rejects().to_dicts()}
    assert reasons == {2: "score is NaN", 3: "score is inf", 4: "score 12 is outside the scale 1–5",
                       5: "score 0 is outside the scale 1–5"}
    scores = sorted(ws.judgments()["score_norm"].to_list())
    assert scores == [0.75, 1.0]


def test_missing_required_column_is_one_line_error_and_store_unchanged(tmp_path, ws):
    ws.ingest(jsonl(tmp_path / "ok.jsonl", [row(1)]))
    before = snapshot(ws)
    path = jsonl(tmp_path / "nojudge.jsonl", [{"question_id": "q", "model": "m", "score": 3}])
    with pytest.raises(UserError) as err:
        ws.ingest(path)
    assert "no judge column" in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UserError, match="column 'rating' mapped to score is not in the file"):
        ws.ingest(jsonl(tmp_path / "x.jsonl", [row(1)]), mapping={"columns": {"score": "rating"}})
    assert snapshot(ws) == before


def test_empty_file(tmp_path, ws):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(UserError, match="is empty"):
        ws.ingest(tmp_path / "empty.jsonl")
    (tmp_path / "blank.csv").write_text("question_id,model,judge,score\n")
    with pytest.raises(UserError, match="no rows to ingest"):
        ws.ingest(tmp_path / "blank.csv")
    assert snapshot(ws)["judgments"] == 0


def test_binary_garbage(tmp_path, ws):
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(os.urandom(4096) + b"\x00" * 16)
    result = ws.ingest(path)
    assert (result.n_ingested, result.n_rejected) == (0, 1)
    assert "binary file" in ws.rejects()["reason"][0]
    # garbage without NUL bytes: rejected line by line
    path2 = tmp_path / "garbage2.jsonl"
    path2.write_bytes(b"\xff\xfe\x01\x02garbage\n" + json.dumps(row(1)).encode() + b"\n\x80\x81{{{\n")
    result = ws.ingest(path2)
    assert (result.n_source_rows, result.n_ingested, result.n_rejected) == (3, 1, 2) or \
        result.n_source_rows == result.n_ingested + result.n_rejected


def test_fifty_megabyte_line(tmp_path, ws):
    path = tmp_path / "big.jsonl"
    with open(path, "w") as fh:
        fh.write(json.dumps(row(1)) + "\n")
        fh.write(json.dumps(row(2, critique="x" * (50 * 1024 * 1024))) + "\n")
        fh.write(json.dumps(row(3)) + "\n")
    result = ws.ingest(path)
    assert (result.n_source_rows, result.n_ingested, result.n_rejected) == (3, 2, 1)
    rej = ws.rejects().row(0, named=True)
    assert rej["line"] == 2 and "over the 16,777,216-byte limit" in rej["reason"]


def test_duplicate_ids_with_different_content(tmp_path, ws):
    rows = [row(1, judgment_id="j-1"), row(2, judgment_id="j-2"), row(2, judgment_id="j-2"),
            row(3, judgment_id="j-1", score=1)]
    result = ws.ingest(jsonl(tmp_path / "d.jsonl", rows))
    assert (result.n_source_rows, result.n_ingested, result.n_rejected) == (4, 3, 1)
    assert result.n_already_present == 1  # the identical repeat of line 2
    rej = ws.rejects().row(0, named=True)
    assert rej["line"] == 4 and "same key as line 1 but different content" in rej["reason"]
    # the same key in a later file with other content is rejected too, and the stored row stays
    result = ws.ingest(jsonl(tmp_path / "d2.jsonl", [row(9, judgment_id="j-1", score=2)]), dataset="d")
    assert result.n_rejected == 1
    assert "already in the workspace" in ws.rejects(run=result.run_id)["reason"][0]
    assert ws.judgments()["score"].sort().to_list() == [4.0, 4.0]


def test_mixed_encodings(tmp_path, ws):
    path = tmp_path / "enc.jsonl"
    good = json.dumps(row(1, critique="naïve café"), ensure_ascii=False).encode("utf-8")
    latin = json.dumps(row(2, critique="résumé"), ensure_ascii=False).encode("cp1252")
    path.write_bytes(good + b"\n" + latin + b"\n")
    result = ws.ingest(path)
    assert result.n_ingested == 2 and result.n_rejected == 0
    assert any("Windows-1252" in n for n in result.notes)
    assert sorted(ws.judgments()["critique"].to_list()) == ["naïve café", "résumé"]


def test_utf16_csv_and_ragged_rows(tmp_path, ws):
    path = tmp_path / "r.csv"
    path.write_text("question_id,model,judge,score,critique\nq1,m,j,3,ok\nq2,m,j,4\nq3,m,j,5,\"multi\nline\"\n")
    result = ws.ingest(path)
    assert (result.n_source_rows, result.n_ingested, result.n_rejected) == (3, 2, 1)
    assert ws.rejects().row(0, named=True)["line"] == 3
    assert "multi\nline" in ws.judgments()["critique"].to_list()


def test_strict_aborts_and_leaves_store_unchanged(tmp_path, ws):
    ws.ingest(jsonl(tmp_path / "ok.jsonl", [row(1)]))
    before = snapshot(ws)
    path = jsonl(tmp_path / "bad.jsonl", [row(2), row(3, score="x"), row(4)])
    with pytest.raises(UserError, match=r"--strict: .*bad.jsonl:2 column 'score': score 'x' is not a number"):
        ws.ingest(path, strict=True)
    assert snapshot(ws) == before


def test_failure_mid_write_rolls_back(tmp_path, ws, monkeypatch):
    ws.ingest(jsonl(tmp_path / "ok.jsonl", [row(1)]))
    before = snapshot(ws)

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("analysis.ingest.write_run", boom)
    with pytest.raises(RuntimeError):
        ws.ingest(jsonl(tmp_path / "more.jsonl", [row(i) for i in range(2, 50)]))
    assert snapshot(ws) == before
    assert writer  # the writer module did run before the failure


KILL_SCRIPT = """
import sys, time
import analysis.ingest as ing
from analysis import Workspace
real = ing.write_run
def slow(*a, **k):
    print("WRITING", flush=True)
    time.sleep(60)
ing.write_run = slow
Workspace(sys.argv[1]).ingest(sys.argv[2])
"""


def test_sigkill_mid_import_leaves_store_as_it_was(tmp_path):
    db = tmp_path / "k.duckdb"
    ws = Workspace(db)
    ws.ingest(jsonl(tmp_path / "ok.jsonl", [row(1)]))
    before = snapshot(ws)
    ws.close()
    big = jsonl(tmp_path / "big.jsonl", [row(i) for i in range(2, 5000)])
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(db), str(big)], stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    assert line.strip() == b"WRITING"  # inside the transaction, rows already inserted
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    after = Workspace(db)
    assert snapshot(after) == before
    after.close()


def test_newer_schema_is_refused(tmp_path):
    import duckdb

    db = tmp_path / "new.duckdb"
    Workspace(db).close()
    con = duckdb.connect(str(db))
    con.execute("UPDATE workspace_meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(UserError, match="schema version 99, newer than this judgescope knows"):
        Workspace(db)


def test_foreign_duckdb_file_is_refused(tmp_path):
    import duckdb

    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    with pytest.raises(UserError, match="not a judgescope workspace"):
        Workspace(db)


def test_locked_workspace_says_so(tmp_path):
    db = tmp_path / "l.duckdb"
    Workspace(db).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); "
                               "print('held', flush=True); time.sleep(30)"], stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"held"
    try:
        from analysis import store

        with pytest.raises(UserError, match="locked by another process"):
            store.connect(db, read_only=True, wait_s=1.0)
    finally:
        holder.kill()
        holder.wait()


def test_nan_literal_in_csv(tmp_path, ws):
    path = tmp_path / "n.csv"
    path.write_text("question_id,model,judge,score\nq1,m,j,NaN\nq2,m,j,3\nq3,m,j,-inf\n")
    result = ws.ingest(path, mapping={"scale": "1-5"})
    assert result.n_rejected == 2
    assert set(ws.rejects()["reason"]) == {"score is NaN", "score is -inf"}
    assert not any(math.isnan(s) for s in ws.judgments()["score"].to_list())
