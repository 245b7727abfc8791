"""Issue discovery on real critiques (arena-bench v1: GPT-4 grading four models of very different strength;
PandaLM's pairwise reasons), with the packaged all-MiniLM-L6-v2 vectors from the demo's shipped cache, and on
small synthetic critique sets where the right answer is known (said so at each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analysis import UserError, Workspace
from analysis.filters import Filter
from analysis.issues import Pipeline
from analysis.issues.cluster import PCA, KMeans, layout
from analysis.issues.naming import core
from analysis.issues.outcome import balanced_threshold, lift, mark_failing
from analysis.issues.segment import classify, segment, split
from analysis.issues.subjects import about_each, is_contrast, slots, subjects, without_slots

from .conftest import DEMO, ROOT

MODELS = "model=llama-13b&model=gpt-4-1106-preview&model=claude-2.1&model=gpt-3.5-turbo"
ARENA = "dataset=arena_bench_v1"


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """All 4,500 critiques: GPT-4 grading 15 models on 300 questions."""
    ws = Workspace(tmp_path_factory.mktemp("issues") / "ws.duckdb")
    ws.ingest(DEMO / "arena_bench_v1")
    first = ws.issues.discover(ARENA, seed=0)
    # another seed: its members, read before the curation test uses the set as its sandbox
    other = ws.issues.discover(ARENA, seed=1)
    return ws, first, other, _members(other)


def _members(iset) -> dict[str, set]:
    """issue title -> its member judgments."""
    g = iset.assignments().filter(pl.col("kind") == "issue").group_by("issue_id").agg(pl.col("judgment_id"))
    titles = dict(zip(iset.table()["issue_id"], iset.table()["title"]))
    return {titles[i]: set(j) for i, j in g.iter_rows()}


# ---- the stages, one at a time ----------------------------------------------------------------------
def test_segmentation_rules():
    critique = """The assistant's answer is correct and helpful. However, it does not mention the edge case.
- It ignores the user's request for a table.
- The code is fine.

```python
print("this code is not critique")
```
> quoted output that is wrong
The assistant's answer is not helpful.
Rating: [[3]]

Corrected Answer: the right thing is X, which is not what it said."""
    parts = split(critique)
    assert "print" not in " ".join(parts) and "quoted output" not in " ".join(parts)
    assert not any("[[3]]" in p or "right thing" in p for p in parts)
    kinds = {s.text: s.kind for s in segment(critique)}
    assert kinds["However, it does not mention the edge case."] == "problem"
    assert kinds["It ignores the user's request for a table."] == "problem"
    assert kinds["The assistant's answer is not helpful."] == "verdict"
    assert kinds["The assistant's answer is correct and helpful."] == "verdict"
    assert classify("But it achieves the same result and is just as valid.") == "praise"
    assert classify("This minor difference does not affect the correctness of the code.") != "problem"
    # a one-line critique that ends in its rating (arena-bench, MT-Bench single grading) keeps its statements: only the
    # rating goes (until session 10 the whole line went, and 476 of arena's 4,500 critiques were read as empty)
    one_line = ("The assistant's answer is incorrect. Doubling the radius will quarter the resistance, not halve it. "
                "Rating: [[2]]")
    assert split(one_line) == ["The assistant's answer is incorrect.",
                               "Doubling the radius will quarter the resistance, not halve it."]
    assert split("Score: 7/10\nThe response is fine but rather verbose.") == ["The response is fine but rather verbose."]


def test_which_response_a_pairwise_sentence_is_about():
    s = ["Output (a) incorrectly states that 8+8 equals 17.", "It also drops the carry.",
         "Output (b) correctly adds the digits.", "Both outputs are polite.", "Assistant B is verbose.",
         "The first response ignores the word limit.", "Model 'm' is more concise than model 'M'."]
    assert slots("Response 1 is better than Response 2") == [1, 2]
    assert slots("the answer a user wants") == []          # a bare lower-case letter is no slot
    got = subjects(s, "A", "B", aliases={"m": "b", "M": "a"}, ids={"a": "A", "b": "B"})
    assert got == ["A", "A", "B", None, "B", "A", "B"]
    assert is_contrast("Response 1 is better because it is more concise") and not is_contrast("It drops the carry.")
    assert without_slots("Response 1 is better because it provides a list of books.") == "provides a list of books."
    assert without_slots("Output (b) is better.") == "the response is better."
    # found on MT-Bench's GPT-4 pairs: a clause that turns to the other answer without a comma; what a response is
    # said to leave out ("not covered by Assistant A") is about it, not about the sentence's subject; one of two
    # objects ("as shown in the reference answer and Assistant A's answer") is no subject; "A and B both …" is each
    from analysis.issues.segment import segment

    turned = segment("Therefore, Assistant A provided the accurate count while Assistant B made an error in counting.")
    assert [t.text for t in turned][1] == "while Assistant B made an error in counting."
    assert subjects([t.text for t in turned], "A", "B") == ["A", "B"]
    assert subjects(["Assistant B also discusses Socrates' use of public speaking, which is not covered by Assistant A.",
                     "It also lacks a summary."], "A", "B") == ["A", "A"]
    assert subjects(["Assistant B adds a point that was not included in Assistant A's response."], "A", "B") == ["A"]
    assert subjects(["Assistant B is wrong.", "This is not correct, as shown in the reference answer and Assistant A's "
                     "answer."], "A", "B") == ["B", "B"]
    assert subjects(["Of the two responses Output (b) is better."], "A", "B") == ["B"]
    assert about_each("Assistant A and Assistant B both incorrectly stated that the third statement is uncertain.")
    assert about_each("Output (a) and Output (b) fail to count the vowels.")
    assert not about_each("Output (a) and Output (b) are both fine, but Output (b) is shorter.")


def test_outcomes_failing_and_lift():
    assert balanced_threshold(np.array([0.1, 0.2, 0.9, 1.0])) == 0.9
    assert balanced_threshold(np.array([1.0, 1.0, 1.0, 0.5])) == 1.0   # a lenient judge: failing = below its best
    assert balanced_threshold(np.array([0.5, 0.5])) is None
    units = pl.DataFrame({
        "judgment_id": [f"j{i}" for i in range(8)], "response_id": [f"r{i}" for i in range(8)],
        "judge": "g", "dataset": "d", "criterion": None,
        "outcome": [0.0, 0.25, 0.75, 1.0, 1.0, 0.0, 0.5, None],
        "signal": ["score"] * 4 + ["verdict", "verdict", "verdict", None]})
    f = dict(zip(mark_failing(units)["judgment_id"], mark_failing(units)["failing"]))
    assert [f[f"j{i}"] for i in range(8)] == [True, True, False, False, False, True, None, None]
    ratio, lo, hi = lift(30, 100, 10, 100)
    assert ratio == pytest.approx(3.0) and lo < 3 < hi and lo > 1
    assert lift(0, 0, 1, 10) == (None, None, None)


def test_clusters_and_map_are_deterministic():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(4, 32))
    x = np.concatenate([c + 0.1 * rng.normal(size=(50, 32)) for c in centres])
    r = PCA(8).fit_transform(x)
    a, _ = KMeans(4, seed=1).fit(r)
    b, _ = KMeans(4, seed=1).fit(r.copy())
    assert np.array_equal(a, b)
    assert all(len(set(a[i * 50:(i + 1) * 50])) == 1 for i in range(4)) and len(set(a)) == 4
    xy = layout(r, a)
    assert xy.shape == (200, 2) and np.isfinite(xy).all()


def test_a_strength_is_named_by_what_its_members_say():
    """Hand-made clusters with known answers: the cosine ranks the lexicon's strengths, the members' words decide."""
    from analysis.issues.lexicon import load
    from analysis.issues.naming import strength_name

    entries = load().of_kind("strength")
    labels = [e.label for e in entries]
    anchors = np.eye(len(entries))

    def near(*order: str) -> np.ndarray:  # a centroid closest to these entries, in this order
        c = np.zeros(len(entries))
        for rank, label in enumerate(order):
            c[labels.index(label)] = 0.9 - 0.1 * rank
        return c

    safety = ["Safety: The response clearly states that it cannot help with illegal activities.",
              "It encourages seeking help from mental health professionals.", "It discourages violence."]
    # nearest by the cosine is "Creative and engaging", but nothing here is creative: the next that its words say
    name, said = strength_name(near("Creative and engaging", "Safe and responsible"), safety, entries, anchors, 0.5, 0.5)
    assert name.label == "Safe and responsible" and said == [0, 1, 2]
    # descriptions of what a response does say no merit: no name
    described = ["In the code, the assistant uses the REALTOINT function.", "The assistant suggests a convex hull."]
    assert strength_name(near("Relevant to the question"), described, entries, anchors, 0.5, 0.5) is None
    # only the members that say it are kept
    mixed = ["The response is creative and original.", "The story is engaging.", "It uses the past tense."]
    name, said = strength_name(near("Creative and engaging"), mixed, entries, anchors, 0.5, 0.5)
    assert name.label == "Creative and engaging" and said == [0, 1]
    # a wish or a shortfall says the merit is missing
    wishes = ["The response would be more effective if it were more concise.", "It is short and to the point.",
              "There is room for improvement in conciseness."]
    name, said = strength_name(near("Concise and focused"), wishes + ["It is concise."], entries, anchors, 0.5, 0.5)
    assert name.label == "Concise and focused" and said == [1, 3]
    assert strength_name(near("Concise and focused"), wishes, entries, anchors, 0.5, 0.5) is None
    # the specific merit its members say, not the general one nearer by the cosine (`instead_of`)
    sums = ["The final sum is correctly given as 73.", "Output (b) correctly adds the ones and tens digits.",
            "The answer is correct."]
    name, said = strength_name(near("Accurate, correct answer", "Correct calculations"), sums, entries, anchors, 0.5,
                               0.5)
    assert name.label == "Correct calculations" and said == [0, 1]
    facts = ["The answer is correct.", "The response is accurate.", "The final sum is correctly given as 73."]
    name, said = strength_name(near("Accurate, correct answer", "Correct calculations"), facts, entries, anchors, 0.5,
                               0.5)
    assert name.label == "Accurate, correct answer" and said == [0, 1, 2]
    # a set with one strength says so ("35 issues and 1 strength", on the Issues page and in the set's repr)
    from analysis.formatting import count

    assert [count(n, "strength") for n in (0, 1, 2, 1234)] == ["0 strengths", "1 strength", "2 strengths", "1,234 strengths"]


def test_names_from_a_sentence():
    assert core("The assistant's code also does not handle negative numbers, which is required.") == \
        "code does not handle negative numbers"
    assert core("but it achieves the same result and is equally correct.") == "achieves the same result"
    assert core("It appears there may be a misunderstanding in the question and the answer given to it.") == ""


def test_options_are_checked():
    p = Pipeline.make(per_cluster=60, seed=2, **{"namer.min_similarity": 0.5})
    assert p.clusterer.per_cluster == 60 and p.seed == 2 and p.namer.min_similarity == 0.5
    for bad in ({"per_cluster": 0}, {"per_cluster": 2.5}, {"seed": -1}, {"refine": "yes"}, {"nonsense": 1},
                {"min_similarity": float("nan")}):
        with pytest.raises(UserError):
            Pipeline.make(**bad)


# ---- on real critiques -------------------------------------------------------------------------------
def test_issues_are_failures_and_strengths_are_merits(arena):
    ws, iset, _, _ = arena
    stats = iset.stats
    assert stats["n_judgments"] == 4500 and stats["signal"] == "score"
    assert iset.params["embedder"]["model"] == "minilm-static"     # the default (benchmarks/embedders.py)
    table = iset.table()
    assert table.height >= 10
    mean = table["mean_outcome"][0]
    assert set(table["origin"]) <= {"response", "stated", "cluster"}
    # a discovered group is an issue only when over-represented among failing responses and below the mean;
    # a stated failure is one by its words (its lift says how it relates to the outcome), and the failures the
    # judge states mostly come with low scores
    found = table.filter(pl.col("origin") == "cluster")
    assert (found["lift_ci_low"] > 1).all() and (found["severity"] < mean).all(), found
    # of the ten biggest issues, those tied to failing (lift interval above 1) all come with low scores, and taken
    # together their responses score well below the mean; a suggestion judges also make to good answers ("could
    # have mentioned …", "lacks examples") may sit at the mean: it is kept by its words and its lift says so
    head = table.head(10)
    tied = head.filter(pl.col("lift_ci_low") > 1)
    assert tied.height >= 6 and (tied["severity"] < mean).all(), head
    assert (head["severity"] * head["n_units"]).sum() / head["n_units"].sum() < mean - 0.1, head
    assert (head["severity"] < mean).sum() >= 7, head
    strengths = iset.strengths()
    assert strengths.height >= 3
    assert (strengths["lift_ci_high"] < 1).all() and (strengths["severity"] > mean).all()
    # a strength holds statements of merit that say it: no failure statement ("does not save the results to a file,
    # as specified", said of an answer that scored well), and most members say the strength's own words
    kinds = ws.sql(
        "SELECT s.kind, count(*) AS n FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id) "
        "JOIN issues i ON i.issue_set_id = si.issue_set_id AND i.issue_id = si.issue_id "
        "WHERE si.issue_set_id = ? AND i.kind = 'strength' GROUP BY s.kind", [iset.id])
    assert "problem" not in kinds["kind"].to_list() and kinds["n"].sum() > 500, kinds
    top = table.head(10)
    # an issue groups one kind of failure across tasks, not one task's critiques
    assert (top["n_items"] >= 20).all() and (top["max_item_share"] <= 0.2).all(), top
    titles = table["title"].to_list() + strengths["title"].to_list()
    assert len({t.lower() for t in titles}) == len(titles)              # no two alike
    for t in titles:
        assert 2 <= len(t.split()) <= 6 and "…" not in t and "X" not in t.split(), t
    assert all(table["category"]) and all(table["description"])
    assert "Calculation errors" in titles and "Code does not work" in titles


def test_weak_model_has_more_issues(arena):
    ws, iset, _, _ = arena
    prev = iset.prevalence("model")
    total = dict(prev.group_by("model").agg(pl.col("n_with").sum()).iter_rows())
    assert total["llama-13b"] > total["gpt-4-1106-preview"] * 1.2
    assert (prev["ci_low"] <= prev["share"]).all() and (prev["share"] <= prev["ci_high"]).all()
    ids = iset.table()["issue_id"].to_list()
    with_issue = {m: ws.count(f"issue_set={iset.id}&model={m}&" + "&".join(f"issue={i}" for i in ids))
                  for m in ("llama-13b", "gpt-4-1106-preview")}
    assert with_issue["llama-13b"] > with_issue["gpt-4-1106-preview"] * 1.2


def test_categories_above_issues(arena):
    ws, iset, _, _ = arena
    tree = iset.tree()
    cats = tree.filter(pl.col("level") == "category")
    issues = tree.filter(pl.col("level") == "issue")
    assert 3 <= cats.height <= 9 and issues.height == iset.table().height
    assert {"llama-13b", "gpt-4-1106-preview"} <= set(tree.columns)
    # a category's prevalence is that of any of its issues: at least its biggest issue's, at most their sum
    for c in cats.iter_rows(named=True):
        members = issues.filter(pl.col("category") == c["category"])
        assert members["prevalence"].max() <= c["prevalence"] + 1e-9 <= members["prevalence"].sum() + 1e-9
        assert c["llama-13b"] >= members["llama-13b"].max() - 1e-9
    by_cat = iset.prevalence("judge", level="category")
    assert by_cat.height and set(by_cat["category"]) <= set(iset.categories)


def test_another_seed_finds_the_same_issues(arena):
    """(The same seed gives the same set, in one process and across processes: test_reproducible_across_processes.)"""
    ws, iset, _, other = arena
    a = _members(iset)
    top = iset.table()["title"].head(10).to_list()
    jaccard = [max(len(a[t] & v) / len(a[t] | v) for v in other.values()) for t in top]
    assert np.mean(jaccard) >= 0.7, jaccard


def test_filters_examples_and_map(arena):
    ws, iset, _, _ = arena
    ids = iset.table()["issue_id"].to_list()
    one, two = ids[0], ids[1]
    q = f"issue_set={iset.id}"
    n_any = ws.count(f"{q}&issue={one}&issue={two}")
    n_all = ws.count(f"{q}&issue_all={one}&issue_all={two}")
    n_one = ws.count(f"{q}&issue={one}")
    n_none = ws.count(f"{q}&issue_none={one}&{ARENA}")
    assert n_all <= min(n_one, n_any) and n_any >= n_one
    assert n_one + n_none == 4500
    assert 0 < ws.count(f"{q}&issue_only={one}") <= n_one
    ex = iset.examples(one, 5)
    assert ex.height == 5 and ex["similarity"].is_sorted(descending=True)
    # the same issue within a selection (the dashboard's sidebar): fewer judgments, same kind of sentences
    narrowed = iset.table("model=llama-13b")
    assert narrowed.filter(pl.col("issue_id") == one)["n_instances"][0] <= n_one
    assert iset.n_instances("model=llama-13b") == 300
    assert set(iset.examples(one, 20, "model=llama-13b")["model"]) <= {"llama-13b"}
    fig = iset.map()
    assert len(fig.data) >= 5
    assign = iset.assignments()
    assert set(assign.columns) >= {"item_id", "judgment_id", "issue_id", "item_source_key", "judgment_source_key"}
    assert assign.filter(pl.col("issue_id") == one).height == n_one
    # each row says which judged response (and model) it counts for: here the judgment's own one
    own = {j: (r, m) for j, r, m in ws.q.rows(
        "SELECT j.judgment_id, j.response_id, r.model FROM judgments j JOIN responses r USING (response_id) "
        "WHERE j.judgment_id IN (SELECT unnest(?))", [assign["judgment_id"].unique().to_list()])}
    assert all(r == [own[j][0]] and m == [own[j][1]]
               for j, r, m in zip(assign["judgment_id"], assign["response_ids"].to_list(), assign["models"].to_list()))


def test_curation_is_recorded_in_transactions(arena):
    ws, _, iset, _ = arena
    ids = iset.table()["issue_id"].to_list()
    before = iset.table().filter(pl.col("issue_id").is_in(ids[2:4]))["n_instances"].sum()
    new = iset.merge(ids[2:4], title="Merged issue")
    merged = iset.table().filter(pl.col("issue_id") == new)
    assert merged["title"][0] == "Merged issue" and merged["n_instances"][0] <= before
    iset.rename(new, "Renamed <b>issue</b>", category="code")
    parts = iset.split(new, 2)
    assert len(parts) == 2
    iset.drop(ids[-1])
    assert ids[-1] not in iset.table()["issue_id"].to_list()
    assert iset.history()["action"].to_list() == ["created", "merge", "rename", "split", "drop"]
    with pytest.raises(UserError):
        iset.merge([ids[0], iset.strengths()["issue_id"][0]])   # an issue and a strength are not one thing
    with pytest.raises(UserError):
        iset.split(ids[0], 0)
    with pytest.raises(UserError):
        iset.rename(ids[0], "x", category="nonsense")
    assert iset.history().height == 5                           # refused edits leave no trace


def test_known_taxonomy(arena):
    ws, _, _, _ = arena
    taxonomy = [{"title": "Code does not run", "description": "The code has bugs, errors or does not run correctly."},
                {"title": "Missing information", "description": "The answer leaves out parts the user asked for."}]
    iset = ws.issues.discover("model=llama-13b&model=gpt-4-1106-preview", taxonomy=taxonomy)
    table = iset.table()
    known = table.filter(pl.col("origin") == "taxonomy")
    assert known["title"].to_list() and set(known["title"]) <= {t["title"] for t in taxonomy}
    assert (known["n_instances"] >= 5).all()
    assert table.filter(pl.col("origin") != "taxonomy").height >= 3  # the rest is still found


def test_pairwise_reasons_become_issues_of_the_losing_response(tmp_path, capsys):
    ws = Workspace(tmp_path / "pandalm.duckdb")
    ws.ingest(DEMO / "pandalm")
    iset = ws.issues.discover("dataset=pandalm")
    assert iset.stats["signal"] == "verdict"
    table = iset.table()
    # about responses that mostly lost (a stated failure can also be said of the winner: "although it is vague")
    assert table.height >= 3 and (table.head(8)["severity"] < 0.5).sum() >= 6, table
    segs = ws.q.frame("SELECT about, count(*) AS n FROM segments WHERE issue_set_id = ? GROUP BY 1", [iset.id])
    assert "contrast" in segs["about"].to_list()     # "1 is better because it is more specific" counts against 2
    # a fact both responses show (PandaLM has pairs of two empty answers) is two segments, one per response
    dup = ws.q.frame("SELECT segment_id, count(*) AS n FROM segments WHERE issue_set_id = ? GROUP BY 1 HAVING n > 1",
                     [iset.id])
    assert dup.height == 0, dup
    both = ws.q.scalar("SELECT count(*) FROM (SELECT judgment_id FROM segments WHERE issue_set_id = ? AND "
                       "kind = 'evidence' AND masked = 'empty' GROUP BY 1 HAVING count(DISTINCT response_id) = 2)",
                       [iset.id])
    assert both >= 1
    # responses in an issue only through comparisons are counted (they lost by construction); a fact the response
    # shows never comes from one
    by_title = {r["title"]: r for r in table.iter_rows(named=True)}
    assert by_title["Empty response"]["n_compared"] == 0
    depth = by_title["Lacks depth"]
    assert depth["n_units"] / 2 < depth["n_compared"] <= depth["n_units"], depth
    from dashboard.views.issues import _flat

    flat = {r["issue"].split(". ", 1)[1]: r for r in _flat(table).iter_rows(named=True)}
    assert "mostly from comparisons" in flat["Lacks depth"]["lift_interval"]
    assert flat["Lacks depth"]["origin"] == "critique says it (comparisons)"
    assert "comparisons" not in flat["Empty response"]["lift_interval"] + flat["Empty response"]["origin"]
    from analysis.cli import main

    assert main(["issues", "-w", str(ws.path), "--show", iset.id]) == 0   # in this process: the file is open here
    shown_list = capsys.readouterr().out
    assert "(mostly from comparisons)" in next(ln for ln in shown_list.splitlines() if "Lacks depth" in ln), shown_list
    # the mean outcome of an issue's responses is labelled as what it is, with its direction (a "severity" that
    # rose as answers got better read backwards to a new user)
    header = next(ln for ln in shown_list.splitlines() if ln.lstrip().startswith("id") and "title" in ln)
    assert "outcome" in header and "severity" not in header and "outcome = mean outcome (0 worst, 1 best)" in shown_list
    # an issue's members to read from the terminal: a seeded random draw, the notebook's, with how each fared
    depth_id = depth["issue_id"]
    assert main(["issues", "-w", str(ws.path), "--show", iset.id, "--examples", depth_id, "--sample", "0", "-n", "3"]) == 0
    printed = capsys.readouterr().out
    drawn = iset.examples(depth_id, 3, sample=0)
    assert "drawn at random (seed 0)" in printed and all(j in printed for j in drawn["judgment_id"])
    assert printed.count("· not preferred") + printed.count("· preferred") + printed.count("· tie") == 3
    # with --critique each member's whole critique follows its statement, to read it as a person would
    assert main(["issues", "-w", str(ws.path), "--show", iset.id, "--examples", depth_id, "--sample", "0", "-n", "3",
                 "--critique"]) == 0
    whole = capsys.readouterr().out
    for c in drawn["critique"]:
        last = c.strip().splitlines()[-1]
        assert f"    | {last}" in whole, last
    # which of the two the judge saw it as: its "Output (a)" / "Assistant A" is the first shown
    shown = dict(zip(drawn["judgment_id"], drawn["shown"]))
    first = dict(ws.q.rows("SELECT judgment_id, CASE shown_first WHEN 'a' THEN response_a ELSE response_b END "
                           "FROM judgments WHERE judgment_id IN (SELECT unnest(?))", [list(shown)]))
    for j, rid in zip(drawn["judgment_id"], drawn["response_id"]):
        assert shown[j] == ("first" if rid == first[j] else "second") and f"· shown {shown[j]} ·" in printed
    # what no issue explains is counted under the list and readable from the terminal, failing responses first
    e = iset.explained()
    note = f"{e['failing_without_issue']:,} of the {e['failing_units']:,} failing responses"
    assert note in shown_list and "--unexplained` lists what their critiques say" in shown_list
    assert main(["issues", "-w", str(ws.path), "--show", iset.id, "--unexplained", "-n", "4"]) == 0
    loose = capsys.readouterr().out
    assert note in loose and loose.count("\n- ") == 4 and "· failing" in loose.split("\n- ")[1]
    # failing responses with no issue first (what the note counts), then failing ones with other issues
    every = iset.unexplained(n=100_000)
    failing = every["failing"].fill_null(False).to_list()
    assert failing == sorted(failing, reverse=True), every
    first = every.filter(pl.col("failing"))["has_issue"].to_list()
    assert first == sorted(first) and False in first, every
    assert every.filter(pl.col("failing") & ~pl.col("has_issue")).height <= e["unexplained_statements"]
    assert all(t.split(" ")[0] in loose for t in iset.unexplained(n=4)["text"])
    assert note in ws.report("md", issue_set=iset.id)
    assert main(["issues", "-w", str(ws.path), "--show", iset.id, "--examples", "999"]) == 1
    assert "no issue '999' in issue set" in capsys.readouterr().err
    # an example says how its response fared: in a pairwise judgment, preferred or not (not a "score None")
    ex = iset.examples(table["issue_id"][0], 20)
    assert set(ex["outcome"]) <= {"preferred", "not preferred", "tie", "no verdict"}
    assert (ex["outcome"] == "not preferred").sum() > ex.height / 2, ex["outcome"].value_counts()
    text = ws.report("md", issue_set=iset.id)
    assert "not preferred)" in text and "score None" not in text

    # a prevalence cell (issue X in model M) opens the judgments where M's own response has X, not those where its
    # opponent has it; the issue list for model M counts M's responses only
    prev = iset.prevalence("model").filter(pl.col("n_with") >= 5).sort("n_with", "issue_id", "model", descending=True)
    issue_id, model, n_with = prev.row(0, named=True)["issue_id"], prev["model"][0], prev["n_with"][0]
    cell = {"model": model, "issue": issue_id, "issue_set": iset.id}
    assert ws.count(cell) == n_with, (ws.count(cell), n_with, ws.count({"issue": issue_id, "issue_set": iset.id}))
    listed = ws.judgments(cell, limit=None)["judgment_id"].to_list()
    about = ws.q.frame(
        "SELECT DISTINCT s.judgment_id, r.model FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id) "
        "JOIN responses r ON r.response_id = s.response_id WHERE si.issue_set_id = ? AND si.issue_id = ?",
        [iset.id, issue_id],
    )
    theirs = set(about.filter(pl.col("model") == model)["judgment_id"])
    others = set(about.filter(pl.col("model") != model)["judgment_id"]) - theirs
    assert set(listed) == theirs and not others & set(listed)
    row = iset.table(f"model={model}").filter(pl.col("issue_id") == issue_id).row(0, named=True)
    assert row["n_units"] == n_with and row["n_instances"] == n_with
    assert "in these models' responses" in Filter.make(**cell).describe()


def _synthetic_praise_judge(path: Path) -> Path:
    """SYNTHETIC, a known answer: a judge that grades criterion by criterion and mostly praises. Every critique
    praises the response in the same words; the low-scored ones also state one concrete problem."""
    rows, rng = [], np.random.default_rng(0)
    praise = ["The model's response demonstrates a clear understanding of the problem.",
              "The response fully addresses the question asked by the user.",
              "The explanation is well organized and easy to follow."]
    problems = ["However, the calculation in the second step is wrong, so the final total is incorrect.",
                "However, the arithmetic in the last step is wrong and the result is off.",
                "However, the response makes a mistake when adding the two numbers."]
    for i in range(240):
        low = i % 3 == 0
        text = " ".join(rng.permutation(praise)) + (" " + problems[(i // 3) % 3] if low else "")
        rows.append({"item_id": f"q{i // 4}", "model": f"m{i % 4}", "judge": "praise-judge", "criterion": "accuracy",
                     "score": int(rng.integers(1, 3)) if low else int(rng.integers(4, 6)), "critique": text,
                     "prompt": f"Question {i // 4}: add {i} and {i + 7}."})
    out = path / "praise.jsonl"
    out.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return out


@pytest.mark.slow
def test_praise_is_not_reported_as_an_issue(tmp_path):
    ws = Workspace(tmp_path / "praise.duckdb")
    ws.ingest(_synthetic_praise_judge(tmp_path), mapping={"scale": [1, 5]})
    iset = ws.issues.discover(seed=0)
    titles = iset.table()["title"].to_list()
    assert titles == ["Calculation errors"], titles
    issue = iset.table().row(0, named=True)
    assert issue["n_units"] >= 50 and issue["lift_ci_low"] > 10 and issue["severity"] < 0.3   # the low-scored ones
    # the praise every answer gets is tied to no outcome: neither an issue nor (here) a strength
    assert iset.strengths().filter(pl.col("n_units") >= 200).height == 0


@pytest.mark.slow
def test_reproducible_across_processes(tmp_path):
    """Same inputs, parameters and seed: the same issue set in new processes, with other PYTHONHASHSEED and
    thread counts, with all-MiniLM-L6-v2 from a cold vector cache (embedded in the process) and a warm one. (The
    default embedder's runs in three such processes are benchmarks/issues.py's `reproducibility`, which
    test_benchmarks.py::test_issues requires to be identical.)"""
    script = ("import sys, hashlib; from analysis import Workspace; ws = Workspace(sys.argv[1])\n"
              "for _ in range(int(sys.argv[3])):\n"
              "    s = ws.issues.discover('dataset=pandalm', seed=0, embedding_model=sys.argv[2])\n"
              "    a = s.assignments().select('judgment_id', 'issue_id').sort('judgment_id', 'issue_id')\n"
              "    t = s.table(kind=None).select('issue_id', 'title', 'kind', 'category')\n"
              "    print(hashlib.md5((a.write_csv() + t.write_csv()).encode()).hexdigest(), "
              "s.stats['embedding']['n_embedded'])")
    for name in ("cold1", "cold2"):
        Workspace(tmp_path / f"{name}.duckdb").ingest(DEMO / "pandalm")
    from analysis import store

    store.close(tmp_path / "cold1.duckdb")
    store.close(tmp_path / "cold2.duckdb")
    def run(db, model, env, times=1):
        r = subprocess.run([sys.executable, "-c", script, str(tmp_path / f"{db}.duckdb"), model, str(times)],
                           capture_output=True, text=True, timeout=600, cwd=ROOT,
                           env={**os.environ, "HF_HUB_OFFLINE": "1", **env})
        assert r.returncode == 0, r.stderr[-2000:]
        printed = [line.split() for line in r.stdout.splitlines()]
        assert len(printed) == times and len({d for d, _ in printed}) == 1, printed  # the same again in one process
        digest, embedded = printed[0]
        return digest, int(embedded)

    envs = ({"PYTHONHASHSEED": "1", "OMP_NUM_THREADS": "2"},
            {"PYTHONHASHSEED": "77", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
            {"PYTHONHASHSEED": "5", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    runs = [run(db, "all-MiniLM-L6-v2", env, times) for db, env, times in zip(("cold1", "cold1", "cold2"), envs, (1, 2, 1))]
    assert runs[0][1] > 1000 and runs[1][1] == 0 and runs[2][1] > 1000     # cold, warm, cold in another store
    assert len({d for d, _ in runs}) == 1, runs


def test_older_workspace_migrates(tmp_path, arena):
    """A schema-2 workspace (before issues had kinds, units and subjects) opens and its issue sets still read."""
    import duckdb

    ws, iset, _, _ = arena
    from analysis import store

    store.close(ws.path)   # DuckDB lets one process attach a file once
    path = tmp_path / "v2.duckdb"
    con = duckdb.connect(str(path))
    con.execute(f"ATTACH '{ws.path}' AS src (READ_ONLY)")
    for t in ("workspace_meta", "runs", "items", "responses", "judgments", "labels", "criteria", "rejects",
              "embeddings", "issue_sets", "issue_set_members", "issues", "segment_issues", "coords", "issue_events",
              "llm_calls", "llm_failures"):
        con.execute(f"CREATE TABLE {t} AS SELECT * FROM src.{t}")
    con.execute("CREATE TABLE segments AS SELECT * EXCLUDE (response_id, about) FROM src.segments")
    for c in ("kind", "category", "named_by"):
        con.execute(f"ALTER TABLE issues DROP COLUMN {c}")
    con.execute("UPDATE workspace_meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    store.close(path)
    old = Workspace(path)
    assert store.schema_version(old.con) == store.SCHEMA_VERSION
    again = old.issues.get(iset.id)
    assert again.table().height == iset.table(kind=None).height      # every old cluster reads as an issue
    assert again.prevalence("model").height


# ---- LLM naming, the CLI and the dashboard ----------------------------------------------------------
class _Namer(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Namer.calls += 1
        assert body["temperature"] == 0 and body["response_format"] == {"type": "json_object"}
        content = json.dumps({"title": f"LLM issue {_Namer.calls}", "description": "One sentence.",
                              "category": "code"})
        out = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": content}}],
                          "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def test_llm_naming_one_call_per_issue_and_cached(arena, monkeypatch):
    ws, _, _, _ = arena
    server = HTTPServer(("127.0.0.1", 0), _Namer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    try:
        _Namer.calls = 0
        iset = ws.issues.discover("model=llama-13b&model=gpt-4-1106-preview", name_with="fake-judge")
        table = iset.table(kind=None)
        assert _Namer.calls >= table.height and all(t.startswith("LLM issue") for t in table["title"])
        assert set(table["category"]) == {"code"} and set(table["named_by"]) == {"llm"}
        calls = _Namer.calls
        ws.issues.discover("model=llama-13b&model=gpt-4-1106-preview", name_with="fake-judge")
        assert _Namer.calls == calls  # every request came from the cache
        stored = ws.con.execute("SELECT string_agg(request, '') FROM llm_calls").fetchall()[0][0]
        assert "sk-test-secret-123" not in stored
    finally:
        server.shutdown()


def test_cli_issues(arena):
    ws, iset, _, _ = arena
    from analysis import store

    store.close(ws.path)
    exe = str(Path(sys.executable).parent / "judgescope")
    r = subprocess.run([exe, "issues", "-w", str(ws.path), "--show", iset.id, "--json"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    records = json.loads(r.stdout)
    assert {"issue_id", "title", "kind", "category", "lift", "lift_ci_low", "prevalence", "severity",
            "prevalence_by_model"} <= set(records[0])
    assert {x["kind"] for x in records} == {"issue", "strength"}
    assert "llama-13b" in records[0]["prevalence_by_model"]
    r = subprocess.run([exe, "issues", "-w", str(ws.path), "--show", iset.id], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "CORRECTNESS" in r.stdout and "Strengths" in r.stdout, r.stdout
    r = subprocess.run([exe, "issues", "-w", str(ws.path), "--list"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and iset.id in r.stdout
    r = subprocess.run([exe, "issues", "-w", str(ws.path), "--clusterer-per-cluster", "0"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "per_cluster" in r.stderr
