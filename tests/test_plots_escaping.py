"""Every figure builder makes text from data inert for plotly's pseudo-HTML (issue 10): no `<a`, `<img`
or other tag from data survives anywhere in a figure, and two different hostile names stay two
categories."""

from __future__ import annotations

import html
import json
import re

import plotly.graph_objects as go
import polars as pl
import pytest

from analysis import plots

LINK = '<a href="http://127.0.0.1:9/x">x</a>'
IMG = "<img src=x onerror=alert(1)>"
MDIMG = "![x](http://127.0.0.1:9/x.png)"
AMP = "&amp;"
# the escaped form of LINK written by hand: a naive escaper (< and > only) would merge it with LINK
LINK_LOOKALIKE = "&lt;a href=\"http://127.0.0.1:9/x\"&gt;x&lt;/a&gt;"
NAMES = [LINK, IMG, MDIMG, AMP, LINK_LOOKALIKE, "%{x} <b>bold</b>"]

# the only tags a figure may hold are the ones the builders add themselves
OWN_TAGS = re.compile(r"</?(b|br|i|extra)>", re.I)


def strings(obj) -> list[str]:
    """Every string value in a figure's dict (data and layout)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings(v)]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in strings(v)]
    if hasattr(obj, "tolist"):
        return strings(obj.tolist())
    return []


def assert_inert(fig: go.Figure) -> list[str]:
    assert isinstance(fig, go.Figure)
    d = fig.to_dict()
    d["layout"].pop("template", None)  # plotly's own theme
    texts = strings(d)
    for t in texts:
        leftover = OWN_TAGS.sub("", t)
        assert "<" not in leftover and ">" not in leftover, f"raw markup in a figure: {t!r}"
    blob = fig.to_json()
    for raw in ("<a", "<img", "<script", "<A ", "\\u003ca", "\\u003cimg"):
        assert raw not in blob, raw
    # the escaped names are there, so they show as typed
    return texts


def shown(text: str) -> str:
    """What plotly displays for an inert string (it decodes entities after splitting tags)."""
    return html.unescape(text)


def test_inert_is_one_to_one_and_reversible():
    escaped = [plots.inert(n) for n in NAMES]
    assert len(set(escaped)) == len(NAMES)
    assert [shown(e) for e in escaped] == NAMES
    assert plots.inert(AMP) == "&amp;amp;"
    assert plots.inert(None) == ""
    assert "%{" not in plots._template("%{x}")


def test_score_heatmap():
    rows = []
    for gi, g in enumerate(NAMES):
        for b in (1, 2):
            rows.append({"group": g, "bucket": b, "label": f"{b}", "n": 3 + gi, "share": 0.5,
                         "group_n": 6 + 2 * gi, "group_mean": 1.0 + gi / 10})
    fig = plots.score_heatmap(pl.DataFrame(rows), f"meta.{IMG}", f"score {LINK}", f"Score by meta.{IMG}")
    texts = assert_inert(fig)
    heat = fig.data[0]
    assert len(set(heat.y)) == len(NAMES)
    assert sorted(shown(y) for y in heat.y) == sorted(NAMES)
    ticks = fig.layout.yaxis.ticktext
    assert len(ticks) == len(NAMES) and all("(n=" in t for t in ticks)
    assert list(fig.layout.yaxis.tickvals) == list(heat.y)
    overlay = fig.data[1]   # the click layer: a hover and the keys of each cell
    assert all("%{" not in h.split("<br>")[0].replace("%{x}", "") or "&#37;" in h for h in overlay.hovertext)
    assert sorted({plots.keys_of(k)[0] for k in overlay.customdata}) == sorted(NAMES)
    assert any(shown(t).startswith("Score by meta.<img") for t in texts)


def test_verdict_bars():
    rows = [{"group": g, "outcome": o, "n": 2, "share": 0.5} for g in NAMES
            for o in ("first shown won", "second shown won")]
    fig = plots.verdict_bars(pl.DataFrame(rows), f"meta.{LINK}", "verdicts")
    assert_inert(fig)
    for bar in fig.data:
        assert len(set(bar.y)) == len(NAMES)
        assert sorted(shown(y) for y in bar.y) == sorted(NAMES)


def test_bias_heatmap():
    metrics = {"swap_consistency": (1.0, "same verdict in both orders"), "p_first_wins": (0.5, "first wins"),
               "length_bias": (0.0, "longer wins")}
    rows = []
    for k, j in enumerate(NAMES):
        rows.append({"judge": j, "metric": "swap_consistency", "value": 0.8, "ci_low": 0.7, "ci_high": 0.9, "n": 10,
                     "note": None})
        rows.append({"judge": j, "metric": "p_first_wins", "value": 0.6 if k == 0 else None, "ci_low": None,
                     "ci_high": None, "n": 0, "note": f"not computed for {IMG}"})
        rows.append({"judge": j, "metric": "length_bias", "value": None, "ci_low": None, "ci_high": None, "n": 0,
                     "note": "pairwise only"})
    fig = plots.bias_heatmap(pl.DataFrame(rows), metrics, title=f"bias {MDIMG}")
    assert_inert(fig)
    heat = fig.data[0]
    # a metric no judge has is named in the title, not drawn as a column of n/a
    assert list(heat.x) == ["swap_consistency", "p_first_wins"] and "not computed" in fig.layout.title.text
    assert "length_bias" in fig.layout.title.text
    assert len(set(heat.y)) == len(NAMES) and sorted(shown(y) for y in heat.y) == sorted(NAMES)
    hover = list(fig.data[1].hovertext)
    assert all(h.startswith("<b>") for h in hover)  # our own bold survives, the data's does not
    assert any("not computed for &lt;img" in h for h in hover)
    assert {plots.keys_of(k)[0] for k in fig.data[1].customdata} == set(NAMES)   # keys round-trip


@pytest.mark.parametrize("symmetric", [False, True])
def test_matrix_heatmap(symmetric):
    rows = [{"a": x, "b": y, "v": 0.5, "n": 4} for i, x in enumerate(NAMES) for y in NAMES[i + 1:]]
    if not symmetric:
        rows += [{"a": x, "b": x, "v": 0.5, "n": 4} for x in NAMES]
    fig = plots.matrix_heatmap(pl.DataFrame(rows), "a", "b", "v", f"matrix {LINK}", symmetric=symmetric,
                               value_label=f"label {IMG}")
    assert_inert(fig)
    heat = fig.data[0]
    # long labels are cut (the full name is in the hover), short ones shown whole; two stay two
    assert len(set(heat.y)) == len(NAMES)
    for y in heat.y:
        assert shown(y) in NAMES or ("… #" in shown(y) and any(n.startswith(shown(y).split("…")[0]) for n in NAMES))
    assert len(set(heat.x)) >= len(NAMES) - 1
    assert shown(fig.data[0].colorbar.title.text) == f"label {IMG}"
    keys = {tuple(plots.keys_of(k)) for k in fig.data[1].customdata}
    assert all(a in NAMES and b in NAMES for a, b in keys)


def test_agreement_bars():
    rows = [{"judge": j, "value": 0.5 + i / 20, "ci_low": 0.4, "ci_high": 0.9, "n": 10} for i, j in enumerate(NAMES)]
    fig = plots.agreement_bars(pl.DataFrame(rows), 0.7, f"agreement {MDIMG}")
    assert_inert(fig)
    assert len(set(fig.data[0].y)) == len(NAMES)


def test_length_scatter():
    sample = pl.DataFrame([{"judge": j, "model": m, "n_chars": 10 * (i + 1), "score_norm": 0.5}
                           for j in NAMES[:3] for i, m in enumerate(NAMES)])
    bins = pl.DataFrame([{"judge": j, "n_chars": 50, "mean_score": 0.5} for j in NAMES[:3]])
    fig = plots.length_scatter(sample, bins, "length")
    assert_inert(fig)
    names = [t.name for t in fig.data]
    assert len(set(names)) == len(names) == 6


def test_issue_map():
    long = "word " * 30 + LINK + " " + IMG + " " + "x" * 200  # a long unbroken word is wrapped mid-word
    frame = pl.DataFrame([{"x": float(i), "y": float(i), "text": long + str(i), "issue": name,
                           "issue_id": str(k) if k < len(NAMES) else None, "kind": "issue" if k < len(NAMES) else None,
                           "judgment_id": f"j{k}-{i}"}
                          for k, name in enumerate(NAMES + ["(none)"]) for i in range(3)])
    fig = plots.issue_map(frame, [str(k) for k in range(len(NAMES))], f"map {MDIMG}")
    assert_inert(fig)
    assert len({t.name for t in fig.data}) == len(NAMES) + 1   # each issue, and the unassigned segments
    for t in fig.data:
        for h, (judgment, _) in zip(t.hovertext, t.customdata):
            assert judgment.startswith("j")   # a click can open the judgment behind a point
            # wrapping never cuts an entity in two
            assert not re.search(r"&[a-z]*<br>", h) and not re.search(r"&(?!amp;|lt;|gt;|#37;)", h)


def test_prevalence_heatmap():
    rows = []
    for k, title in enumerate(NAMES):
        for g in NAMES:
            rows.append({"issue_id": str(k + 1), "title": title, "model": g, "share": 0.2, "ci_low": 0.1,
                         "ci_high": 0.3, "n_group": 10})
    fig = plots.prevalence_heatmap(pl.DataFrame(rows), "model", [str(k + 1) for k in range(len(NAMES))],
                                   f"prevalence {LINK}")
    assert_inert(fig)
    heat = fig.data[0]
    assert len(set(heat.x)) == len(NAMES) and sorted(shown(x) for x in heat.x) == sorted(NAMES)
    assert len(set(heat.y)) == len(NAMES)
    # a group none of the issues reaches is a column of 0% (it had been left out)
    fig = plots.prevalence_heatmap(pl.DataFrame(rows), "model", ["1"], "prevalence",
                                   sizes={**{g: 10 for g in NAMES}, "rev4": 33})
    heat = fig.data[0]
    col = [shown(x) for x in heat.x].index("rev4")
    assert heat.z[0][col] == 0.0 and heat.text[0][col] == "0%"
    # shares under 10% keep a decimal, so a rare issue's cells do not all read "0%" (seen on AlpacaEval, session 18)
    rare = [{**r, "share": 0.003 if r["model"] == NAMES[0] else 0.0} for r in rows]
    heat = plots.prevalence_heatmap(pl.DataFrame(rare), "model", ["1"], "prevalence").data[0]
    col = [shown(x) for x in heat.x].index(NAMES[0])
    assert heat.text[0][col] == "0.30%" and heat.colorbar.tickformat == ".2%"
    assert plots.share_format([0.25, 0.01]) == ".0%" and plots.share_format([0.05]) == ".1%"


def test_empty_figure_and_titles():
    fig = plots.empty_figure(f"nothing for {IMG}", title=f"title {LINK}")
    assert_inert(fig)
    assert shown(fig.layout.title.text) == f"title {LINK}"


def test_workspace_figures_on_the_hostile_workspace(tmp_path):
    """Every figure the workspace draws, from a workspace whose every name is hostile."""
    from .hostile import build_hostile

    ws, h = build_hostile(tmp_path / "hostile.duckdb", 9)
    figs = {
        "score_model": ws.scores.distribution("model"), "score_judge": ws.scores.distribution("judge"),
        "score_criterion": ws.scores.distribution("criterion"),
        "score_meta": ws.scores.distribution(f"meta.{h.meta_key}"),
        "verdicts": ws.scores.verdict_distribution("judge"), "verdicts_model": ws.scores.verdict_distribution("model"),
        "bias": ws.audit.bias_heatmap(), "agree_human": ws.audit.agreement_chart("human"),
        "agree_matrix": ws.audit.agreement_heatmap(), "model_judge": ws.scores.model_judge_heatmap(),
        "criteria": ws.rubrics.heatmap("model"), "criteria_judge": ws.rubrics.heatmap("judge"),
        "criterion_corr": ws.rubrics.correlation_heatmap(), "length": ws.audit.length_score_chart(),
    }
    drawn = 0
    for name, fig in figs.items():
        texts = assert_inert(fig)
        drawn += bool(fig.data)
        assert not any("leak-" in t and "<" in OWN_TAGS.sub("", t) for t in texts), name
    assert drawn >= 10, "most figures have data to draw"
    heat, cells = figs["model_judge"].data[0], figs["model_judge"].data[1]
    # axis labels are cut to 40 characters (two names stay two); the cells' keys keep the full names
    assert len(set(heat.y)) == len(set(h.models)) and len(set(heat.x)) == len(set(h.judges))
    keys = [plots.keys_of(k) for k in cells.customdata]
    assert sorted({k[0] for k in keys}) == sorted(h.models) and sorted({k[1] for k in keys}) == sorted(h.judges)
    json.loads(figs["bias"].to_json())
    ws.close()
