"""Every real dataset in data/demo ingested completely, with facts measured on the store.

Reference values come from ../shared/DESIGN.md and ../shared/data/README.md (measured there by
independent code)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from analysis import Workspace

from .conftest import DEMO


def ingested(tmp_path_factory, source: str) -> tuple[Workspace, object]:
    """A fresh workspace holding one shipped dataset, and the import's result."""
    ws = Workspace(tmp_path_factory.mktemp(source) / "ws.duckdb")
    return ws, ws.ingest(DEMO / source)


def one(ws: Workspace, sql: str, params=None):
    return ws.con.execute(sql, params or []).fetchall()[0]


def swap_pairs(ws: Workspace, template: str) -> pl.DataFrame:
    """Per judge: pairs shown in both orders, how many had both verdicts, and how many agreed."""
    return ws.sql(
        """
        WITH s AS (
            SELECT judge, item_id, response_a, response_b,
                   max(verdict) FILTER (WHERE shown_first = 'a') AS va,
                   max(verdict) FILTER (WHERE shown_first = 'b') AS vb
            FROM judgments WHERE template = ? AND protocol = 'pairwise' GROUP BY ALL
        )
        SELECT judge, count(*) AS pairs,
               count(*) FILTER (WHERE va IS NOT NULL AND vb IS NOT NULL) AS both_parsed,
               count(*) FILTER (WHERE va = vb) AS consistent
        FROM s GROUP BY judge ORDER BY judge
        """, [template])


# ---- LLMBar ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def llmbar(tmp_path_factory):
    return ingested(tmp_path_factory, "llmbar")


def test_llmbar_row_accounting(llmbar):
    ws, result = llmbar
    source_rows = 1200 + pl.read_parquet(DEMO / "llmbar" / "judgments.parquet").height
    assert result.format == "llmbar"
    assert result.n_source_rows == source_rows == 90_112
    assert result.n_ingested + result.n_rejected == source_rows
    assert result.n_rejected == 0
    # every source judgment row is one pairwise judgment; Rating rows add a score per output
    n_pairwise = one(ws, "SELECT count(*) FROM judgments WHERE protocol = 'pairwise'")[0]
    assert n_pairwise == 88_912
    n_rating = pl.read_parquet(DEMO / "llmbar" / "judgments.parquet").filter(
        pl.col("strategy").str.starts_with("Rating")).height
    assert one(ws, "SELECT count(*) FROM judgments WHERE protocol = 'pointwise'")[0] == 2 * n_rating


def test_llmbar_unparsed_verdicts_are_kept(llmbar):
    ws, _ = llmbar
    assert one(ws, "SELECT count(*) FROM judgments WHERE protocol='pairwise' AND parse_status='unparsed'")[0] == 348
    assert one(ws, "SELECT count(*) FROM judgments WHERE protocol='pairwise' AND verdict IS NULL")[0] == 348


def test_llmbar_judges_templates_and_gold(llmbar):
    ws, _ = llmbar
    judges = {r[0] for r in ws.con.execute("SELECT DISTINCT judge FROM judgments").fetchall()}
    assert judges == {"GPT-4", "ChatGPT", "ChatGPT-0301", "LLaMA2", "PaLM2", "Falcon"}
    templates = {r[0] for r in ws.con.execute("SELECT DISTINCT template FROM judgments").fetchall()}
    assert {"Vanilla", "CoT", "Swap", "Swap_CoT", "Rating", "Metrics_Reference", "Swap_CoT:stage1"} <= templates
    assert one(ws, "SELECT count(*), count(DISTINCT item_id) FROM labels WHERE kind = 'gold'") == (1200, 1200)
    # gold verdicts are about the responses: label 1 -> 'a' (output_1 is response_a)
    a_share = one(ws, "SELECT avg(CASE WHEN verdict = 'a' THEN 1 ELSE 0 END) FROM labels")[0]
    inst = pl.read_ndjson(DEMO / "llmbar" / "instances.jsonl")
    assert a_share == pytest.approx((inst["label"] == 1).mean())


def test_llmbar_position_consistency_matches_reference(llmbar):
    """DESIGN.md: Swap_CoT stage 0, consistency over pairs with both verdicts parsed."""
    ws, _ = llmbar
    pairs = swap_pairs(ws, "Swap_CoT")
    got = {r["judge"]: r for r in pairs.iter_rows(named=True)}
    assert all(r["pairs"] == 734 for r in got.values())
    expected = {"GPT-4": 0.848, "PaLM2": 0.598, "ChatGPT": 0.542, "LLaMA2": 0.548, "Falcon": 0.152}
    for judge, value in expected.items():
        r = got[judge]
        assert r["consistent"] / r["both_parsed"] == pytest.approx(value, abs=0.0015), judge
    assert got["GPT-4"]["both_parsed"] == 730
    # counting an unparsable verdict as inconsistent
    assert got["GPT-4"]["consistent"] / 734 == pytest.approx(0.843, abs=0.0015)
    assert got["Falcon"]["consistent"] / 734 == pytest.approx(0.151, abs=0.0015)


def test_llmbar_first_shown_win_rate(llmbar):
    ws, _ = llmbar
    out = ws.scores.verdict_outcomes("judge", "template=Swap_CoT")
    share = {(g, o): s for g, o, s in out.select("group", "outcome", "share").iter_rows()}
    parsed = {g: 1 - share.get((g, "no verdict"), 0) for g, _ in share}
    assert share[("Falcon", "first shown won")] / parsed["Falcon"] == pytest.approx(0.923, abs=0.001)
    assert share[("GPT-4", "first shown won")] / parsed["GPT-4"] == pytest.approx(0.492, abs=0.001)


def test_llmbar_rating_scores_on_scale(llmbar):
    ws, _ = llmbar
    lo, hi, bad = one(ws, "SELECT min(score), max(score), count(*) FILTER (WHERE parse_status <> 'ok') "
                          "FROM judgments WHERE protocol = 'pointwise'")
    assert (lo, hi) == (1.0, 10.0)
    # empty strings and out-of-scale zeros in score_1/score_2 are kept as unparsed, with the raw value
    raw = pl.read_parquet(DEMO / "llmbar" / "judgments.parquet").filter(pl.col("strategy").str.starts_with("Rating"))
    expected_bad = sum(
        raw.select(~pl.col(c).cast(pl.Float64, strict=False).is_between(1, 10).fill_null(False)).to_series().sum()
        for c in ("score_1", "score_2"))
    assert bad == expected_bad > 0
    assert one(ws, "SELECT count(*) FROM judgments WHERE parse_status='unparsed' AND protocol='pointwise' "
                   "AND raw_output IS NULL")[0] == 0


def test_reimport_adds_nothing(llmbar):
    ws, first = llmbar
    before = ws.counts()
    again = ws.ingest(DEMO / "llmbar")
    assert again.already_imported and again.run_id == first.run_id
    assert ws.counts() == before


# ---- PandaLM --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pandalm(tmp_path_factory):
    return ingested(tmp_path_factory, "pandalm")


def test_pandalm_accounting_and_labels(pandalm):
    ws, result = pandalm
    assert result.format == "pandalm"
    assert result.n_source_rows == 3 * 999 and result.n_rejected == 0
    assert one(ws, "SELECT count(*), count(DISTINCT annotator) FROM labels WHERE kind='human'") == (2997, 3)
    assert one(ws, "SELECT count(*) FROM judgments")[0] == 1998
    # gpt-3.5-turbo wrote 'garbage' 25 times: kept as unparsed
    assert one(ws, "SELECT count(*) FROM judgments WHERE judge='gpt-3.5-turbo' AND parse_status='unparsed'")[0] == 25
    models = {r[0] for r in ws.con.execute("SELECT DISTINCT model FROM responses").fetchall()}
    assert models == {"llama-7b", "bloom-7b", "cerebras-gpt-6.7B", "opt-7b", "pythia-6.9b"}


def test_pandalm_agreement_with_human_majority(pandalm):
    ws, _ = pandalm
    rows = ws.con.execute(
        """
        WITH maj AS (
            SELECT item_id, verdict FROM labels GROUP BY item_id, verdict HAVING count(*) >= 2
        )
        SELECT j.judge, count(*) AS n, avg(CASE WHEN j.verdict = m.verdict THEN 1 ELSE 0 END) AS agree
        FROM judgments j JOIN maj m USING (item_id) GROUP BY j.judge ORDER BY j.judge
        """).fetchall()
    got = {judge: (n, agree) for judge, n, agree in rows}
    assert got["gpt-3.5-turbo"][0] == 999 and got["PandaLM-7B"][0] == 999
    assert got["gpt-3.5-turbo"][1] == pytest.approx(0.698, abs=0.0006)
    assert got["PandaLM-7B"][1] == pytest.approx(0.668, abs=0.0006)


# ---- arena-bench v1 -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    return ingested(tmp_path_factory, "arena_bench_v1")


def test_arena_counts(arena):
    ws, result = arena
    assert result.format == "fastchat"
    assert result.n_rejected == 0
    assert result.n_source_rows == 300 + 300 + 5100 + 4500
    assert one(ws, "SELECT count(*), count(DISTINCT model) FROM judgment_view")[0:2] == (4500, 15)
    assert one(ws, "SELECT count(DISTINCT model) FROM responses")[0] == 17
    assert one(ws, "SELECT count(*) FROM judgments WHERE parse_status = 'unparsed'")[0] == 39
    assert one(ws, "SELECT count(*) FROM items WHERE reference IS NOT NULL")[0] == 300
    assert one(ws, "SELECT count(*) FROM judgment_view WHERE prompt IS NULL OR n_chars IS NULL")[0] == 0
    assert not any("without the answers" in n for n in result.notes), result.notes   # an empty answer is an answer
    assert one(ws, "SELECT DISTINCT judge FROM judgments")[0] == "gpt-4"


def test_arena_mean_scores(arena):
    ws, _ = arena
    stats = ws.scores.stats("model")
    means = dict(zip(stats["model"], stats["mean_score"]))
    assert means["llama-13b"] == pytest.approx(1.48, abs=0.005)
    assert means["gpt-4-1106-preview"] == pytest.approx(8.87, abs=0.005)
    assert min(means, key=means.get) == "llama-13b" and max(means, key=means.get) == "gpt-4-1106-preview"
    # judgments without a score: an unreadable reply ("unparsed") apart from a source that gave none ("missing")
    want = dict(ws.sql("SELECT parse_status, count(*) FROM judgments WHERE protocol = 'pointwise' GROUP BY 1").rows())
    assert stats["unparsed"].sum() == want.get("unparsed", 0) and stats["missing"].sum() == want.get("missing", 0)
    assert stats["scored"].sum() + stats["unparsed"].sum() + stats["missing"].sum() == stats["judgments"].sum()
    # each mean with its 95% interval (1.96 standard errors), as a user checks it from the scores themselves
    import statistics

    scores = [s for (s,) in ws.sql("SELECT score FROM judgment_view WHERE model = 'llama-13b' AND score IS NOT NULL")
              .rows()]
    half = statistics.NormalDist().inv_cdf(0.975) * statistics.stdev(scores) / len(scores) ** 0.5
    row = stats.filter(pl.col("model") == "llama-13b").row(0, named=True)
    assert row["mean_score_ci_low"] == pytest.approx(statistics.mean(scores) - half, rel=1e-12)
    assert row["mean_score_ci_high"] == pytest.approx(statistics.mean(scores) + half, rel=1e-12)


# ---- Prometheus -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    return ingested(tmp_path_factory, "prometheus")


def test_prometheus_rubrics_and_samples(prometheus):
    ws, result = prometheus
    assert result.format == "prometheus"
    assert result.n_source_rows == 640 and result.n_rejected == 0
    assert one(ws, "SELECT count(*), count(DISTINCT sample) FROM judgments") == (1920, 3)
    assert one(ws, "SELECT count(*) FROM judgments WHERE criterion IS NULL")[0] == 0
    assert one(ws, "SELECT min(score), max(score), min(scale_min), max(scale_max) FROM judgments") == (1, 5, 1, 5)
    levels = ws.con.execute("SELECT levels FROM criteria").fetchall()
    assert len(levels) > 50
    assert all(sorted(json.loads(lv[0])) == ["1", "2", "3", "4", "5"] for lv in levels)
    # every response has three sampled judgments, with the sample index kept
    assert one(ws, "SELECT max(c), min(c) FROM (SELECT count(*) c FROM judgments GROUP BY response_id, criterion)") == (3, 3)
    models = {r[0] for r in ws.con.execute("SELECT DISTINCT model FROM responses").fetchall()}
    # the files spell one model "chatgpt" and "chat_gpt": one identity, the raw spelling kept in meta.raw_model
    assert {"llama2_chat_13b", "vicuna_13b", "wizardlm_13b", "vicuna", "wizard", "llama-2-chat"} < models
    assert len(models) == 7 and len(models & {"chatgpt", "chat_gpt"}) == 1
    raw = {r[0] for r in ws.con.execute("SELECT DISTINCT json_extract_string(meta, '$.raw_model') FROM judgments").fetchall()}
    assert raw == {None} | ({"chatgpt", "chat_gpt"} - models)


# ---- the demo -------------------------------------------------------------------------------------
def test_demo_workspace_holds_everything(demo_ws):
    counts = demo_ws.counts()
    assert counts["judgments"] == 100_644 + 1998 + 4500 + 1920
    assert counts["rejects"] == 0
    assert len(demo_ws.runs()) == 4
