"""Evaluation-framework outputs, imported from real files nobody here wrote (data/formats/*/README.md):
Inspect AI logs (.eval and .json), promptfoo result files, AlpacaEval annotations; and one identity per
judge and model (analysis/identities.py). Every expected count is computed from the raw file here, without
the adapters."""

from __future__ import annotations

import json
import re
import zipfile

import polars as pl
import pytest

from analysis import Workspace
from analysis.identities import ALIAS_FILE, Identities, name_key
from analysis.ingest import detect_format
from analysis.reliability import family_of

from .conftest import ROOT
from .test_real_datasets import one

FORMATS = ROOT / "data" / "formats"
INSPECT = FORMATS / "inspect"
PROMPTFOO = FORMATS / "promptfoo"
ALPACA = FORMATS / "alpaca_eval"


def rows(ws: Workspace, sql: str, params=None) -> list[tuple]:
    return ws.con.execute(sql, params or []).fetchall()


def eval_samples(path) -> list[dict]:
    """The samples of an .eval zip (deflate members), read with the standard library."""
    with zipfile.ZipFile(path) as zf:
        return [json.loads(zf.read(n)) for n in zf.namelist() if n.startswith("samples/")]


def audit_value(audit: pl.DataFrame, judge: str, metric: str):
    r = audit.filter((pl.col("judge") == judge) & (pl.col("metric") == metric))
    assert r.height == 1, (judge, metric, audit["judge"].unique().to_list())
    return r.row(0, named=True)


# ---- Inspect AI ----------------------------------------------------------------------------------------
def test_inspect_eval_model_graded(ws):
    path = INSPECT / "security-guide-16.eval"
    samples = eval_samples(path)
    grades = [s["scores"]["model_graded_fact"]["value"] for s in samples]
    assert detect_format(path) == "inspect"
    result = ws.ingest(path)
    assert (result.format, result.dataset) == ("inspect", "security_guide")
    assert result.n_source_rows == len(samples) == 16 and result.n_rejected == 0
    n_scores = sum(len(s["scores"]) for s in samples)
    assert one(ws, "SELECT count(*) FROM judgments")[0] == n_scores == 16
    # C/I on 0-1; the grader is the model called inside the scorer's span (the evaluated model itself here)
    got = dict(rows(ws, "SELECT score, count(*) FROM judgments GROUP BY score"))
    assert got == {1.0: grades.count("C"), 0.0: grades.count("I")} == {1.0: 11, 0.0: 5}
    assert rows(ws, "SELECT DISTINCT judge, model, criterion, template, scale_min, scale_max FROM judgments") == [
        ("gpt-4o-mini", "gpt-4o-mini", "model_graded_fact", "model_graded_fact", 0.0, 1.0)]
    first = next(s for s in samples if s["id"] == 1)
    got = rows(ws, """SELECT i.prompt, i.reference, v.critique, r.text, json_extract_string(v.meta, '$.raw_judge'),
                             json_extract_string(v.meta, '$.value'), v.sample
                      FROM judgments v JOIN items i USING (item_id) JOIN responses r USING (response_id)
                      WHERE i.source_key = 'security_guide/1'""")
    assert got == [(first["input"][0]["content"], first["target"], first["scores"]["model_graded_fact"]["explanation"],
                    first["output"]["completion"], "openai/gpt-4o-mini", "C", 1)]
    # critiques ready for issue discovery, and the audit runs
    assert one(ws, "SELECT count(*), min(length(critique)) > 500 FROM judgments WHERE critique IS NOT NULL") == (16, True)
    audit = ws.audit()
    assert set(audit["judge"]) - {"(humans)"} == {"gpt-4o-mini"} and audit.height > 5


def test_inspect_directory_json_and_epochs(ws):
    """One call imports the whole folder: .json and .eval logs (deflate and zstd), one to five epochs."""
    expected = {}
    for p in sorted(INSPECT.iterdir()):
        if p.suffix == ".json":
            log = json.loads(p.read_text(encoding="utf-8"))
            samples = log["samples"]
        elif p.suffix == ".eval":
            with zipfile.ZipFile(p) as zf:
                names = [n for n in zf.namelist() if n.startswith("samples/")]
            samples = eval_samples(p) if p.name != "unscored-zstd.eval" else [{"scores": {}}] * len(names)
        else:
            continue
        expected[p.name] = (len(samples), sum(len(s.get("scores") or {}) for s in samples))
    assert len(expected) == 7
    result = ws.ingest(INSPECT)
    assert result.format == "inspect" and result.n_rejected == 0
    assert result.n_source_rows == sum(n for n, _ in expected.values()) == 76
    per_file = dict(rows(ws, """SELECT json_extract_string(i.meta, '$.task'), count(*) FROM judgments j
                                JOIN items i USING (item_id) GROUP BY 1"""))
    assert sum(per_file.values()) == sum(k for _, k in expected.values()) == 75
    # logs of one task share its items: security_guide's 3 JSON samples are 3 of the .eval's 16
    assert dict(rows(ws, "SELECT meta->>'$.task', count(*) FROM items GROUP BY 1"))["security_guide"] == 16
    # the five-epoch log: 10 samples x 5 epochs, each epoch one `sample`, each item judged 5 times
    log5 = eval_samples(INSPECT / "popularity-5-epochs.eval")
    assert {s["epoch"] for s in log5} == {1, 2, 3, 4, 5} and len(log5) == 50
    five = rows(ws, """SELECT count(*), count(DISTINCT sample), count(DISTINCT item_id) FROM judgments
                       WHERE model = 'claude-sonnet-4-20250514'""")
    assert five == [(50, 5, 10)]
    assert one(ws, """SELECT max(c), min(c) FROM (SELECT count(*) c FROM judgments WHERE model = 'claude-sonnet-4-20250514'
                      GROUP BY item_id)""") == (5, 5)
    correct = sum(s["scores"]["match"]["value"] == "C" for s in log5)
    assert one(ws, "SELECT sum(score) FROM judgments WHERE model = 'claude-sonnet-4-20250514'")[0] == correct == 33
    # a deterministic scorer is its own judge and its explanation (the output echoed) is no critique
    assert rows(ws, "SELECT DISTINCT judge FROM judgments WHERE template = 'match'") == [("match",)]
    assert one(ws, "SELECT count(*) FROM judgments WHERE template = 'match' AND critique IS NOT NULL")[0] == 0
    # the zstd log's sample has no scores: its input and output are imported, no judgment
    assert any("without scores" in n for n in result.notes)
    assert one(ws, "SELECT count(*) FROM responses r JOIN items i USING (item_id) WHERE i.source_key = 'task/1'")[0] == 1
    # a numeric scorer: 0.0 on a guessed 0-1 scale
    assert rows(ws, """SELECT score, scale_min, scale_max, json_extract(meta, '$.scale_guessed') FROM judgments
                       WHERE template = 'closeness_log'""") == [(0.0, 0.0, 1.0, "true")]
    # the 2024 JSON log (step events, no spans): the grader found from the model call inside the scorer step
    assert rows(ws, "SELECT judge, score FROM judgments j JOIN items i USING (item_id) WHERE i.source_key = 'input_task/1'") \
        == [("gpt-4o-mini", 1.0)]


def test_inspect_unknown_value_shapes_and_rejects(tmp_path, ws):
    """A real log with its values changed to shapes the adapter does not know: kept in meta, never a crash;
    an errored sample and one without an id are rejected at their positions."""
    log = json.loads((INSPECT / "security-guide.json").read_text(encoding="utf-8"))
    s1, s2, s3 = log["samples"]
    s1["scores"]["model_graded_fact"]["value"] = {"accuracy": "C", "style": 4, "notes": ["x"]}
    s2["scores"]["model_graded_fact"]["value"] = [1, 2]
    s3["scores"] = {}
    s3["error"] = {"message": "RuntimeError: the sandbox died", "traceback": "..."}
    log["samples"].append({k: v for k, v in s2.items() if k != "id"})
    path = tmp_path / "mutated.json"
    path.write_text(json.dumps(log), encoding="utf-8")
    result = ws.ingest(path)
    assert result.n_source_rows == 4 and result.n_rejected == 2 and result.n_ingested == 2
    assert sorted((r.line, r.column) for r in result.rejects) == [(3, "error"), (4, "id")]
    assert "the sandbox died" in next(r.reason for r in result.rejects if r.line == 3)
    got = rows(ws, "SELECT criterion, score, scale_min, scale_max, parse_status, meta->>'$.value' FROM judgments ORDER BY 1")
    assert got == [("model_graded_fact", None, 0.0, 1.0, "unparsed", "[1,2]"),
                   ("model_graded_fact/accuracy", 1.0, 0.0, 1.0, "ok", "C"),
                   ("model_graded_fact/notes", None, 0.0, 1.0, "unparsed", '["x"]'),
                   ("model_graded_fact/style", 4.0, 1.0, 5.0, "ok", None)]
    assert one(ws, "SELECT count(*) FROM rejects WHERE line IN (3, 4)")[0] == 2


# ---- promptfoo -----------------------------------------------------------------------------------------
def test_promptfoo_export_llm_rubric(ws):
    path = PROMPTFOO / "sample-export.json"
    raw = json.loads(path.read_text(encoding="utf-8"))["results"]["results"]
    components = [c for r in raw for c in r["gradingResult"]["componentResults"]]
    assert detect_format(path) == "promptfoo"
    result = ws.ingest(path)
    assert result.n_source_rows == len(raw) == 4 and result.n_rejected == 0
    assert one(ws, "SELECT count(*) FROM judgments")[0] == len(components) == 14
    assert one(ws, "SELECT count(*) FROM items")[0] == len({r["testIdx"] for r in raw}) == 2
    assert one(ws, "SELECT count(*) FROM responses")[0] == 4
    by_type = dict(rows(ws, "SELECT template, count(*) FROM judgments GROUP BY 1"))
    assert by_type == {t: sum(c["assertion"]["type"] == t for c in components) for t in by_type}
    # provider = model (its maker prefix dropped, the raw id kept); no grader named: judge = assertion type
    assert set(r[0] for r in rows(ws, "SELECT DISTINCT model FROM judgments")) == {"gpt-5", "gpt-5-mini"}
    assert one(ws, "SELECT count(*) FROM judgments WHERE meta->>'$.raw_model' LIKE 'openai:%'")[0] == 14
    rubric = [(r["response"]["output"], c["reason"]) for r in raw for c in r["gradingResult"]["componentResults"]
              if c["assertion"]["type"] == "llm-rubric"]
    got = rows(ws, """SELECT r.text, v.critique, v.judge, v.criterion, v.score, v.scale_min, v.scale_max
                      FROM judgments v JOIN responses r USING (response_id) WHERE template = 'llm-rubric'
                      ORDER BY source_line""")
    assert [(g[0], g[1]) for g in got] == rubric
    assert {g[2:] for g in got} == {("llm-rubric", "llm-rubric: Do not apologize", 1.0, 0.0, 1.0),
                                    ("llm-rubric", "llm-rubric: explains that there are no single people (they are all "
                                     "married)", 1.0, 0.0, 1.0)}
    # deterministic checks: pass/fail scores, their reason kept as raw output but not as a critique
    lat = rows(ws, "SELECT score, critique, raw_output FROM judgments WHERE template = 'latency' ORDER BY source_line")
    assert lat[0] == (0.0, None, "Latency 5794ms is greater than threshold 3000ms")
    assert one(ws, "SELECT count(*) FROM judgments WHERE critique IS NOT NULL")[0] == len(rubric) == 4
    assert ws.audit().height > 0


def test_promptfoo_jsonl_lines(tmp_path, ws):
    """`promptfoo eval -o results.jsonl` writes one result per line: the same results as lines of a file."""
    raw = json.loads((PROMPTFOO / "sample-export.json").read_text(encoding="utf-8"))["results"]["results"]
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in raw) + "not json\n", encoding="utf-8")
    assert detect_format(path) == "promptfoo"
    result = ws.ingest(path)
    assert result.n_source_rows == 5 and [r.line for r in result.rejects] == [5]
    assert one(ws, "SELECT count(*), count(critique) FROM judgments") == (14, 4)


def test_promptfoo_assert_set_and_named_metrics(ws):
    path = PROMPTFOO / "french-greeting-output.json"
    raw = json.loads(path.read_text(encoding="utf-8"))["results"]["results"]
    result = ws.ingest(path)
    assert result.n_source_rows == 1 and result.n_rejected == 0
    comps = raw[0]["gradingResult"]["componentResults"]
    got = rows(ws, "SELECT criterion, template, score, critique IS NOT NULL FROM judgments ORDER BY source_key")
    assert len(got) == len(comps) == 6
    assert {(c, t) for c, t, _, _ in got} == {("Correctness", "contains"), ("Tone", "llm-rubric"),
                                               ("Topicality", "answer-relevance"), ("Performance", "assert-set"),
                                               ("cost", "cost"), ("latency", "latency")}
    scores = {c: s for c, _, s, _ in got}
    assert scores["Topicality"] == comps[2]["score"] and scores["Performance"] == 0.5
    assert [c for c, _, _, has in got if has] == ["Tone"]  # answer-relevance's reason is promptfoo's, not a grader's


def test_promptfoo_select_best_errors_and_repeats(ws):
    """Written by promptfoo 0.120.16 itself (local exec providers and grader, data/formats/promptfoo/README.md):
    select-best as pairwise judgments, a failed provider call rejected, `--repeat 2` as samples."""
    run = PROMPTFOO / "local-run"
    raw = json.loads((run / "select-best-results.json").read_text(encoding="utf-8"))["results"]["results"]
    failed = [i for i, r in enumerate(raw, start=1) if r["failureReason"] == 2]
    comps = [c for r in raw for c in (r.get("gradingResult") or {}).get("componentResults", [])]
    best = [c for c in comps if c["assertion"]["type"] == "select-best"]
    result = ws.ingest(run / "select-best-results.json")
    assert result.format == "promptfoo" and result.n_source_rows == len(raw) == 6 and result.n_ingested == 5
    assert [r.line for r in result.rejects] == failed == [6] and "provider local-long failed" in result.rejects[0].reason
    assert one(ws, "SELECT count(*) FROM rejects WHERE line = 6")[0] == 1
    assert one(ws, "SELECT count(*) FROM judgments WHERE protocol = 'pointwise'")[0] == len(comps) - len(best) == 7
    # two select-best comparisons of two outputs each: one pairwise judgment each, the selected output winning
    pairs = rows(ws, """SELECT v.model_a, v.model_b, v.verdict, v.shown_first, v.critique, v.judge, ra.text, rb.text
                        FROM judgments v JOIN responses ra ON ra.response_id = v.response_a
                        JOIN responses rb ON rb.response_id = v.response_b WHERE protocol = 'pairwise' ORDER BY source_line""")
    winners = [r["response"]["output"] for r in raw for c in (r.get("gradingResult") or {}).get("componentResults", [])
               if c["assertion"]["type"] == "select-best" and c["pass"]]
    assert len(pairs) == len(best) // 2 == 2
    assert [p[6] if p[2] == "a" else p[7] for p in pairs] == winners == ["Paris.", "Shakespeare."]
    assert {p[3] for p in pairs} == {None} and {p[4] for p in pairs} == {None}  # order not recorded; no critique
    assert {p[5] for p in pairs} == {"exec:python3 /tmp/pfrun/grader.py"}  # defaultTest.options.provider
    # the grader's own words are critiques (llm-rubric, factuality)
    fact = rows(ws, "SELECT score, critique FROM judgments WHERE template = 'factuality' ORDER BY score")
    assert fact[0][0] == 0.0 and "Marlowe" in fact[0][1]
    # --repeat 2 copies every test under new indices: the same items, sample 0 and 1
    rep = json.loads((run / "repeat-2-results.json").read_text(encoding="utf-8"))["results"]["results"]
    assert len({r["testIdx"] for r in rep}) == 2 * len({r["testIdx"] for r in raw})
    result = ws.ingest(run / "repeat-2-results.json", dataset=result.dataset)
    assert result.n_items_new == 0 and result.n_rejected == 2
    got = dict(rows(ws, "SELECT sample, count(*) FROM judgments WHERE meta->>'$.eval_id' = ? GROUP BY 1",
                    [json.loads((run / "repeat-2-results.json").read_text())["evalId"]]))
    assert got == {0: 9, 1: 9}


# ---- AlpacaEval ----------------------------------------------------------------------------------------
def test_alpaca_eval_referenced_models_name_output_keys(ws):
    path = ALPACA / "gpt-3.5-turbo-0301_alpaca_eval_cot_gpt4_turbo_fn_rows300-499.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    def tied(r):  # the judge ranked m and M equal: AlpacaEval's referenced_models is then not to be trusted
        return r["raw_completion"] is not None and len({m["rank"] for m in r["raw_completion"]["ordered_models"]}) < 2

    shown = [None if tied(r) else "a" if (r["referenced_models"] or {}).get("m") == "output_1" else
             "b" if (r["referenced_models"] or {}).get("m") == "output_2" else None for r in raw]
    assert sum(map(tied, raw)) == 1
    verdict = [{1.0: "a", 2.0: "b", 1.5: "tie"}[r["preference"]] for r in raw]
    assert detect_format(path) == "alpaca-eval"
    result = ws.ingest(path)
    assert result.n_source_rows == len(raw) == 200 and result.n_rejected == 0
    got = dict(((s, v), n) for s, v, n in rows(ws, "SELECT shown_first, verdict, count(*) FROM judgments GROUP BY ALL"))
    want: dict = {}
    for s, v in zip(shown, verdict):
        want[(s, v)] = want.get((s, v), 0) + 1
    assert got == want and want[(None, "tie")] == 1
    assert shown.count("a") == 81 and shown.count("b") == 117
    assert result.dataset == "alpaca_eval"  # whatever the file is called: every model's file judges the same items
    # the alias -> response map, in the response frame
    first = raw[0]
    meta = json.loads(one(ws, "SELECT meta FROM judgments WHERE source_line = 1")[0])
    assert first["referenced_models"] == {"M": "output_1", "m": "output_2"}
    assert meta["slot_aliases"] == {"m": "b", "M": "a"} and meta["slot_aliases_from"] == "referenced_models"
    assert one(ws, "SELECT critique FROM judgments WHERE source_line = 1")[0] == first["raw_completion"]["concise_explanation"]
    # the page says which model each alias stands for, quoted in the critique or not ("Model M's answer")
    unquoted = [r for r in rows(ws, "SELECT judgment_id, critique FROM judgments WHERE critique IS NOT NULL")
                if re.search(r"\bModel M\b", r[1]) and "'M'" not in r[1] and '"M"' not in r[1]]
    assert unquoted
    assert "Model 'M'" in ws.instance(unquoted[0][0])["critique_names"]
    # the identical-output tie carries no order and no critique
    assert one(ws, "SELECT count(*) FROM judgments WHERE meta->>'$.identical_outputs' = 'true' AND critique IS NULL")[0] == 1
    # p_first_shown_wins, computed here from the raw file: verdicts for the response 'm' stood for
    decided = [(s, v) for s, v in zip(shown, verdict) if s and v != "tie"]
    p = sum(s == v for s, v in decided) / len(decided)
    audit = ws.audit()
    r = audit_value(audit, "alpaca_eval_cot_gpt4_turbo_fn", "p_first_shown_wins")
    assert r["value"] == pytest.approx(p, abs=1e-12) and r["n"] == len(decided) == 198


def test_a_plain_file_of_alpaca_eval_critiques_says_which_names_it_cannot_map(ws, tmp_path):
    """Session 18: a new user wrote AlpacaEval's annotations as a plain JSONL file, as they would at first. Their
    critiques name the outputs "Model 'M'" / "Model 'm'", which change places from row to row. Where a row gives no
    `slot_aliases` column, a sentence about Model 'M' counts for neither response (it had counted for the one it
    mentioned in passing), and the issue set says which names it could not map; where a row gives the column (JSON
    text, as a plain file holds it), the sentence counts for the response it names."""
    raw = json.loads((ALPACA / "gpt-3.5-turbo-0301_alpaca_eval_cot_gpt4_turbo_fn_rows300-499.json").read_text("utf-8"))
    path = tmp_path / "plain.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for k, r in enumerate(raw):
            if not (r["raw_completion"] and r["preference"] in (1.0, 2.0)):
                continue
            refs = {name: {"output_1": "a", "output_2": "b"}[out] for name, out in r["referenced_models"].items()}
            f.write(json.dumps({
                "judgment_id": f"r{k}", "item_id": r["instruction"][:60], "prompt": r["instruction"],
                "model_a": r["generator_1"], "model_b": r["generator_2"], "response_a": r["output_1"],
                "response_b": r["output_2"], "verdict": {1.0: "a", 2.0: "b"}[r["preference"]], "judge": "gpt-4-turbo",
                "critique": r["raw_completion"]["concise_explanation"],
                # every other row maps its names, as JSON text
                "slot_aliases": json.dumps(refs) if k % 2 else None,
            }) + "\n")
    assert ws.ingest(path, format="generic").n_rejected == 0
    iset = ws.issues.discover()
    unmapped = iset.unmapped_names
    assert unmapped and set(unmapped) <= {"Model 'M'", "Model 'm'", "Model M", "Model m", "model 'M'", "model 'm'"}
    segs = rows(ws, """SELECT s.about, s.text, s.response_id, j.response_a, j.response_b,
                              json_extract_string(j.meta, '$.slot_aliases')
                       FROM segments s JOIN judgments j USING (judgment_id)
                       WHERE s.issue_set_id = ? AND s.kind <> 'evidence'""", [iset.id])
    opening = re.compile(r"^Model '([Mm])'")
    unmapped_rows = [s for s in segs if s[5] is None and opening.match(s[1])]
    mapped_rows = [s for s in segs if s[5] is not None and opening.match(s[1])]
    assert len(unmapped_rows) >= 20 and len(mapped_rows) >= 20
    assert all(s[2] is None for s in unmapped_rows)
    for about, text, rid, a, b, aliases in mapped_rows:
        named, other = (a, b) if json.loads(aliases)[opening.match(text).group(1)] == "a" else (b, a)
        # (a comparison in the winner's favour counts against the other one)
        assert rid == (other if about == "contrast" else named), text


def test_alpaca_eval_order_from_ranked_completion(ws):
    """No referenced_models: the ranked raw completion and the preference give the aliases, as AlpacaEval's own
    ChainOfThoughtProcessor derives them (rank 1 = output_<preference>)."""
    path = ALPACA / "gpt-3.5-turbo-0301_alpaca_eval_gpt4_turbo_fn_rows0-99.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert all("referenced_models" not in r for r in raw)
    shown = []
    for r in raw:
        best = next(m["model"] for m in r["raw_completion"]["ordered_models"] if m["rank"] == 1)
        m_is_preferred = best == "m"
        pref_slot = "a" if r["preference"] == 1.0 else "b"
        shown.append(pref_slot if m_is_preferred else ("b" if pref_slot == "a" else "a"))
    ws.ingest(path)
    got = dict(rows(ws, "SELECT shown_first, count(*) FROM judgments GROUP BY 1"))
    assert got == {"a": shown.count("a"), "b": shown.count("b")} == {"a": 57, "b": 43}
    assert audit_value(ws.audit(), "alpaca_eval_gpt4_turbo_fn", "p_first_shown_wins")["n"] == 100


def test_alpaca_eval_python_literal_and_generator_names(tmp_path, ws):
    """referenced_models written as a Python literal naming generators, and as JSON naming output keys."""
    raw = json.loads((ALPACA / "gpt-3.5-turbo-0301_alpaca_eval_cot_gpt4_turbo_fn_rows300-499.json").read_text())[:4]
    raw[0]["referenced_models"] = "{'m': 'gpt-3.5-turbo-0301', 'M': 'gpt4_1106_preview'}"
    raw[1]["referenced_models"] = json.dumps({"m": "output_1", "M": "output_2"})
    raw[2]["raw_completion"] = str(raw[2]["raw_completion"])  # a Python repr of the dict
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(raw))
    ws.ingest(path, format="alpaca-eval")
    got = rows(ws, "SELECT source_line, shown_first, meta->>'$.slot_aliases.M', critique IS NOT NULL FROM judgments "
                   "ORDER BY 1")
    assert got[0] == (1, "b", "a", True) and got[1] == (2, "a", "b", True)
    assert got[2][3] and not one(ws, "SELECT critique FROM judgments WHERE source_line = 3")[0].startswith("{")


# ---- identities ----------------------------------------------------------------------------------------
def test_identity_rules():
    ids = Identities()
    assert name_key("GPT-4") == name_key("gpt_4") == name_key("gpt4") == "gpt4"
    assert ids.canonical("openai/gpt-4o-mini") == ids.canonical("openai:chat:gpt-4o-mini") == "gpt-4o-mini"
    assert ids.canonical("anthropic:messages:claude-3-5-sonnet-20241022") == "claude-3-5-sonnet-20241022"
    assert ids.canonical("gpt-35-turbo") == "gpt-3.5-turbo" and ids.canonical("gpt35_turbo_instruct") == "gpt-3.5-turbo-instruct"
    # kept: another host's build, a deployment name, snapshots and the product name are not the same model
    for name in ("ollama/llama3.1", "together/meta-llama/Llama-3-70b", "azure:chat:my-deploy", "gpt-4-0314", "chatgpt"):
        assert ids.canonical(name) == name
    assert ids.resolve(["GPT-4", "gpt-4-0613", "chat_gpt", "ChatGPT"], known=["gpt-4"]) == {"GPT-4": "gpt-4",
                                                                                          "ChatGPT": "chat_gpt"}
    assert family_of("openai:gpt-4o") == "openai" and family_of("anthropic/claude-3-opus") == "anthropic"


def test_identities_at_import_and_in_the_audit(tmp_path):
    """The same judge under two spellings in two files is one judge; an alias file beside the workspace adds
    merges and families; raw names stay in meta."""
    (tmp_path / ALIAS_FILE).write_text('[aliases]\n"chatgpt" = "gpt-3.5-turbo"\n"gpt-4o" = ["house-judge"]\n\n'
                                       '[families]\n"my-tune" = "openai"\n', encoding="utf-8")
    a = [{"item_id": f"q{i}", "model": "My-Tune", "response": f"r{i}", "judge": "GPT-4", "score": i % 5 + 1}
         for i in range(20)]
    b = [{"item_id": f"q{i}", "model": "my_tune", "response": f"r{i}", "judge": "gpt_4", "score": (i + 1) % 5 + 1}
         for i in range(20)]
    c = [{"item_id": f"q{i}", "model": "llama-2-7b", "response": f"s{i}", "judge": judge, "score": 3}
         for i in range(5) for judge in ("chat_gpt", "gpt4")]
    c.append({"item_id": "q0", "model": "llama-2-7b", "response": "s0", "judge": "House_Judge", "score": 2})
    for name, data in (("a.jsonl", a), ("b.jsonl", b), ("c.jsonl", c)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    ws = Workspace(tmp_path / "ws.duckdb")
    try:
        for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
            assert ws.ingest(tmp_path / name, mapping={"scale": [1, 5]}, dataset="ids").n_rejected == 0
        judges = dict(rows(ws, "SELECT judge, count(*) FROM judgments GROUP BY 1"))
        assert judges == {"GPT-4": 45, "gpt-3.5-turbo": 5, "gpt-4o": 1}
        assert dict(rows(ws, "SELECT model, count(*) FROM responses GROUP BY 1")) == {"My-Tune": 20, "llama-2-7b": 5}
        raw = rows(ws, "SELECT DISTINCT meta->>'$.raw_judge', meta->>'$.raw_model' FROM judgments ORDER BY 1 NULLS FIRST")
        assert raw == [(None, None), ("House_Judge", None), ("chat_gpt", None), ("gpt4", None), ("gpt_4", "my_tune")]
        # the audit sees one GPT-4, and the alias file puts the fine-tune in its family: a self-preference figure
        audit = ws.audit()
        assert set(audit["judge"]) - {"(humans)"} == {"GPT-4", "gpt-3.5-turbo", "gpt-4o"}
        sp = audit_value(audit, "GPT-4", "self_preference_offset")
        assert sp["value"] is not None and "family openai" in sp["note"] and sp["n"] == 40
    finally:
        ws.close()
    with pytest.raises(Exception, match="alias"):
        Identities.load(tmp_path / "missing.toml", required=True)
    bad = tmp_path / "bad.toml"
    bad.write_text('[aliases]\n"x" = 3\n', encoding="utf-8")
    with pytest.raises(Exception, match="must be a name"):
        Identities.load(bad)
