"""Formats whose real files are not in data/: written here from the real data in their documented
layouts, so every fact the real data fixes (position consistency, agreement, mean scores) must come
back unchanged through each format's reader."""

from __future__ import annotations

import json
import zipfile

import polars as pl
import pytest

from analysis.ingest import detect_format

from .conftest import DEMO
from .test_real_datasets import one, swap_pairs

LLMBAR_INST = DEMO / "llmbar" / "instances.jsonl"
LLMBAR_JUDG = DEMO / "llmbar" / "judgments.parquet"


def _llmbar_swap_cot(judge: str) -> pl.DataFrame:
    """One row per pair: both stage-0 Swap_CoT judgments of `judge`, winners about outputs 1/2."""
    j = pl.read_parquet(LLMBAR_JUDG).filter((pl.col("judge") == judge) & (pl.col("strategy") == "Swap_CoT")
                                             & (pl.col("stage") == 0))
    g1 = j.filter(~pl.col("swap")).select("subset", "idx", pl.col("winner").alias("w1"), pl.col("completion").alias("c1"))
    g2 = j.filter(pl.col("swap")).select("subset", "idx", pl.col("winner").alias("w2"), pl.col("completion").alias("c2"))
    inst = pl.read_ndjson(LLMBAR_INST)
    return g1.join(g2, on=["subset", "idx"]).join(inst, on=["subset", "idx"])


def _write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    return path


def test_fastchat_pair_from_llmbar(tmp_path, ws):
    """MT-Bench pairwise: g2 showed model_2 first; winners are already about model_1/model_2."""
    rows = []
    pairs = _llmbar_swap_cot("GPT-4")
    n_null = pairs["w1"].null_count() + pairs["w2"].null_count()

    def shown(question, a, b):  # FastChat's pair-v2 judge prompt (the file alone, without question.jsonl beside it)
        return (f"[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's "
                f"Answer]\n\n[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]")

    for k, r in enumerate(pairs.iter_rows(named=True)):
        name = {"1": "model_1", "2": "model_2", None: "error"}
        rows.append({"question_id": f"{r['subset']}/{r['idx']}", "model_1": "out1", "model_2": "out2",
                     "g1_winner": name[r["w1"]], "g2_winner": name[r["w2"]], "g1_judgment": r["c1"],
                     "g2_judgment": r["c2"], "judge": ["gpt-4", "pair-v2"], "turn": 1, "tstamp": 0})
        if k < 700:  # the rest come without the judge's prompt
            rows[-1].update(g1_user_prompt=shown(r["input"], r["output_1"], r["output_2"]),
                            g2_user_prompt=shown(r["input"], r["output_2"], r["output_1"]))
    path = _write_jsonl(tmp_path / "gpt-4_pair.jsonl", rows)
    assert detect_format(path) == "fastchat-pair"
    result = ws.ingest(path)
    assert result.n_source_rows == 734 and result.n_rejected == 0
    # the texts the judge saw, read from its prompt, each answer in its model's slot whichever order it was shown in
    first = pairs.row(0, named=True)
    texts = ws.q.frame("SELECT j.shown_first, it.prompt, ra.text AS a, rb.text AS b FROM judgment_view j "
                       "JOIN items it ON it.item_id = j.item_id JOIN responses ra ON ra.response_id = j.response_a "
                       "JOIN responses rb ON rb.response_id = j.response_b WHERE it.source_key = ?",
                       [f"{first['subset']}/{first['idx']}"])
    assert texts.height == 2 and set(texts["shown_first"]) == {"a", "b"}
    assert set(texts["a"]) == {first["output_1"]} and set(texts["b"]) == {first["output_2"]}
    assert set(texts["prompt"]) == {first["input"]}
    assert any("68 of 1,468 judgments without the answers they judged" in n for n in result.notes), result.notes
    r = swap_pairs(ws, "pair-v2").row(0, named=True)
    assert r["pairs"] == 734 and r["both_parsed"] == 730
    assert r["consistent"] / r["both_parsed"] == pytest.approx(0.848, abs=0.0015)
    assert one(ws, "SELECT count(*) FROM judgments WHERE parse_status = 'unparsed'")[0] == n_null == 5


def test_arena_hard_games_written_in_shown_frame(tmp_path, ws):
    """Arena-Hard: game 1 shows the baseline (here output_1) as A; game 2 swaps; scores are in the shown frame."""
    rows = []
    for r in _llmbar_swap_cot("Falcon").iter_rows(named=True):
        g1 = {"1": "A>B", "2": "B>A"}.get(r["w1"])        # output_1 shown as A
        g2 = {"1": "B>>A", "2": "A>>B"}.get(r["w2"])      # output_2 shown as A
        rows.append({"question_id": f"{r['subset']}/{r['idx']}", "model": "output_2", "judge": "falcon",
                     "games": [{"user_prompt": "x", "judgment": r["c1"], "score": g1},
                               {"user_prompt": "y", "judgment": r["c2"], "score": g2}]})
    path = _write_jsonl(tmp_path / "falcon.jsonl", rows)
    assert detect_format(path) == "arena-hard"
    ws.ingest(path, mapping={"constants": {"baseline": "output_1"}})
    r = swap_pairs(ws, "arena-hard").row(0, named=True)
    assert r["consistent"] / r["both_parsed"] == pytest.approx(0.152, abs=0.0015)
    first = one(ws, "SELECT avg(CASE WHEN verdict = shown_first THEN 1 ELSE 0 END) FROM judgments WHERE verdict IS NOT NULL")[0]
    assert first == pytest.approx(0.923, abs=0.001)
    assert one(ws, "SELECT DISTINCT model_a FROM judgment_view")[0] == "output_1"


def test_judgebench_from_llmbar(tmp_path, ws, capsys):
    rows = []
    for r in _llmbar_swap_cot("PaLM2").iter_rows(named=True):
        rows.append({"pair_id": f"{r['subset']}/{r['idx']}", "question": r["input"], "response_A": r["output_1"],
                     "response_B": r["output_2"], "label": "A>B" if r["label"] == 1 else "B>A", "judge_name": "arena_hard",
                     "response_model": "gpt-4o",
                     "judgments": [
                         {"judgment": {"judge_model": "palm2", "response": r["c1"]},
                          "decision": {"1": "A>B", "2": "B>A"}.get(r["w1"])},
                         {"judgment": {"judge_model": "palm2", "response": r["c2"]},
                          "decision": {"1": "B>A", "2": "A>B"}.get(r["w2"])}]})
    path = _write_jsonl(tmp_path / "judgebench.jsonl", rows)
    assert detect_format(path) == "judgebench"
    ws.ingest(path)
    r = swap_pairs(ws, "arena_hard").row(0, named=True)
    assert r["consistent"] / r["both_parsed"] == pytest.approx(0.598, abs=0.0015)
    assert one(ws, "SELECT count(*) FROM labels WHERE kind = 'gold'")[0] == 734
    # both answers of a JudgeBench pair come from one model: no win rate, and `scores` says why (a new user saw
    # "0 comparisons" for every model)
    from analysis.cli import main

    assert main(["scores", "-w", str(ws.path)]) == 0
    n = one(ws, "SELECT count(*) FROM judgments WHERE protocol = 'pairwise'")[0]
    assert f"({n:,} compare a model with itself" in capsys.readouterr().out


def test_alpaca_eval_from_pandalm(tmp_path, ws):
    """AlpacaEval annotations: preference 1/2 (1.5 tie); referenced_models['m'] names the output shown first."""
    test = pl.read_ndjson(DEMO / "pandalm" / "testset-v1.jsonl")
    gpt = pl.read_ndjson(DEMO / "pandalm" / "gpt-3.5-turbo-testset-v1.jsonl")
    rows = []
    for r in test.join(gpt, on="idx").iter_rows(named=True):
        m1, m2 = r["cmp_key"].split("_", 1)
        pref = {"1": 1, "2": 2, "Tie": 1.5}.get(r["gpt_result"])
        rows.append({"instruction": r["instruction"] + ("\n\n" + r["input"] if r["input"] else ""),
                     "output_1": r["response1"], "generator_1": m1, "output_2": r["response2"], "generator_2": m2,
                     "annotator": "gpt35_pandalm", "preference": pref,
                     "raw_completion": {"concise_explanation": r["gpt_reason"]},
                     "referenced_models": {"m": m1, "M": m2}, "dataset": str(r["idx"])})
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows))
    assert detect_format(path) == "alpaca-eval"
    result = ws.ingest(path)
    assert result.n_source_rows == 999 and result.n_rejected == 0
    assert one(ws, "SELECT count(*) FROM judgments WHERE parse_status = 'unparsed'")[0] == 25
    assert one(ws, "SELECT count(*) FROM judgments WHERE verdict = 'tie'")[0] == 38
    assert one(ws, "SELECT count(*) FROM judgments WHERE shown_first = 'a'")[0] == 999
    no_reason = gpt.filter(pl.col("gpt_reason").is_null() | (pl.col("gpt_reason") == "")).height
    assert one(ws, "SELECT count(*) FROM judgments WHERE critique IS NULL OR critique = ''")[0] == no_reason


def test_a_pair_scored_per_answer_from_pandalm(tmp_path, ws, capsys):
    """A pairwise judge that scores each answer and names no winner (FastChat's Vicuna-80 GPT-4 reviews open with
    "8 9"; a new user in session 19 had to work the verdict out by hand): score_a / score_b give it, the higher
    wins and equal scores tie, the scores stay as metadata and a score that is no number is rejected with its line
    and column. Written from PandaLM's real GPT-3.5 verdicts, so the verdicts must come back unchanged."""
    test = pl.read_ndjson(DEMO / "pandalm" / "testset-v1.jsonl")
    gpt = pl.read_ndjson(DEMO / "pandalm" / "gpt-3.5-turbo-testset-v1.jsonl")
    rows, want = [], {}
    for r in test.join(gpt, on="idx").iter_rows(named=True):
        m1, m2 = r["cmp_key"].split("_", 1)
        scores = {"1": (8, 6), "2": (5, 9), "Tie": (7, 7)}.get(r["gpt_result"])
        if scores is None:
            continue
        want[str(r["idx"])] = {"1": "a", "2": "b", "Tie": "tie"}[r["gpt_result"]]
        rows.append({"question_id": r["idx"], "prompt": r["instruction"], "model_a": m1, "response_1": r["response1"],
                     "model_b": m2, "response_2": r["response2"], "judge": "gpt-3.5-turbo", "score_1": scores[0],
                     "score_2": scores[1], "review": r["gpt_reason"]})
    rows.append({**rows[0], "question_id": "odd", "score_1": "eight"})
    result = ws.ingest(_write_jsonl(tmp_path / "reviews.jsonl", rows), dataset="scored")
    assert result.n_rejected == 1 and result.n_source_rows == len(rows)
    assert "column 'score_1'" in result.rejects[0].reason or result.rejects[0].column == "score_1", result.rejects
    got = dict(ws.con.execute(
        "SELECT i.source_key, j.verdict FROM judgments j JOIN items i USING (item_id)").fetchall())
    assert got == want and {"a", "b", "tie"} <= set(got.values())
    assert ws.con.execute("SELECT count(*) FROM judgments WHERE meta->>'score_1' IS NULL").fetchone()[0] == 0
    assert any("verdicts from each answer's score" in n for n in result.notes), result.notes
    texts = {r["response_1"] for r in rows} | {r["response_2"] for r in rows}
    assert ws.con.execute("SELECT count(DISTINCT text) FROM responses").fetchone()[0] == len(texts)
    # beside a verdict, each answer's score is metadata, whatever it holds ("8/10" is no reason to reject a row)
    rated = [{**{k: v for k, v in r.items() if not k.startswith("score")}, "winner": want[str(r["question_id"])],
              "rating_a": "8/10", "rating_b": "6/10"} for r in rows[:3]]
    kept = ws.ingest(_write_jsonl(tmp_path / "rated.jsonl", rated), dataset="rated")
    assert kept.n_rejected == 0 and kept.n_judgments_new == 3, kept
    assert ws.con.execute("SELECT count(*) FROM judgments WHERE dataset = 'rated' AND meta->>'rating_a' = '8/10'"
                          ).fetchone()[0] == 3
    # a file mixing both kinds of review (QLoRA's GPT-4 reviews, a new user's trial in session 20): a row with no
    # verdict takes it from its scores, a row with one keeps it even when its scores disagree
    mixed = [{**{k: v for k, v in r.items() if not k.startswith("score")}, "verdict": want[str(r["question_id"])]}
             for r in rows[:4]]
    mixed += [{**r, "verdict": None} for r in rows[4:10]]
    mixed[0] |= {"score_1": 1, "score_2": 9}
    mixed[-1] |= {"score_1": "8/10"}  # neither a verdict nor two numbers: imported with no verdict, and said
    result = ws.ingest(_write_jsonl(tmp_path / "mixed.jsonl", mixed), dataset="mixed")
    assert result.n_rejected == 0 and result.n_judgments_new == 10, result
    got = dict(ws.con.execute("SELECT i.source_key, j.verdict FROM judgments j JOIN items i USING (item_id) "
                              "WHERE j.dataset = 'mixed'").fetchall())
    assert got == {str(r["question_id"]): want[str(r["question_id"])] if r is not rows[9] else None for r in rows[:10]}
    assert any("5 rows without a verdict take it from each answer's score" in n for n in result.notes), result.notes
    assert any("1 rows have neither a verdict nor a number" in n for n in result.notes), result.notes
    # without the scores the error says how to map them
    bare = [{k: v for k, v in r.items() if not k.startswith("score")} for r in rows[:3]]
    with pytest.raises(Exception, match="score_a=COLUMN"):
        ws.ingest(_write_jsonl(tmp_path / "bare.jsonl", bare), dataset="bare")


def test_fastchat_single_and_clear_from_arena(tmp_path, ws):
    j = pl.read_parquet(DEMO / "arena_bench_v1" / "model_judgment.parquet")
    single = [{"question_id": r["question_id"], "model": r["model"], "judge": ["gpt-4", "single-v1"],
               "user_prompt": "", "judgment": r["judgment"], "score": -1 if r["score"] is None else r["score"],
               "turn": 1, "tstamp": 0} for r in j.iter_rows(named=True)]
    path = _write_jsonl(tmp_path / "gpt-4_single.jsonl", single)
    assert detect_format(path) == "fastchat-single"
    result = ws.ingest(path)
    assert result.n_source_rows == 4500 and result.n_rejected == 0
    assert one(ws, "SELECT count(*) FROM judgments WHERE parse_status = 'unparsed'")[0] == 39
    llama = one(ws, "SELECT avg(score) FROM judgment_view WHERE model = 'llama-13b'")[0]
    assert llama == pytest.approx(1.48, abs=0.005)

    # CLEAR results zip for one model: scores 0-1, critiques, issue labels kept
    sub = j.filter(pl.col("model") == "gpt-4-0314")
    clear_rows = pl.DataFrame({
        "question_id": sub["question_id"], "model_input": ["q"] * sub.height, "response": ["a"] * sub.height,
        "score": (sub["score"] / 10), "evaluation_text": sub["judgment"], "evaluation_summary": ["s"] * sub.height,
        "recurring_issues_str": ['["Incorrect facts", "Missing steps"]'] * sub.height, "ground_truth": [None] * sub.height,
    })
    zpath = tmp_path / "clear_results.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        clear_rows.write_parquet(tmp_path / "results.parquet")
        zf.write(tmp_path / "results.parquet", "run/results.parquet")
        zf.writestr("run/metadata.json", json.dumps({"gen_model_name": "gpt-4-0314", "eval_model_name": "gpt-4o"}))
    assert detect_format(zpath) == "clear"
    result = ws.ingest(zpath)
    assert result.n_source_rows == 300
    got = one(ws, "SELECT count(*), min(scale_min), max(scale_max) FROM judgments WHERE judge = 'gpt-4o'")
    assert got == (300, 0.0, 1.0)
    issues = one(ws, "SELECT json_extract(meta, '$.clear_issues') FROM judgments WHERE judge = 'gpt-4o' LIMIT 1")[0]
    assert json.loads(issues) == ["Incorrect facts", "Missing steps"]


def test_a_flat_copy_of_arena_bench_per_model_files(tmp_path, ws, capsys):
    """arena-bench-v1's per-model judgment files as arena-hard-auto published them (question_id, model, user_prompt,
    judgment, score: no judge, no turn), downloaded beside question.jsonl and the reference answers into one folder
    (written from the shipped real data in that layout). A new user's folder of this shape was refused whole; one file
    alone was read as generic with the judge prompt as the question, and --set judge was ignored."""
    import shutil

    from analysis.cli import main

    j = pl.read_parquet(DEMO / "arena_bench_v1" / "model_judgment.parquet")
    answers = pl.read_parquet(DEMO / "arena_bench_v1" / "model_answer.parquet")
    questions = {json.loads(x)["question_id"]: json.loads(x) for x in open(DEMO / "arena_bench_v1" / "question.jsonl")}
    refs = {json.loads(x)["question_id"]: json.loads(x)["choices"][0]["turns"][0]
            for x in open(DEMO / "arena_bench_v1" / "reference_answer_gpt-4.jsonl")}
    answer = {(r["question_id"], r["model_id"]): r["answer"] for r in answers.iter_rows(named=True)}
    folder = tmp_path / "arena-bench-v1"
    folder.mkdir()
    shutil.copy(DEMO / "arena_bench_v1" / "question.jsonl", folder / "question.jsonl")
    shutil.copy(DEMO / "arena_bench_v1" / "reference_answer_gpt-4.jsonl", folder / "reference_answer_gpt-4.jsonl")
    models = ["claude-1", "llama-13b"]
    for model in models:
        rows = []
        for r in j.filter(pl.col("model") == model).iter_rows(named=True):
            q = questions[r["question_id"]]["turns"][0]
            prompt = (f"[Question]\n{q}\n\n[The Start of Reference Answer]\n{refs[r['question_id']]}\n"
                      f"[The End of Reference Answer]\n\n[The Start of Assistant's Answer]\n"
                      f"{answer[(r['question_id'], model)]}\n[The End of Assistant's Answer]")
            rows.append({"question_id": r["question_id"], "model": model, "user_prompt": prompt,
                         "judgment": r["judgment"], "score": r["score"]})
        _write_jsonl(folder / f"{model}.jsonl", rows)
    (folder / "notes.jsonl").write_text('{"what": "not judgments"}\n')
    assert detect_format(folder / "claude-1.jsonl") == "fastchat-single"
    assert detect_format(folder) == "fastchat"
    assert main(["ingest", "-w", str(ws.path), str(folder), "--set", "judge=gpt-4", "--set", "model=x"]) == 0
    judges = one(ws, "SELECT list(DISTINCT judge), count(*) FROM judgments")
    assert judges == (["gpt-4"], 600)
    # one item per question, with its reference, and every answer's text (read out of the judge prompt)
    assert one(ws, "SELECT count(*), count(reference), count(DISTINCT dataset) FROM items") == (300, 300, 1)
    for model in models:
        stored = {t.strip() for (t,) in ws.q.rows("SELECT text FROM responses WHERE model = ?", [model])}
        assert stored == {answer[(qid, model)].strip() for qid in questions}, model
    # a file that is not judgments is left out and said so; a --set a named format does not read is said so too
    printed = capsys.readouterr().out
    assert "left out: notes.jsonl" in printed and "--set model is used only by --format generic" in printed
