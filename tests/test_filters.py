"""The Filter: query-string round trip, strict and lenient parsing, parameterised SQL."""

from __future__ import annotations

import pytest

from analysis import Filter, UserError


def test_round_trip():
    q = "judge=GPT-4&judge=Falcon&template=Swap_CoT&score_max=3&meta.subset=LLMBar%2FNatural&q=50%25+off"
    f, warnings = Filter.parse(q)
    assert not warnings
    assert f.judge == ("GPT-4", "Falcon") and f.score_max == 3 and f.q == "50% off"
    assert f.meta == (("subset", ("LLMBar/Natural",)),)
    again, _ = Filter.parse(f.to_query())
    assert again == f
    assert Filter.make(judge="GPT-4", meta={"subset": "x"}).to_dict() == {"judge": ["GPT-4"], "meta.subset": ["x"]}


def test_strict_and_lenient():
    with pytest.raises(UserError, match="unknown filter key 'jduge'"):
        Filter.parse("jduge=x")
    with pytest.raises(UserError, match="not a number"):
        Filter.parse("score_min=high")
    f, warnings = Filter.parse("jduge=x&score_min=high&score_max=inf&judge=ok", strict=False)
    assert f == Filter(judge=("ok",)) and len(warnings) == 3
    f, warnings = Filter.parse("score_min=5&score_max=1", strict=False)
    assert f.score_min is None and "above" in warnings[0]
    # the notebook's door checks what the link's door checks
    for kwargs, message in ((dict(label="bogus"), "expected any, none or disagree"),
                            (dict(score_min=5, score_max=1), "above"), (dict(norm_min=float("nan")), "finite"),
                            (dict(protocol="both"), "expected one of"), (dict(jduge="x"), "unknown filter key")):
        with pytest.raises(UserError, match=message):
            Filter.make(**kwargs)
    assert Filter.make(score_min=2, label="disagree", model=("a", "b")) == Filter.parse(
        "score_min=2&label=disagree&model=a&model=b")[0]


def test_where_is_parameterised():
    sql, params = Filter.parse("judge=x' OR 1=1 --&meta.a\"b=1&q=%_")[0].where("j")
    assert "OR 1=1" not in sql and "x' OR 1=1 --" in params
    assert sql.count("?") == len(params)
    assert "\\%\\_" in params[-1]


def test_filters_on_the_demo(demo_ws):
    ws = demo_ws
    assert ws.count("judge=GPT-4&template=Swap_CoT&meta.subset=LLMBar/Natural") == 200
    assert ws.count("judge=x' OR 1=1 --") == 0
    assert ws.count("meta.subset=nope") == 0
    n_low = ws.count("model=llama-13b&score_max=3")
    assert n_low == ws.con.execute("SELECT count(*) FROM judgment_view WHERE model='llama-13b' AND score <= 3").fetchall()[0][0]
    assert n_low > 250
    assert ws.count("criterion=overall&dataset=prometheus") == 0
    assert ws.count("dataset=prometheus") == 1920
    hits = ws.judgments("q=boxed&judge=GPT-4&template=CoT", limit=5)
    assert hits.height == 5
    # `%` and `_` in a search are literal characters, not LIKE wildcards
    literal = ws.con.execute("""SELECT count(*) FROM judgment_view j WHERE strpos(lower(coalesce(j.critique, '')), '%') > 0
        OR strpos(lower(coalesce(j.prompt, '')), '%') > 0 OR EXISTS (SELECT 1 FROM responses rs WHERE rs.response_id
        IN (j.response_id, j.response_a, j.response_b) AND strpos(rs.text, '%') > 0)""").fetchone()[0]
    assert 0 < ws.count("q=%25") == literal < ws.count()
    assert ws.count("q=_") < ws.count() and ws.count("q=100%25") < ws.count("q=%25")
    page1 = ws.judgments("dataset=pandalm", limit=10)
    page2 = ws.judgments("dataset=pandalm", limit=10, offset=10)
    assert set(page1["judgment_id"]).isdisjoint(page2["judgment_id"])
