"""Bad input: every row is ingested or rejected with file, line, column and reason; a failed import
leaves the store as it was."""

from __future__ import annotations

import codecs
import json
import math
import re
import os
import signal
import subprocess
import sys
import time

import pytest

from analysis import UserError, Workspace
from analysis.ingest import writer

from .conftest import ROOT

GOOD = {"question_id": "q1", "model": "m1", "judge": "j1", "response": "answer", "score": 4, "critique": "fine"}


def jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def row(i, **kw):
    return {**GOOD, "question_id": f"q{i}", **kw}


def snapshot(ws: Workspace) -> dict:
    return ws.counts()


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



def test_a_named_format_says_it_does_not_read_a_column_mapping(tmp_path, ws):
    """MT-Bench judged one model twice (a helper met 160 such rows): the repeats are rejected, the reason says how to
    keep both, `info` counts them as one reason, and a --map given to a format that reads its own columns is said
    to be unused rather than silently ignored."""
    rows = [{"question_id": i, "model": "m", "judge": ["gpt-4", "single-v1"], "judgment": f"Rating: [[{3 + i}]] run {k}",
             "score": 3 + i, "turn": 1, "tstamp": k} for k in range(2) for i in range(3)]
    result = ws.ingest(jsonl(tmp_path / "gpt-4_single.jsonl", rows), mapping={"columns": {"sample": "tstamp"}})
    assert result.format == "fastchat-single" and (result.n_ingested, result.n_rejected) == (3, 3)
    assert any("reads its own columns; the column mapping (sample) is used only by --format generic" in n
               for n in result.notes), result.notes
    assert all("import with --format generic and map a judgment id or sample column" in r.reason
               for r in result.rejects)
    reasons = ws.reject_reasons()
    assert reasons.height == 1 and reasons["n"][0] == 3 and "same key as line N" in reasons["reason"][0]


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

        with pytest.raises(UserError, match=r"is locked by (another )?process"):
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


# ---- hostile and careless files: every row accounted for, or one line and exit 1 -----------------------
H = "question_id,model,judge,score,critique\n"


def csv_row(i, critique="ok"):
    return f"q{i},m1,j1,{1 + i % 5},{critique}\n"


def cli(tmp_path, capsys, *args) -> tuple[int, str]:
    """`judgescope ingest ...` in-process, on a workspace of its own: (exit code, stderr)."""
    from analysis.cli import main

    cli.n = getattr(cli, "n", 0) + 1
    code = main(["ingest", *map(str, args), "--workspace", str(tmp_path / f"cli{cli.n}.duckdb")])
    return code, capsys.readouterr().err


def accounted(result, n_rows: int, n_rejected: int | None = None) -> None:
    assert result.n_source_rows == n_rows
    assert result.n_ingested + result.n_rejected == result.n_source_rows
    if n_rejected is not None:
        assert result.n_rejected == n_rejected


def fails_cleanly(ws, tmp_path, capsys, path, match, cli_args=(), **ingest_kw) -> str:
    """A one-line UserError from the API with the workspace unchanged, and exit 1 (not 2) from the CLI."""
    ws.ingest(jsonl(tmp_path / f"seed-{path.name}.jsonl", [row(900)]))
    before = snapshot(ws)
    with pytest.raises(UserError, match=match) as err:
        ws.ingest(path, **ingest_kw)
    assert "\n" not in str(err.value)
    assert snapshot(ws) == before
    code, stderr = cli(tmp_path, capsys, path, *cli_args)
    assert code == 1, stderr
    assert stderr.startswith("judgescope: error: ") and stderr.count("\n") == 1, stderr
    return str(err.value)


def written_lines(ws) -> list[int]:
    return sorted(ws.judgments()["source_line"].to_list())


def test_csv_row_after_an_overlong_field_keeps_its_own_line(tmp_path, ws):
    """Defect 1: the row after a field over MAX_LINE_BYTES took the bad row's line and was dropped."""
    path = tmp_path / "long.csv"
    with open(path, "w") as fh:
        fh.write(H + csv_row(1) + csv_row(2))
        fh.write("q3,m1,j1,3," + "x" * (17 * 1024 * 1024) + "\n")
        fh.write(csv_row(4) + csv_row(5))
    result = ws.ingest(path)
    accounted(result, 5, 1)
    assert ws.count() == result.n_ingested == 4
    assert written_lines(ws) == [2, 3, 5, 6]
    rej = ws.rejects().row(0, named=True)
    assert rej["line"] == 4 and "over the 16,777,216-byte limit" in rej["reason"]


def test_rejected_rows_are_counted_by_row_identity():
    from analysis.ingest import Reject, count_rejected_rows

    rejects = [Reject("f", 3, "score", "x"), Reject("f", 3, "verdict", "y"), Reject("f", 4, None, "z"),
               Reject("g", 3, None, "w"), Reject("f", None, None, "binary"), Reject("g", None, None, "binary")]
    assert count_rejected_rows(rejects) == 5


@pytest.mark.parametrize("suffix", ["jsonl", "json", "csv", "parquet"])
def test_source_column_named_line_is_ordinary_data(tmp_path, ws, suffix):
    """Defect 2: a `_line` (or `__line`) column replaced the internal line numbers."""
    import polars as pl

    rows = [{**row(i), "_line": v, "__line": 7} for i, v in enumerate(["x", "1", "1", "-3"], start=1)]
    rows[2]["score"] = "abc"
    path = tmp_path / f"lines.{suffix}"
    if suffix == "jsonl":
        jsonl(path, rows)
    elif suffix == "json":
        path.write_text(json.dumps(rows))
    else:
        frame = pl.DataFrame([{k: str(v) for k, v in r.items()} for r in rows])
        frame.write_csv(path) if suffix == "csv" else frame.write_parquet(path)
    result = ws.ingest(path)
    accounted(result, 4, 1)
    first = 2 if suffix == "csv" else 1  # CSV counts the header line
    assert ws.rejects()["line"].to_list() == [first + 2]
    assert written_lines(ws) == [first, first + 1, first + 3]
    metas = [json.loads(m) for m in ws.judgments().sort("source_line")["meta"]]
    assert [str(m["_line"]) for m in metas] == ["x", "1", "-3"] and all(str(m["__line"]) == "7" for m in metas)


def test_line_columns_in_llmbar_and_clear(tmp_path, ws):
    import polars as pl

    d = tmp_path / "llmbar"
    d.mkdir()
    jsonl(d / "instances.jsonl", [{"subset": "Natural", "idx": i, "input": f"q{i}", "output_1": "a", "output_2": "b",
                                   "label": 1, "_line": "user"} for i in range(3)])
    pl.DataFrame({"subset": ["Natural"] * 3, "idx": [0, 1, 2], "judge": ["GPT-4"] * 3, "strategy": ["Vanilla"] * 3,
                  "stage": [0] * 3, "swap": [False] * 3, "winner": ["1", "2", "1"], "_line": [9, 9, 9],
                  "prompt": ["not the prompt"] * 3}).write_parquet(d / "judgments.parquet")
    result = ws.ingest(d)
    accounted(result, 6, 0)
    assert written_lines(ws) == [1, 2, 3]
    assert {r[0] for r in ws.q.rows("SELECT prompt FROM items")} == {"q0", "q1", "q2"}

    zpath = clear_zip(tmp_path / "c.zip", pl.DataFrame({"question_id": ["a", "b"], "score": [0.5, 1.0],
                                                         "_line": [5, 5]}))
    result = ws.ingest(zpath)
    accounted(result, 2, 0)
    assert sorted(ws.judgments("judge=gpt-4o")["source_line"].to_list()) == [1, 2]


def test_unterminated_quote_costs_only_its_own_line(tmp_path, ws, capsys):
    """Defect 3: an unterminated quote folded the following rows into one row (or one reject)."""
    path = tmp_path / "quote.csv"
    path.write_text(H + csv_row(1) + 'q2,m1,j1,3,"never closed\n' + "".join(csv_row(i) for i in range(3, 11)))
    result = ws.ingest(path)
    accounted(result, 10, 1)
    rej = ws.rejects().row(0, named=True)
    assert rej["line"] == 3 and "quoted field opened on this line is never closed" in rej["reason"]
    assert written_lines(ws) == [2, *range(4, 12)]
    # a stray quote that a later row's quotes would close: still only its own line
    path = tmp_path / "stray.csv"
    path.write_text(H + csv_row(1) + 'q2,m1,j1,3,"stray\n' + csv_row(3, '"quoted"') + csv_row(4) +
                    'q5,m1,j1,3,"a\nzzz\nzzz",extra\n' + csv_row(6))
    result = ws.ingest(path, dataset="stray")
    assert result.n_ingested + result.n_rejected == result.n_source_rows
    rej = {r["line"]: r["reason"] for r in ws.rejects(run=result.run_id).to_dicts()}
    assert "probably an unterminated quote" in rej[3] and "probably an unterminated quote" in rej[6]
    assert sorted(ws.judgments("dataset=stray")["source_line"]) == [2, 4, 5, 9]
    assert set(rej) == {3, 6, 7, 8}  # the two stray lines between, as what they are: rows of 1 and 2 fields
    # a real multi-line field is still one row
    path = tmp_path / "multi.csv"
    path.write_text(H + 'q1,m1,j1,3,"line one\nline, two ""quoted""\n\nline four"\n' + csv_row(2))
    result = ws.ingest(path, dataset="multi")
    accounted(result, 2, 0)
    assert "line one\nline, two \"quoted\"\n\nline four" in ws.judgments("dataset=multi")["critique"].to_list()
    # a runaway quote in the header is a one-line error
    bad = tmp_path / "header.csv"
    bad.write_text('question_id,"model,judge,score\n' + csv_row(1))
    fails_cleanly(ws, tmp_path, capsys, bad, match=r"header.csv:1: unreadable CSV header: a quoted field")


def test_utf16_files_are_decoded(tmp_path, ws):
    """Defect 4: a UTF-16 CSV with a BOM said 'no judge column'; JSON and JSONL are decoded the same way."""
    text = H + csv_row(1) + 'q2,m1,j1,4,"two\r\nlines"\r\n'
    files = {"le.csv": text.encode("utf-16"), "be.csv": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
             "nobom.csv": text.encode("utf-16-le"),
             "a.json": json.dumps([row(1), row(2)]).encode("utf-16"),
             "b.jsonl": (json.dumps(row(1)) + "\n" + json.dumps(row(2)) + "\n").encode("utf-16")}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        result = ws.ingest(tmp_path / name, dataset=name)
        accounted(result, 2, 0)
        assert any("UTF-16" in n for n in result.notes)
    assert "two\r\nlines" in ws.judgments("dataset=le.csv")["critique"].to_list()


def test_broken_encodings_and_deep_json(tmp_path, ws, capsys):
    """Defect 4: bad UTF-8/UTF-16 and deeply nested JSON gave tracebacks (exit 2)."""
    # a lone surrogate in a UTF-16 CSV or JSONL costs its line
    for name, body in (("s.csv", [H, csv_row(1), "\ud800" + csv_row(2), csv_row(3)]),
                       ("s.jsonl", [json.dumps(row(1)) + "\n", "\ud800" + json.dumps(row(2)) + "\n"])):
        path = tmp_path / name
        path.write_bytes(codecs.BOM_UTF16_LE + "".join(body).encode("utf-16-le", "surrogatepass") + b"\x00")
        result = ws.ingest(path, dataset=name)
        assert result.n_ingested + result.n_rejected == result.n_source_rows and result.n_ingested >= 1
        assert any("not valid UTF-16-LE" in r for r in ws.rejects(run=result.run_id)["reason"])
    # in a JSON document it is one line naming where
    path = tmp_path / "s.json"
    path.write_bytes(codecs.BOM_UTF16_LE + '[{"a": 1},\n{"b": "\ud800"}]'.encode("utf-16-le", "surrogatepass"))
    fails_cleanly(ws, tmp_path, capsys, path, match=r"s.json: not valid UTF-16-LE at line 2")
    # a JSON document that is not UTF-8 is read as Windows-1252, even when it then fails to parse
    path = tmp_path / "latin.json"
    path.write_bytes(json.dumps([row(1, critique="café")], ensure_ascii=False).encode("cp1252"))
    accounted(ws.ingest(path), 1, 0)
    path = tmp_path / "latin-bad.json"
    path.write_bytes(b'[{"question_id": "q\xe9", "judge": 1]')
    fails_cleanly(ws, tmp_path, capsys, path, match=r"latin-bad.json: invalid JSON at line 1, column \d+")
    # nesting: 100,000 levels (RecursionError in json) and 150 levels (json copes, later writers would not)
    path = tmp_path / "deep.json"
    path.write_text("[" + json.dumps(row(1)) + ", {\"x\": " + "[" * 100_000 + "]" * 100_000 + "}, 5, " +
                    json.dumps(row(2)) + "]")
    result = ws.ingest(path)
    accounted(result, 4, 2)
    assert set(ws.rejects(run=result.run_id)["reason"]) == {"invalid JSON: nested deeper than 100 levels",
                                                             "expected a JSON object, got int"}
    path = tmp_path / "deep.jsonl"
    jsonl(path, [row(1), '{"x": ' + "[" * 150 + "]" * 150 + "}", "[" * 100_000, '{"score": ' + "9" * 5000 + "}"])
    result = ws.ingest(path)
    accounted(result, 4, 3)
    assert ws.rejects(run=result.run_id)["reason"].to_list() == [
        "invalid JSON: nested deeper than 100 levels", "invalid JSON: nested deeper than 100 levels",
        "invalid JSON: an integer with too many digits"]
    (tmp_path / "top.json").write_text("[" * 100_000)
    fails_cleanly(ws, tmp_path, capsys, tmp_path / "top.json", match=r"top.json: invalid JSON: element 1 at line 1")


def test_parquet_nested_and_binary_columns(tmp_path, ws, capsys):
    """Defect 5: list and binary columns raised a polars PanicException; a non-Parquet .parquet gave exit 2."""
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "question_id": ["q1", "q2", "q3"], "model": ["m"] * 3, "judge": ["j"] * 3, "score": [3, 4, 5],
        "critique": pa.array([["a", "b"], None, []]), "response": pa.array([b"text", b"\xff\x00", None]),
        "tags": pa.array([{"x": 1, "b": b"\x01"}, None, {"x": None, "b": None}]),
        "pairs": pa.array([[("k", 1)], [], None], pa.map_(pa.string(), pa.int64())),
        "took": pa.array([datetime.timedelta(seconds=2)] * 3), "kind": pa.array(["u", "v", "u"]).dictionary_encode(),
        "half": pa.array([1.5, None, 2], pa.float16()),
    })
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    result = ws.ingest(path, mapping={"columns": {"critique": "critique", "response": "response"}})
    accounted(result, 3, 0)
    assert any("column 'response' is binary: kept as hex text" in n for n in result.notes)
    j = ws.judgments().sort("source_line")
    assert j["critique"].to_list() == ['["a", "b"]', None, "[]"]
    meta = json.loads(j["meta"][0])
    assert json.loads(meta["tags"]) == {"x": 1, "b": "\x01"} and json.loads(meta["pairs"]) == [["k", 1]]
    assert meta["kind"] == "u" and meta["half"] == 1.5 and meta["took"] == "0:00:02"
    # a list where a number belongs is a reject, not a crash
    pq.write_table(pa.table({"question_id": ["q1", "q2"], "model": ["m"] * 2, "judge": ["j"] * 2,
                             "score": pa.array([[1], [2, 3]])}), tmp_path / "listscore.parquet")
    result = ws.ingest(tmp_path / "listscore.parquet")
    accounted(result, 2, 2)
    assert ws.rejects(run=result.run_id)["reason"].to_list() == ["score '[1]' is not a number",
                                                                   "score '[2, 3]' is not a number"]
    # repeated column names are renamed, not a crash
    dup = pa.Table.from_arrays([pa.array(["q1"]), pa.array(["m"]), pa.array(["j"]), pa.array([3]), pa.array([4])],
                               names=["question_id", "model", "judge", "score", "score"])
    pq.write_table(dup, tmp_path / "dup.parquet")
    accounted(ws.ingest(tmp_path / "dup.parquet"), 1, 0)
    # not Parquet at all, and a Parquet file cut short
    (tmp_path / "text.parquet").write_text("question_id,score\nq1,3\n")
    fails_cleanly(ws, tmp_path, capsys, tmp_path / "text.parquet", match=r"text.parquet: not a readable Parquet file")
    data = path.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    fails_cleanly(ws, tmp_path, capsys, tmp_path / "cut.parquet", match=r"cut.parquet: not a readable Parquet file")


def clear_zip(path, results, metadata='{"gen_model_name": "gen", "eval_model_name": "gpt-4o"}'):
    """A CLEAR results zip: `results` a polars frame (written as Parquet) or CSV text."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if isinstance(results, str):
            zf.writestr("run/results.csv", results)
        else:
            tmp = path.with_suffix(".results.parquet")
            results.write_parquet(tmp)
            zf.write(tmp, "run/results.parquet")
        if metadata is not None:
            zf.writestr("run/metadata.json", metadata)
    return path


def zip_bomb(path, member="results.parquet", mib=128):
    """A tiny zip whose member unpacks to `mib` MiB of zeros (written in pieces: the test stays small)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("metadata.json", "{}")
        with zf.open(member, "w", force_zip64=True) as out:
            for _ in range(mib):
                out.write(bytes(1 << 20))
    return path


BOMB_SCRIPT = """
import json, resource, sys
from analysis import UserError, Workspace
from analysis.ingest import clear
clear.MAX_RATIO = float(sys.argv[3])
ws = Workspace(sys.argv[1])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    ws.ingest(sys.argv[2])
    error = None
except UserError as exc:
    error = str(exc)
print(json.dumps({"error": error, "growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base}))
"""


@pytest.mark.parametrize("max_ratio", [200, 10**9])
def test_clear_zip_bomb_is_refused_in_bounded_memory(tmp_path, max_ratio):
    """Defect 6: a tiny zip holding a huge results.parquet was read into memory whole. Refused by its ratio;
    with the ratio check off, it is streamed to a temporary file and fails there, in bounded memory."""
    bomb = zip_bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 1024 * 1024
    out = subprocess.run([sys.executable, "-c", BOMB_SCRIPT, str(tmp_path / "w.duckdb"), str(bomb), str(max_ratio)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["growth_kb"] < 48 * 1024  # the member is 128 MiB
    expected = "over the 200 to 1 limit; refusing a likely zip bomb" if max_ratio == 200 else "not a readable Parquet file"
    assert expected in got["error"] and "\n" not in got["error"] and "bomb.zip!results.parquet" in got["error"]


def test_clear_zip_limits_and_bad_members(tmp_path, ws, capsys, monkeypatch):
    import zipfile

    import polars as pl

    from analysis.ingest import clear

    frame = pl.DataFrame({"question_id": [f"q{i}" for i in range(10)], "score": [i / 10 for i in range(10)],
                          "evaluation_text": ["t"] * 10, "recurring_issues_str": ['["a"]', "[" * 5000, "x;y"] + [None] * 7})
    monkeypatch.setattr(clear, "MAX_MEMBER_BYTES", 1000)
    fails_cleanly(ws, tmp_path, capsys, clear_zip(tmp_path / "big.zip", frame),
                  match=r"big.zip!run/results.parquet: unpacks to [\d,]+ bytes, over the 1,000-byte limit")
    monkeypatch.undo()
    for name, meta, match in (("nojson.zip", "{not json", r"nojson.zip!run/metadata.json: invalid JSON at line 1"),
                              ("list.zip", "[1, 2]", r"list.zip!run/metadata.json: expected a JSON object, got list"),
                              ("deep.zip", "[" * 100_000, r"deep.zip!run/metadata.json: invalid JSON: nested deeper"),
                              ("latin.zip", b'{"gen_model_name": "\xe9"}', r"latin.zip!run/metadata.json: not UTF-8")):
        fails_cleanly(ws, tmp_path, capsys, clear_zip(tmp_path / name, frame, meta), match=match)
    # a member whose data is damaged
    good = clear_zip(tmp_path / "good.zip", H + csv_row(1))
    data = bytearray(good.read_bytes())
    at = data.index(b"results.csv") + len("results.csv") + 4
    data[at:at + 8] = b"\xff" * 8
    (tmp_path / "damaged.zip").write_bytes(bytes(data))
    fails_cleanly(ws, tmp_path, capsys, tmp_path / "damaged.zip", match=r"damaged.zip", format="clear",
                  cli_args=("--format", "clear"))
    (tmp_path / "notzip.zip").write_text("hello")
    fails_cleanly(ws, tmp_path, capsys, tmp_path / "notzip.zip", match=r"not a readable zip file", format="clear",
                  cli_args=("--format", "clear"))
    with zipfile.ZipFile(tmp_path / "nores.zip", "w") as zf:
        zf.writestr("metadata.json", "{}")
    fails_cleanly(ws, tmp_path, capsys, tmp_path / "nores.zip", match=r"no results.parquet or results.csv",
                  format="clear", cli_args=("--format", "clear"))
    # the results are read in pieces, every row accounted for (a bad score and a missing id rejected)
    monkeypatch.setattr("analysis.ingest.readers.CHUNK_ROWS", 3)
    batches = list(clear.read(clear_zip(tmp_path / "pieces.zip", frame)))
    assert [b.n_source_rows for b in batches] == [3, 3, 3, 1]
    csv_text = H.replace("critique", "evaluation_text") + "".join(csv_row(i) for i in range(5)) + ",m,j,3,x\nq9,m,j,abc,x\n"
    result = ws.ingest(clear_zip(tmp_path / "csv.zip", csv_text))
    accounted(result, 7, 2)
    assert ws.judgments(f"run={result.run_id}")["scale_max"].unique().to_list() == [5.0]


def test_detection_reads_a_bounded_prefix(tmp_path):
    """Defect 7: detection read a whole first line, however long (761 MB of memory for a 200 MB line)."""
    import tracemalloc

    from analysis.ingest import detect_format

    prefix = 4 * 1024 * 1024  # detection reads no more than this (DETECT_BYTES is 2 MiB)
    path = tmp_path / "prom.jsonl"
    with open(path, "w") as fh:
        fh.write('{"idx": 1, "response_source": "m", "gpt4_score": [3], "gpt4_feedback": ["f"], "instruction": "'
                 + "x" * (40 * 1024 * 1024) + '"}\n')
    tracemalloc.start()
    try:
        assert detect_format(path) == "prometheus"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * prefix
    arena = tmp_path / "arena.json"  # keys on both sides of a value cut off by the prefix: the first ones count
    arena.write_text('[{"question_id": "q", "model": "m", "games": [{"judgment": "' + "y" * prefix + '"}]}]')
    assert detect_format(arena) == "arena-hard"


def test_object_keys_of_a_truncated_prefix():
    from analysis.ingest.jsonscan import object_keys

    assert object_keys('{"a": 1, "b": {"c": [1, {"d": 2}]}, "e\\"q": "x}", "f": ') == ["a", "b", 'e"q', "f"]
    assert object_keys('  {"a": "unterminated') == ["a"]
    assert object_keys('{"a": [[[[{"deep": 1') == ["a"]
    assert object_keys('{"a": 1}, {"b": 2}') == ["a"]
    assert object_keys('{"a') == [] and object_keys("[1, 2]") == [] and object_keys("") == []


def test_numeric_constants_and_scales_are_checked(tmp_path, ws, capsys):
    """Defect 8: `--set scale_min=abc` gave a traceback; --scale had edge cases."""
    from analysis.ingest.mapping import load_mapping, parse_scale

    path = jsonl(tmp_path / "c.jsonl", [row(1), row(2)])
    for args, match in ((["--set", "scale_min=abc"], "scale_min = 'abc' is not a number"),
                        (["--set", "score=nan"], "score = 'nan' is not a number"),
                        (["--set", "sample=1.5"], "sample = '1.5' must be a whole number"),
                        (["--set", "label_score=[1]"], "label_score = '\\[1\\]' is not a number"),
                        (["--scale", "5-1"], "the minimum must be below the maximum"),
                        (["--scale", "1-inf"], "must look like 1-10"),
                        (["--scale", "1e999-2"], "two finite numbers")):
        code, err = cli(tmp_path, capsys, path, *args)
        assert code == 1 and err.count("\n") == 1, err
        assert re.search(match, err), err
    before = snapshot(ws)
    for constants, match in (({"scale_min": "x"}, "scale_min = 'x' is not a number"),
                             ({"scale_min": 5, "scale_max": 1}, "scale_min 5 must be below scale_max 1"),
                             ({"score": True}, "score = True is not a number"),
                             ({"judge": {"a": 1}}, "must be a single value")):
        with pytest.raises(UserError, match=match):
            ws.ingest(path, mapping={"constants": constants})
    from analysis.ingest.mapping import Mapping

    with pytest.raises(UserError, match="scale_max = 'ten' is not a number"):  # a Mapping built in code
        ws.ingest(path, mapping=Mapping(constants={"scale_max": "ten"}))
    assert snapshot(ws) == before
    assert parse_scale("-5-5") == (-5, 5) and parse_scale("1 .. 7") == (1, 7) and parse_scale("0.5,1.5") == (0.5, 1.5)
    assert parse_scale("1e0-1e1") == (1, 10) and parse_scale("1 to 10") == (1, 10) and parse_scale([0, 100]) == (0, 100)
    for bad in ("ten", "1-", "-", "", "1-2-3", "1-1", "nan-1", [1], [1, True], [1, [2]], [1, "x"], [1, 2, 3]):
        with pytest.raises(UserError, match="scale"):
            parse_scale(bad)
    for spec, match in (({"criteria": 3}, "criteria must be a list"), ({"columns": "x"}, "columns must be a table"),
                        ({"constants": 5}, "constants must be a table"), ({"columns": {"score": [1]}}, "must be a name")):
        with pytest.raises(UserError, match=match):
            load_mapping(spec)
    assert load_mapping({"criteria": "a, b"}).criteria == ["a", "b"]
    assert load_mapping({"constants": {"score": "4", "sample": 2}}).constants == {"score": "4", "sample": 2}
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"[columns]\nscore = '\xff'\n")
    with pytest.raises(UserError, match="must be UTF-8 TOML"):
        load_mapping(bad)
    result = ws.ingest(path, mapping={"constants": {"scale_min": "0", "scale_max": 10, "sample": "1"}})
    accounted(result, 2, 0)
    assert set(ws.judgments()["scale_max"]) == {10.0} and set(ws.judgments()["sample"]) == {1}


REAL_ROWS = {
    "prometheus": {"idx": 1, "response_source": "m", "category": "c", "gpt4_score": [3, 4, 5],
                   "gpt4_feedback": ["a", "b", "c"], "parsed_rubric": "[crit]\nScore 1: bad\nScore 5: good",
                   "instruction": "###The instruction to evaluate:\nq\n###Response to evaluate:\nr\n###Feedback:"},
    "fastchat-single": {"question_id": 1, "model": "m", "judge": ["gpt-4", "single-v1"], "judgment": "ok [[5]]",
                        "score": 5, "turn": 1, "tstamp": 0},
    "fastchat-pair": {"question_id": 1, "model_1": "a", "model_2": "b", "g1_winner": "model_1", "g2_winner": "tie",
                      "g1_judgment": "x", "g2_judgment": "y", "judge": ["gpt-4", "pair-v2"], "turn": 1},
    "arena-hard": {"question_id": "q", "model": "m", "judge": "j",
                   "games": [{"score": "A>B", "judgment": "t", "user_prompt": "p"}, {"score": "B>>A", "judgment": {"answer": "x"}}]},
    "judgebench": {"pair_id": "p", "question": "q", "source": "s", "response_model": "m", "response_A": "a",
                   "response_B": "b", "label": "A>B", "judge_name": "jn",
                   "judgments": [{"judgment": {"judge_model": "j", "response": "r"}, "decision": "A>B"}]},
    "alpaca-eval": {"instruction": "i", "output_1": "o1", "generator_1": "g1", "output_2": "o2", "generator_2": "g2",
                    "annotator": "a", "preference": 1.5, "raw_completion": {"concise_explanation": "e"},
                    "referenced_models": {"m": "g1", "M": "g2"}, "dataset": "d"},
}
HOSTILE = [None, "", "not json", "[1, 2", "[" * 3000, 0, -1.5, 10**30, True, [], {}, [None], [[1], {"a": [2]}],
           {"answer": ["x"]}, json.loads("[" * 90 + "]" * 90), "null"]


def _read_all(fmt, path):
    """Read a file with a format's reader and validate it as the import does: (source rows, kept lines, rejects)."""
    from analysis.ingest import FORMATS
    from analysis.ingest.batch import JUDGMENT_SCHEMA, LABEL_SCHEMA, conform
    from analysis.ingest.mapping import Mapping
    from analysis.ingest.validate import JUDGMENT_CHECKS, LABEL_CHECKS, split_valid

    n, kept, rejects = 0, set(), []
    for b in FORMATS[fmt].read(path, Mapping()):
        n += b.n_source_rows
        rejects += b.rejects
        for frame, schema, checks in ((b.judgments, JUDGMENT_SCHEMA, JUDGMENT_CHECKS), (b.labels, LABEL_SCHEMA, LABEL_CHECKS)):
            good, bad = split_valid(conform(frame, schema), checks)
            rejects += bad
            kept |= set(good["source_line"].to_list())
    return n, kept, rejects


def test_wrong_types_in_nested_fields_of_the_real_formats(tmp_path):
    """Every field of each real format's row, replaced by values of every wrong type: a reject or a row,
    never another exception, and every source row is kept or rejected."""
    from analysis.ingest import count_rejected_rows

    failures = []
    for fmt, base in REAL_ROWS.items():
        for key in base:
            for i, value in enumerate(HOSTILE):
                path = jsonl(tmp_path / f"{fmt}-{key}-{i}.jsonl", [{**base, key: value}, base])
                try:
                    n, kept, rejects = _read_all(fmt, path)
                except UserError as exc:
                    assert "\n" not in str(exc)
                    continue
                except BaseException as exc:  # noqa: BLE001 - PanicException is a BaseException
                    failures.append(f"{fmt} {key}={value!r:.40}: {type(exc).__name__}: {exc}")
                    continue
                rejected = {r.line for r in rejects}
                if n != 2 or not {1, 2} <= kept | rejected or count_rejected_rows(rejects) > n:
                    failures.append(f"{fmt} {key}={value!r:.40}: {n} rows, kept {kept}, rejected {rejected}")
    assert not failures, "\n".join(failures[:20])


def test_hostile_directories_of_the_real_formats(tmp_path, ws, capsys):
    """FastChat bench directories, PandaLM and LLMBar with values of the wrong type in their nested fields."""
    import polars as pl

    bench = tmp_path / "bench"
    (bench / "model_answer").mkdir(parents=True)
    (bench / "model_judgment").mkdir()
    jsonl(bench / "question.jsonl", [{"question_id": 1, "category": ["x"], "turns": "one turn"},
                                     {"question_id": 2, "turns": 7}, {"question_id": 3, "turns": [["nested"]]}])
    jsonl(bench / "model_answer" / "m.jsonl", [{"question_id": 1, "choices": "not json"},
                                                {"question_id": 2, "choices": [{"turns": {"a": 1}}]},
                                                {"question_id": 3, "choices": [5]}, {"question_id": 4, "choices": {}}])
    jsonl(bench / "model_judgment" / "gpt-4_single.jsonl", [
        {"question_id": 1, "model": "m", "judge": "[\"gpt-4\"", "judgment": {"text": "[[5]]"}, "score": 5, "turn": 1},
        {"question_id": 2, "model": "m", "judge": [], "judgment": ["a"], "score": [5], "turn": "x"}])
    result = ws.ingest(bench)
    assert result.format == "fastchat" and result.n_ingested + result.n_rejected == result.n_source_rows
    assert result.n_rejected == 1  # the list score

    pan = tmp_path / "pandalm"
    pan.mkdir()
    jsonl(pan / "testset-v1.jsonl", [{"idx": 1, "cmp_key": 5, "instruction": ["i"], "input": {"a": 1},
                                      "response1": [1], "response2": None, "annotator1": [1], "annotator2": 2},
                                     {"idx": 2, "cmp_key": "a_b", "instruction": "i", "annotator1": 1}])
    jsonl(pan / "x-testset-v1.jsonl", [{"idx": 1, "x_result": [1], "x_reason": {"r": 1}}, {"idx": [2], "x_result": 1}])
    result = ws.ingest(pan)
    assert result.format == "pandalm" and result.n_ingested + result.n_rejected == result.n_source_rows

    bar = tmp_path / "llmbar"
    bar.mkdir()
    jsonl(bar / "instances.jsonl", [{"subset": 3, "idx": "0", "input": ["q"], "output_1": 1, "output_2": {"b": 1},
                                     "label": "1"}, {"subset": "N", "idx": 1, "input": "q", "output_1": "a",
                                                     "output_2": "b", "label": [1]}])
    pl.DataFrame({"subset": [3, 3, 3], "idx": ["0", "0", "x"], "judge": ["GPT-4"] * 3, "strategy": [1, 2, 3],
                  "stage": ["0", "one", "0"], "swap": ["True", "no", None], "winner": [1, 2, 3],
                  "score_1": [[1], None, [2]], "completion": [b"\xff", b"ok", None]}).write_parquet(bar / "judgments.parquet")
    result = ws.ingest(bar)
    assert result.format == "llmbar" and result.n_ingested + result.n_rejected == result.n_source_rows
    reasons = ws.rejects(run=result.run_id)["reason"].to_list()
    assert sorted(reasons) == ["label must be 1 or 2", "no instance 3/x in instances.jsonl", "no key for the judgment"]
    # a directory named with a format whose files it lacks
    for fmt, what in (("llmbar", "instances.jsonl, judgments.parquet"), ("pandalm", "testset-v1.jsonl"),
                      ("fastchat", "question.jsonl")):
        fails_cleanly(ws, tmp_path, capsys, bench / "model_answer", match=f"missing {what}", format=fmt,
                      cli_args=("--format", fmt))
