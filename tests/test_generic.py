"""Generic files with a column mapping: JSONL, CSV, Parquet and directories; guessed columns;
wide and long criteria; pairwise verdicts in either frame; human labels; metadata facets."""

from __future__ import annotations

import json

import polars as pl
import pytest

from analysis import UserError

from .test_real_datasets import one

ROWS = [
    {"qid": "q1", "question": "2+2?", "generator": "m1", "answer": "4", "grader": "g", "rating": 9,
     "why": "Correct.", "helpfulness": 4, "accuracy": 5, "topic": "math", "human": 8},
    {"qid": "q1", "question": "2+2?", "generator": "m2", "answer": "5", "grader": "g", "rating": 2,
     "why": "Wrong sum.", "helpfulness": 2, "accuracy": 1, "topic": "math", "human": 1},
    {"qid": "q2", "question": "Capital of France?", "generator": "m1", "answer": "Paris", "grader": "g",
     "rating": 10, "why": "Right.", "helpfulness": 5, "accuracy": 5, "topic": "geo", "human": None},
]
TOML = """
dataset = "toy"
scale = "1-10"
criteria = ["helpfulness", "accuracy"]

[columns]
item_id = "qid"
prompt = "question"
model = "generator"
response = "answer"
judge = "grader"
score = "rating"
critique = "why"
label_score = "human"
"""


def write_all(tmp_path):
    frame = pl.DataFrame(ROWS)
    (tmp_path / "f.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    frame.write_csv(tmp_path / "f.csv")
    frame.write_parquet(tmp_path / "f.parquet")
    (tmp_path / "map.toml").write_text(TOML)


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_mapping_file_same_result_for_each_format(tmp_path, ws, suffix):
    write_all(tmp_path)
    result = ws.ingest(tmp_path / f"f.{suffix}", mapping=tmp_path / "map.toml")
    assert (result.n_source_rows, result.n_ingested, result.n_rejected) == (3, 3, 0)
    j = ws.judgments().sort("model", "criterion", "score")
    # one overall judgment per row plus one per wide criterion; criterion scores guessed nothing
    assert j.height == 9
    overall = j.filter(pl.col("criterion").is_null())
    assert overall["score_norm"].sort().to_list() == pytest.approx([1 / 9, 8 / 9, 1.0])
    assert sorted(overall["critique"].to_list()) == ["Correct.", "Right.", "Wrong sum."]
    crit = j.filter(pl.col("criterion") == "accuracy")
    assert sorted(crit["score"].to_list()) == [1, 5, 5]
    assert one(ws, "SELECT count(*) FROM labels WHERE kind = 'human'")[0] == 2
    assert one(ws, "SELECT count(*) FROM items")[0] == 2
    # unmapped columns are metadata facets
    assert ws.count("meta.topic=math") == 6
    assert {r[0] for r in ws.con.execute("SELECT criterion FROM criteria").fetchall()} == {"helpfulness", "accuracy"}


def test_guessed_columns_are_reported(tmp_path, ws):
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps({"question_id": "a", "prompt": "p", "model": "m", "response": "r",
                                "judge": "j", "score": 3, "feedback": "meh", "extra": 1}) + "\n")
    result = ws.ingest(path)
    note = next(n for n in result.notes if "guessed columns" in n)
    for part in ("item_id←question_id", "prompt←prompt", "score←score", "critique←feedback", "judge←judge"):
        assert part in note
    assert any("scores fit 1–5" in n for n in result.notes)
    assert ws.judgments()["meta"][0] == '{"extra":1}'


def test_a_critique_written_in_parts_is_one_critique(tmp_path, ws):
    """Judges that return {"strengths", "weaknesses"} (a CSV's pros/cons): the parts are joined under their
    headers, the issue segmenter reads praise and problems from them, and they are no metadata."""
    from analysis.issues.segment import segment

    rows = [
        {"question_id": "q1", "model": "m", "judge": "j", "score": 6, "tag": "x",
         "strengths": "The answer is correct.", "weaknesses": "The answer is very short."},
        {"question_id": "q2", "model": "m", "judge": "j", "score": 2, "tag": "x",
         "strengths": "", "weaknesses": ["The response is empty.", "It gives no answer."]},
        {"question_id": "q3", "model": "m", "judge": "j", "score": 5, "tag": "x", "strengths": None, "weaknesses": None},
    ]
    path = tmp_path / "parts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = ws.ingest(path)
    assert result.n_ingested == 3
    assert any("strengths←strengths" in n and "weaknesses←weaknesses" in n for n in result.notes)
    j = ws.judgments().sort("score")
    assert j["critique"].to_list() == [
        "Weaknesses:\n- The response is empty.\n- It gives no answer.",
        None,
        "Strengths: The answer is correct.\nWeaknesses: The answer is very short.",
    ]
    assert set(j["meta"].to_list()) == {'{"tag":"x"}'}
    assert [s.kind for s in segment(j["critique"][2])] == ["praise", "problem"]
    # a CSV's own names, mapped explicitly and beside a critique column
    csv = tmp_path / "parts.csv"
    pl.DataFrame({"id": ["a"], "model": ["m"], "grader": ["g"], "rating": [3], "summary": ["Fine."], "good": ["Polite."],
                  "bad": ["Ignores the word limit."]}).write_csv(csv)
    ws.ingest(csv, mapping={"columns": {"item_id": "id", "judge": "grader", "score": "rating", "critique": "summary",
                                        "strengths": "good", "weaknesses": "bad"}}, dataset="csv")
    assert ws.judgments("dataset=csv")["critique"][0] == "Fine.\nStrengths: Polite.\nWeaknesses: Ignores the word limit."


def test_a_model_judged_against_itself_is_kept_and_said(tmp_path, ws):
    """AlpacaEval ships the baseline judged against itself: such pairs are kept, and the import says what they are."""
    rows = [{"id": f"p{i}", "prompt": "x", "model_a": a, "model_b": b, "response_a": "ra", "response_b": "rb",
             "judge": "j", "winner": "a"} for i, (a, b) in enumerate([("A", "A"), ("A", "A"), ("A", "B"), ("C", "C")])]
    path = tmp_path / "self.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = ws.ingest(path, mapping={"columns": {"item_id": "id"}})
    assert result.n_ingested == 4
    said = [n for n in result.notes if "compare a model with itself" in n]
    assert len(said) == 1 and said[0].startswith("3 pairwise judgments") and "A (2), C (1)" in said[0], result.notes
    # no shown-first column: the audit says the order is unknown, not that no pair was judged both ways
    audit = ws.audit()
    note = audit.filter((audit["metric"] == "swap_consistency") & (audit["judge"] == "j"))["note"][0]
    assert "order the responses were shown in is unknown" in note and "shown_first" in note
    path.with_name("other.jsonl").write_text(json.dumps(rows[2]))
    assert not any("itself" in n for n in ws.ingest(path.with_name("other.jsonl"), dataset="o").notes)


def test_a_column_of_nested_records_is_said_not_imported(tmp_path, ws):
    """SelFee keeps each answer's revisions and critiques in a list of records per row: judgescope reads one judgment
    per row, and the import says what it leaves inside those records."""
    rows = [{"id": f"q{i}", "model": "m", "judge": "j", "score": 5, "tags": ["a", "b"],
             "outputs": [{"output": "x", "feedback": "Too short."}, {"output": "y", "feedback": "Fine."}]}
            for i in range(3)]
    path = tmp_path / "nested.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    result = ws.ingest(path, mapping={"columns": {"item_id": "id"}})
    said = [n for n in result.notes if "lists of records" in n]
    assert result.n_ingested == 3 and len(said) == 1
    assert "'outputs'" in said[0] and "(output, feedback)" in said[0] and "tags" not in said[0]


def test_long_criteria_and_pairwise_position_frame(tmp_path, ws):
    rows = [
        # the verdict names the slot that won; shown_first says which response sat in slot 1
        {"id": "p1", "prompt": "x", "model_a": "A", "model_b": "B", "response_a": "ra", "response_b": "rb",
         "judge": "j", "winner": "1", "shown_first": "a", "criterion": "helpful"},
        {"id": "p1", "prompt": "x", "model_a": "A", "model_b": "B", "response_a": "ra", "response_b": "rb",
         "judge": "j", "winner": "1", "shown_first": "b", "criterion": "helpful"},
        {"id": "p1", "prompt": "x", "model_a": "A", "model_b": "B", "response_a": "ra", "response_b": "rb",
         "judge": "j", "winner": "tie", "shown_first": "a", "criterion": "safe"},
        {"id": "p1", "prompt": "x", "model_a": "A", "model_b": "B", "response_a": "ra", "response_b": "rb",
         "judge": "j", "winner": "dunno", "shown_first": "b", "criterion": "safe"},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    ws.ingest(path, mapping={"columns": {"item_id": "id"}, "verdict_frame": "position"})
    j = ws.judgments().sort("source_line")
    assert j["protocol"].unique().to_list() == ["pairwise"]
    assert j["verdict"].to_list() == ["a", "b", "tie", None]
    assert j["parse_status"].to_list() == ["ok", "ok", "ok", "unparsed"]
    assert j["raw_output"][3] == "dunno"
    assert j["criterion"].to_list() == ["helpful", "helpful", "safe", "safe"]
    assert ws.count("model=B") == 4 and ws.count("criterion=safe") == 2


def test_directory_of_files(tmp_path, ws):
    d = tmp_path / "dir"
    d.mkdir()
    for i in range(3):
        (d / f"part{i}.jsonl").write_text(json.dumps({"question_id": f"q{i}", "model": "m", "judge": "j",
                                                      "score": i + 1, "response": "r"}) + "\n")
    (d / "README.txt").write_text("not data")
    result = ws.ingest(d, mapping={"scale": "1-5"})
    assert (result.n_source_rows, result.n_ingested) == (3, 3)
    assert ws.count() == 3


def test_cli_style_map_pairs_and_errors(tmp_path, ws):
    path = tmp_path / "c.csv"
    path.write_text("k,ans,s,who\n1,hello,0.5,bob\n")
    from analysis.ingest.mapping import load_mapping

    m = load_mapping(None, ["item_id=k", "response=ans", "score=s", "scale=0-1"])
    m.constants["judge"] = "judge-x"
    m.constants["model"] = "model-y"
    result = ws.ingest(path, mapping=m)
    assert result.n_ingested == 1
    r = ws.judgments().row(0, named=True)
    assert (r["judge"], r["model"], r["score_norm"]) == ("judge-x", "model-y", 0.5)
    with pytest.raises(UserError, match="unknown role 'scroe'"):
        load_mapping(None, ["scroe=s"])
    with pytest.raises(UserError, match="must look like 1-10"):
        load_mapping(None, ["scale=ten"])
    bad = tmp_path / "bad.toml"
    bad.write_text("[columns\nscore=1")
    with pytest.raises(UserError, match="invalid TOML"):
        load_mapping(bad)


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_large_files_are_read_in_pieces(tmp_path, ws, monkeypatch, suffix):
    """Pieces of 7 rows: the same rows, rejects and duplicates as one piece would give."""
    from analysis.ingest import readers

    monkeypatch.setattr(readers, "CHUNK_ROWS", 7)
    rows = [{"judgment_id": f"j{i}", "question_id": f"q{i % 5}", "model": "m", "judge": "j", "score": 1 + i % 5,
             "critique": f"c{i}"} for i in range(30)]
    rows[20] = {**rows[3], "score": 5 if rows[3]["score"] != 5 else 4}   # same id as row 4, other content
    rows[25] = dict(rows[10])                                            # identical repeat
    rows[12] = {**rows[12], "score": "n/a"}                               # wrong type
    path = tmp_path / f"big.{suffix}"
    if suffix == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    else:
        pl.DataFrame([{**r, "score": str(r["score"])} for r in rows]).write_parquet(path, row_group_size=4)
    result = ws.ingest(path)
    assert (result.n_source_rows, result.n_rejected) == (30, 2)
    assert result.n_already_present == 1
    assert ws.count() == 27
    assert sorted(r["line"] for r in ws.rejects().to_dicts()) == [13, 21]
    assert sum("guessed columns" in n for n in result.notes) == 1
    assert ws.judgments()["scale_max"].unique().to_list() == [5.0]
