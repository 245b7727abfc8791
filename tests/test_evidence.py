"""Every number opens its evidence (issue 12): the filter a chart cell or a headline link opens selects exactly
the instances behind the number, on the real demo data (LLMBar, arena-bench, PandaLM, Prometheus)."""

from __future__ import annotations

import polars as pl

from analysis import Filter, Workspace
from analysis.plots import cell_keys
from analysis.reliability.metrics import BIAS_METRICS, METRICS, evidence


def _row(audit: pl.DataFrame, judge: str, metric: str) -> dict:
    return audit.filter((pl.col("judge") == judge) & (pl.col("metric") == metric)).row(0, named=True)


def test_position_metrics_open_exactly_their_pairs(demo_path):
    ws = Workspace(demo_path, read_only=True)
    audit = ws.audit()
    for judge in ("Falcon", "GPT-4", "ChatGPT", "LLaMA2", "PaLM2"):
        # first-slot rate: the flipped swap pairs (both judgments of each), e.g. Falcon's 4,903 pairs
        fs = _row(audit, judge, "first_slot_rate")
        assert ws.count(evidence("first_slot_rate", judge)) == 2 * fs["n"]
        first_twice = ws.count({"judge": judge, "protocol": "pairwise", "swap": "first_twice"})
        assert first_twice == 2 * round(fs["value"] * fs["n"])
        # swap consistency: the pairs whose verdict changed with the order
        sc = _row(audit, judge, "swap_consistency")
        assert ws.count(evidence("swap_consistency", judge)) == 2 * round((1 - sc["value"]) * sc["n"])
        # P(first shown wins) and P(longer wins): the judgments counted as wins
        for metric in ("p_first_shown_wins", "p_longer_wins"):
            r = _row(audit, judge, metric)
            assert ws.count(evidence(metric, judge)) == round(r["value"] * r["n"]), (judge, metric)
    assert ws.count(evidence("first_slot_rate", "Falcon")) == 2 * 4903


def test_every_bias_column_has_a_protocol_and_the_heatmap_cells_carry_their_keys(demo_path):
    ws = Workspace(demo_path, read_only=True)
    for name in BIAS_METRICS:
        assert METRICS[name].ideal is not None
    fig = ws.audit.bias_heatmap("template=Swap_CoT")
    overlay = [t for t in fig.data if t.type == "scatter"]
    assert len(overlay) == 1
    keys = {tuple(c) for c in overlay[0].customdata}
    assert ("Falcon", "first_slot_rate") in keys and ("GPT-4", "swap_consistency") in keys
    # a Streamlit selection event hands back the keys of the clicked cell
    event = {"selection": {"points": [{"customdata": list(overlay[0].customdata[0])}]}}
    assert cell_keys(event) == list(overlay[0].customdata[0])
    assert "click" in overlay[0].hovertext[0]     # the hover text rides beside the keys, not in them


def test_score_cells_open_their_judgments(demo_path):
    ws = Workspace(demo_path, read_only=True)
    # one short scale: raw score bounds
    dist = ws.scores.distribution_table("model", "dataset=arena_bench_v1", scale=(1, 10))
    fig = ws.scores.distribution("model", "dataset=arena_bench_v1", scale=(1, 10))
    overlay = next(t for t in fig.data if t.type == "scatter")
    assert len(overlay.customdata) == dist.height
    for group, lo, hi, raw in list(overlay.customdata)[:25]:
        assert raw
        n = dist.filter((pl.col("group") == group) & (pl.col("lo") == lo))["n"][0]
        flt = Filter.make(dataset="arena_bench_v1", model=group, protocol="pointwise", score_min=lo, score_max=hi)
        assert ws.count(flt) == n
    # mixed scales: normalised bounds, which round-trip through the URL exactly
    mixed = ws.scores.distribution_table("judge", "protocol=pointwise")
    assert not mixed["raw_scale"][0]
    r = mixed.sort("n", descending=True).row(0, named=True)
    flt = Filter.make(judge=r["group"], protocol="pointwise", norm_min=r["lo"], norm_max=r["hi"])
    again, _ = Filter.parse(flt.to_query())
    assert again == flt and ws.count(again) == r["n"]


def test_one_protocol_per_agreement_cell(demo_path):
    ws = Workspace(demo_path, read_only=True)
    matrix = ws.audit.agreement_matrix()
    both = matrix.group_by("judge_a", "judge_b").agg(pl.col("protocol").n_unique().alias("k")).filter(pl.col("k") > 1)
    assert both.height, "the demo has judge pairs compared in both protocols (ChatGPT and GPT-4)"
    a, b = both.row(0)[:2]
    for protocol in ("pairwise", "pointwise"):
        fig = ws.audit.agreement_heatmap(protocol=protocol)
        assert protocol in fig.layout.title.text
        want = matrix.filter((pl.col("protocol") == protocol) & (pl.col("judge_a") == a) & (pl.col("judge_b") == b))
        heat = fig.data[0]
        z = dict(((y, x), v) for y, row in zip(heat.y, heat.z) for x, v in zip(heat.x, row))
        assert abs(z[(a, b)] - want["agreement"][0]) < 1e-9


def test_headline_flags_are_outside_their_interval(demo_path):
    ws = Workspace(demo_path, read_only=True)
    flags = ws.audit.flags()
    assert flags.height
    for r in flags.iter_rows(named=True):
        assert not (r["ci_low"] <= r["ideal"] <= r["ci_high"])
    assert ("Falcon", "first_slot_rate") in set(zip(flags["judge"], flags["metric"]))
