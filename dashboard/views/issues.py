"""Issues: the stored issue sets within the sidebar's selection — categories with their issues (or strengths),
lift and prevalence, by any facet; the map; examples; co-occurrence; curation (through the library, recorded
in the set's history). Every row, cell and point opens the instances behind it."""

from __future__ import annotations

import dataclasses

import polars as pl
import streamlit as st

from analysis import Workspace, store
from analysis.formatting import compared_note, count, tie_note, unexplained_note, unmapped_note
from analysis.issues import corrections

from .. import state
from ..state import md_escape
from .common import choose, open_clicked, table_click

FACETS = ["model", "judge", "criterion", "template", "dataset", "category"]
VIEWS = {
    "prevalence": "Prevalence by",
    "map": "Map",
    "examples": "Examples",
    "cooccurrence": "Co-occurrence",
    "curate": "Curate",
    "history": "History",
}


def render(ws: Workspace) -> None:
    st.header("Issues")
    sets = state.cached(_sets)
    if sets.height == 0:
        st.info(
            "This workspace has no issue set yet. Discover issues with `judgescope issues --filter …` or "
            "`ws.issues.discover(…)`; the dashboard never runs that step on a page load."
        )
        return
    set_id, chosen = _pick_set(ws, sets)
    # an issue in the selection (a link to "issue 2 in model X") picks what the examples show; the list, the
    # prevalence and the map are over the rest of the selection, or issue 2 would hold 100% of its own judgments
    flt = dataclasses.replace(chosen, issue=())
    iset = ws.issues.get(set_id)
    s = iset.stats
    n_sel = state.cached(_n, set_id, flt)
    if chosen.issue:
        st.caption(
            md_escape(
                f"Selected: issue {', '.join(chosen.issue)} (its examples below; its judgments on the Instances page). "
                "The list counts the selection without that condition."
            )
        )
    st.caption(
        md_escape(
            f"{n_sel:,} of the set's {s.get('n_judgments', 0):,} critiques are in the selection ({flt.describe()}). "
            f"Outcome from {s.get('signal', 'cues')}. A judgment counts for an issue only when its response shows it "
            f"(origin: response) or its critique says it (stated, or discovered: a group named by its own words)."
            + (" " + corrections.describe(iset.corrected) if iset.corrected else "")
        )
    )
    if n_sel == 0:
        st.info("No judgment of this issue set is in the selection.")
        return
    kinds = {"issue": "Issues", "strength": "Strengths"}
    kind = choose("List", kinds, "issue", key="kind")
    table = state.cached(_table, set_id, flt, kind)
    if table.height == 0:
        st.info(f"No {kinds[kind].lower()} in this selection.")
    else:
        st.caption("Sorted by how many responses in the selection have it. Click a row to open its instances.")
        columns = COLUMNS if kind == "issue" else {**COLUMNS, **STRENGTH_COLUMNS}
        table_click(_flat(table, kind), "w_issue_tree", lambda r: _open_issue(set_id, r, table), column_config=columns)
    if kind == "issue":
        _unexplained(iset, flt)
    view = choose("Show", VIEWS, "prevalence", key="view")
    if view == "prevalence":
        _prevalence(set_id, flt)
    elif view == "map":
        _issue_map(set_id, flt)
    elif view == "examples":
        _examples(ws, iset, table, flt, chosen.issue)
    elif view == "cooccurrence":
        _cooccurring(set_id, table, flt)
    elif view == "curate":
        _curate(ws, iset, table)
    else:
        st.dataframe(iset.history(), hide_index=True, width="stretch")


def _pick_set(ws: Workspace, sets: pl.DataFrame):
    """The issue set selector (the selection's set, else the one covering it best); the chosen set goes into the
    selection, so the link keeps pointing at these issues. Returns the set's id and the selection."""
    flt = state.selection()
    ids = sets["issue_set_id"].to_list()
    chosen = flt.issue_set if flt.issue_set in ids else _covering(ws, sets, flt)
    labels = {
        r["issue_set_id"]: f"{r['name'] or r['issue_set_id']} · {count(r['issues'], 'issue')}, "
        f"{count(r['strengths'], 'strength')} · {r['filter'] or 'everything'}"
        for r in sets.iter_rows(named=True)
    }
    set_id = st.selectbox(
        "Issue set", ids, index=ids.index(chosen), format_func=lambda i: labels[i], key="w_issue_set_pick"
    )
    if set_id != flt.issue_set:
        state.set_selection(state.narrowed(issue_set=set_id))
        flt = state.selection()
    return set_id, flt


def _prevalence(set_id: str, flt) -> None:
    """Issues × a facet (model, judge, …, a metadata key); a cell opens that issue's instances in that group."""
    by = st.selectbox("Prevalence by", FACETS + [f"meta.{k}" for k in state.cached(_meta_keys)], key="w_issue_by")
    fig = state.cached(_prevalence_chart, set_id, by, flt)
    event = st.plotly_chart(fig, width="stretch", key="issue_prev", on_select="rerun", selection_mode="points")
    open_clicked(event, lambda cell: _cell_filter(set_id, by, cell))
    st.caption("Click a cell to open the instances of that issue in that group.")


def _issue_map(set_id: str, flt) -> None:
    """The 2-D map of statements; a point opens its judgment."""
    event = st.plotly_chart(
        state.cached(_map, set_id, flt),
        width="stretch",
        key="issue_map",
        on_select="rerun",
        selection_mode="points",
    )
    st.caption(
        "The biggest issues in colour, other issues and strengths in grey, statements no issue explains "
        "in light grey; related issues lie near each other. Click a point to open its judgment."
    )
    cells = [c for c in _points(event)]
    if cells:
        state.go("instances", state.narrowed(issue_set=set_id), instance=cells[0][0])


def _cooccurring(set_id: str, table: pl.DataFrame, flt) -> None:
    """Pairs of issues that share judgments, most first; a row opens the judgments with both."""
    co = state.cached(_cooccurrence, set_id, flt).head(50)
    titles = dict(zip(table["issue_id"], table["title"]))
    if co.height == 0:
        st.caption("No two issues share a judgment here.")
        return
    co = co.with_columns(
        pl.col("issue_a").replace_strict(titles, default=pl.col("issue_a")).alias("a"),
        pl.col("issue_b").replace_strict(titles, default=pl.col("issue_b")).alias("b"),
    )
    st.caption("Click a row to open the judgments with both issues.")
    table_click(
        co.select("a", "b", "n_both", "lift", "issue_a", "issue_b"),
        "w_cooc",
        lambda r: (
            "instances",
            state.narrowed(issue_set=set_id, issue=[], issue_all=[r["issue_a"], r["issue_b"]]),
            {},
        ),
        column_config={
            "issue_a": None,
            "issue_b": None,
            "a": st.column_config.TextColumn("Issue", width="large"),
            "b": st.column_config.TextColumn("Together with", width="large"),
            "n_both": st.column_config.NumberColumn("Judgments with both", format="%d"),
            "lift": st.column_config.NumberColumn(
                "Together vs by chance",
                format="%.2f",
                help="How much more often the two issues are found in the same judgment than if they were "
                "independent: judgments with both × all judgments / (judgments with one × judgments with the other); "
                "1 = as by chance. Not the tie to failing of the issue list.",
            ),
        },
    )


ORIGINS = {
    "response": "response text",
    "stated": "critique says it",
    "cluster": "discovered",
    "taxonomy": "your list",
    "merge": "merged",
    "split": "split",
}


def _share(label: str, help: str):
    return st.column_config.NumberColumn(label, format="percent", help=help)


COLUMNS = {
    "issue_id": None,
    "issue": st.column_config.TextColumn("Issue", help="The issue's number and name", width="large"),
    "category": st.column_config.TextColumn("Category", help="The group the issue belongs to"),
    "origin": st.column_config.TextColumn(
        "Found from",
        help="response text: the response itself shows it (empty, cut off, …); critique says it: the "
        "judge's words state this failure; discovered: sentences grouped and named by their own words; "
        "(comparisons): most of its responses have it only because the judge said the other answer was better at it",
    ),
    "responses": st.column_config.NumberColumn("Responses", help="Judged responses in the selection with this issue"),
    "prevalence": _share("Share", "Share of the selection's judged responses with this issue"),
    "in_outcome": _share(
        "Of failing",
        "Share of the failing responses with this issue: scored below the judge's threshold, or not the one the judge "
        "preferred (in a pairwise selection, Share counts winners and losers, so it stays under about half)",
    ),
    "lift": st.column_config.NumberColumn(
        "Tie to failing",
        format="%.2f",
        help="How much more often failing responses have it than passing ones "
        "(1 = equally often; above 1: a sign of failure)",
    ),
    "lift_interval": st.column_config.TextColumn(
        "95% interval",
        help="The range the tie to failing lies in with 95% confidence; wide when few responses have the issue. "
        "'not clearly tied': it reaches 1, so in this selection failing responses do not clearly have it more often; "
        "'more in passing': passing responses have it more often (an issue the critique states or the response "
        "shows is listed all the same); 'mostly from comparisons': most of its responses have it only because the "
        "judge said the other one was better at it ('Output (a) is more detailed'), so they lost by construction",
        width="medium",
    ),
    "checked": st.column_config.TextColumn(
        "Checked by readers", help="Examples readers marked (Examples view): the share that fit, with its 95% interval"
    ),
}
STRENGTH_COLUMNS = {
    "issue": st.column_config.TextColumn(
        "Strength", help="The strength's number and name: a merit most of its members' own words state", width="large"
    ),
    "in_outcome": _share(
        "Of passing",
        "Share of the passing responses with this strength: scored at or above the judge's threshold, or the one the "
        "judge preferred",
    ),
}


def _flat(table: pl.DataFrame, kind: str = "issue") -> pl.DataFrame:
    """The issue table as a reader sees it: one row per issue, biggest first, words instead of codes; beside the
    share, the share among failing responses (of an issue) or passing ones (of a strength)."""
    outcome = "p_fail" if kind == "issue" else "p_pass"

    def interval(lo, hi):
        if lo is None or hi is None:
            return ""
        note = tie_note(lo, hi)
        return f"{lo:.2f} – {hi:.2f}" + (f" · {note}" if note else "")

    def compared(r):  # a comparison counts for the response that lost: its tie to failing is there by construction
        note = compared_note(r.get("n_compared"), r["n_units"]) if kind == "issue" else ""
        return f" · {note}, which count for the loser" if note else ""

    def checked(r):
        if not r["n_checked"]:
            return "not yet"
        return f"{r['n_fits']} of {r['n_checked']} fit ({r['precision_ci_low']:.0%} – {r['precision_ci_high']:.0%})"

    rows = sorted(
        (r for r in table.iter_rows(named=True) if r["n_units"]), key=lambda r: (-r["n_units"], r["issue_id"])
    )
    return pl.DataFrame(
        {
            "issue_id": [r["issue_id"] for r in rows],
            "issue": [f"{r['issue_id']}. {r['title']}" for r in rows],
            "category": [r["category_title"] or "" for r in rows],
            # (visible without scrolling: an issue mostly from comparisons says so where it says where it was found)
            "origin": [
                ORIGINS.get(r["origin"], r["origin"] or "") + (" (comparisons)" if compared(r) else "") for r in rows
            ],
            "responses": [r["n_units"] or 0 for r in rows],
            "prevalence": [r["prevalence"] or 0.0 for r in rows],
            "in_outcome": [r[outcome] for r in rows],
            "lift": [r["lift"] for r in rows],
            "lift_interval": [interval(r["lift_ci_low"], r["lift_ci_high"]) + compared(r) for r in rows],
            "checked": [checked(r) for r in rows],
        },
        schema={
            "issue_id": pl.String,
            "issue": pl.String,
            "category": pl.String,
            "origin": pl.String,
            "responses": pl.Int64,
            "prevalence": pl.Float64,
            "in_outcome": pl.Float64,
            "lift": pl.Float64,
            "lift_interval": pl.String,
            "checked": pl.String,
        },
    )


def _unexplained(iset, flt) -> None:
    """What the issues leave out: failing responses with no named issue, and their statements to read."""
    e = state.cached(_explained, iset.id, flt)
    if not e["failing_units"]:
        return
    st.caption(md_escape(unexplained_note(e, None) + " (nothing is pushed into a name that does not fit)."))
    if note := unmapped_note(iset.unmapped_names):
        st.warning(md_escape(note))
    with st.expander("Read the statements no issue explains"):
        loose = state.cached(_unexplained_of, iset.id, flt)
        if loose.height == 0:
            st.caption("None.")
        for r in loose.iter_rows(named=True):
            fared = " (failing" + (", has other issues)" if r["has_issue"] else ")") if r["failing"] else ""
            st.text(f"{r['model'] or ''}{fared}: {r['text']}")


def _open_issue(set_id: str, row: dict, table: pl.DataFrame):
    return "instances", state.narrowed(issue_set=set_id, issue=[row["issue_id"]]), {}


def _cell_filter(set_id: str, by: str, cell: list):
    issue_id, group = cell[0], cell[1]
    if by.startswith("meta."):
        return state.narrowed(issue_set=set_id, issue=[issue_id], meta={by[5:]: (group,)})
    return state.narrowed(issue_set=set_id, issue=[issue_id], **{by: [group]})


def _points(event) -> list:
    from .common import clicked

    return clicked(event)


def _covering(ws, sets, flt) -> str:
    """The newest issue set with judgments in the selection (else the newest)."""
    for set_id in sets["issue_set_id"].to_list():
        if state.cached(_n, set_id, flt):
            return set_id
    return sets["issue_set_id"][0]


def _examples(ws: Workspace, iset, table: pl.DataFrame, flt, selected: tuple[str, ...] = ()) -> None:
    if table.height == 0:
        return
    titles = dict(zip(table["issue_id"], table["title"]))
    current = selected[0] if len(selected) == 1 and selected[0] in titles else table["issue_id"][0]
    issue_id = st.selectbox(
        "Issue",
        list(titles),
        index=list(titles).index(current),
        format_func=lambda i: f"{i}. {titles[i]}",
        key="w_example_issue",
    )
    row = table.filter(pl.col("issue_id") == issue_id).row(0, named=True)
    st.markdown(md_escape(row["description"] or ""))
    st.caption(md_escape(f"{row['category_title']} · keywords: {', '.join(row['keywords'] or [])}"))
    if row["n_checked"]:
        st.caption(
            md_escape(
                f"Readers checked {row['n_checked']} examples: {row['n_fits']} fit, precision "
                f"{row['precision']:.0%} (95% interval {row['precision_ci_low']:.0%} – "
                f"{row['precision_ci_high']:.0%})."
            )
        )
    else:
        st.caption("Mark examples below as fitting the issue or not: the issue then shows its measured precision.")
    # a random draw of its members, not the most typical ones, so that the marks estimate the precision of the whole
    # issue; "Another sample" draws ten more
    draw = st.session_state.get("w_example_draw", 0)
    c1, c2 = st.columns([3, 1])
    c1.caption(md_escape(f"Ten of its {count(row['n_instances'], 'judgment')}, drawn at random (draw {draw + 1})."))
    if c2.button("Another sample", key="w_example_next"):
        st.session_state["w_example_draw"] = draw + 1
        st.rerun()
    ex = state.cached(_examples_of, iset.id, issue_id, flt, draw)
    marked = state.cached(_my_marks, iset.id, issue_id)
    for k, r in enumerate(ex.iter_rows(named=True)):
        with st.container(border=True):
            st.caption(
                md_escape(
                    f"{r['model'] or 'response'} · judged by {r['judge']} · {r['outcome']}"
                    + (
                        f" · marked: {'fits' if marked[r['judgment_id']] else 'does not fit'}"
                        if r["judgment_id"] in marked
                        else ""
                    )
                )
            )
            st.text(r["segment"])
            c1, c2, c3 = st.columns(3)
            if c1.button("Open this judgment", key=f"w_ex_{k}"):
                state.go("instances", state.narrowed(issue_set=iset.id), instance=r["judgment_id"])
            if c2.button("Fits", key=f"w_fit_{k}"):
                _edit(ws, iset.id, lambda s, j=r["judgment_id"]: s.mark(issue_id, j, True), "marked: fits")
            if c3.button("Does not fit", key=f"w_nofit_{k}"):
                _edit(ws, iset.id, lambda s, j=r["judgment_id"]: s.mark(issue_id, j, False), "marked: does not fit")


def _curate(ws: Workspace, iset, table: pl.DataFrame) -> None:
    ids = table["issue_id"].to_list()
    if not ids:
        return
    titles = dict(zip(table["issue_id"], table["title"]))
    fmt = lambda i: f"{i}. {titles.get(i, '')[:70]}"  # noqa: E731
    c1, c2 = st.columns(2)
    with c1:
        target = st.selectbox("Issue", ids, format_func=fmt, key="w_cur_target")
        new_title = st.text_input("New title", key="w_cur_title")
        if st.button("Rename", disabled=not new_title.strip()):
            _edit(ws, iset.id, lambda s: s.rename(target, new_title.strip()), f"renamed issue {target}")
        if st.button("Split in two"):
            _edit(ws, iset.id, lambda s: s.split(target), f"split issue {target}")
        if st.button("Drop"):
            _edit(ws, iset.id, lambda s: s.drop(target), f"dropped issue {target}")
    with c2:
        many = st.multiselect("Merge these issues", ids, format_func=fmt, key="w_cur_merge")
        merged_title = st.text_input("Title of the merged issue", key="w_cur_merge_title")
        if st.button("Merge", disabled=len(many) < 2):
            _edit(ws, iset.id, lambda s: s.merge(many, title=merged_title.strip() or None), "merged")


def _edit(ws: Workspace, set_id: str, change, done: str) -> None:
    """Curation writes through the library: this process lets go of its read-only connection for the edit."""
    from analysis import UserError, Workspace as W

    store.close(ws.path)
    try:
        writer = W(ws.path)
        try:
            change(writer.issues.get(set_id))
        finally:
            writer.close()  # a failed edit must not keep the write lock from the other sessions
    except UserError as exc:
        st.error(md_escape(str(exc)))
        return
    st.success(md_escape(done))
    st.rerun()


# ---- cached --------------------------------------------------------------------------------------------
def _sets(ws):
    return ws.issues.sets()


def _n(ws, set_id, flt):
    return ws.issues.get(set_id).n_instances(flt)


def _table(ws, set_id, flt, kind):
    return ws.issues.get(set_id).table(flt, kind=kind)


def _meta_keys(ws):
    return ws.meta_keys()


def _prevalence_chart(ws, set_id, by, flt):
    return ws.issues.get(set_id).prevalence_chart(by, filter=flt)


def _map(ws, set_id, flt):
    return ws.issues.get(set_id).map(flt)


def _cooccurrence(ws, set_id, flt):
    return ws.issues.get(set_id).cooccurrence(flt)


def _explained(ws, set_id, flt):
    return ws.issues.get(set_id).explained(flt)


def _unexplained_of(ws, set_id, flt):
    return ws.issues.get(set_id).unexplained(flt, 40)


def _my_marks(ws, set_id, issue_id):
    m = ws.issues.get(set_id).marks(issue_id)
    m = m.filter(pl.col("current"))
    return dict(zip(m["judgment_id"], m["fits"]))


def _examples_of(ws, set_id, issue_id, flt, draw: int = 0):
    return ws.issues.get(set_id).examples(issue_id, 10, flt, sample=draw)
