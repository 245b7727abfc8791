"""Issues: the stored issue sets within the sidebar's selection — categories with their issues (or strengths),
lift and prevalence, by any facet; the map; examples; co-occurrence; curation (through the library, recorded
in the set's history). Every row, cell and point opens the instances behind it."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import Workspace, store

from .. import state
from ..state import md_escape
from .common import choose, open_clicked, table_click

FACETS = ["model", "judge", "criterion", "template", "dataset", "category"]
VIEWS = {"prevalence": "Prevalence by", "map": "Map", "examples": "Examples", "cooccurrence": "Co-occurrence",
         "curate": "Curate", "history": "History"}


def render(ws: Workspace) -> None:
    st.header("Issues")
    sets = state.cached(_sets)
    if sets.height == 0:
        st.info("This workspace has no issue set yet. Discover issues with `judgescope issues --filter …` or "
                "`ws.discover_issues(…)`; the dashboard never runs that step on a page load.")
        return
    flt = state.selection()
    ids = sets["issue_set_id"].to_list()
    chosen = flt.issue_set if flt.issue_set in ids else _covering(ws, sets, flt)
    labels = {r["issue_set_id"]: f"{r['name'] or r['issue_set_id']} · {r['issues']} issues, {r['strengths']} "
                                 f"strengths · {r['filter'] or 'everything'}" for r in sets.iter_rows(named=True)}
    set_id = st.selectbox("Issue set", ids, index=ids.index(chosen), format_func=lambda i: labels[i],
                          key="w_issue_set_pick")
    if set_id != flt.issue_set:   # the set goes into the link, so the link keeps pointing at these issues
        state.set_selection(state.narrowed(issue_set=set_id))
        flt = state.selection()
    iset = ws.issue_set(set_id)
    s = iset.stats
    n_sel = state.cached(_n, set_id, flt)
    st.caption(md_escape(
        f"{n_sel:,} of the set's {s.get('n_judgments', 0):,} critiques are in the selection ({flt.describe()}). "
        f"Outcome from {s.get('signal', 'cues')}: an issue is over-represented among failing responses (lift > 1), a "
        f"strength among passing ones. {s.get('n_segments', 0):,} sentences, {s.get('coverage', 0):.0%} of the "
        f"{s.get('n_used', 0):,} clustered ones in an issue or strength."))
    if n_sel == 0:
        st.info("No judgment of this issue set is in the selection.")
        return
    kinds = {"issue": "Issues", "strength": "Strengths"}
    kind = choose("List", kinds, "issue", key="kind")
    tree = state.cached(_tree, set_id, flt, kind)
    table = state.cached(_table, set_id, flt, kind)
    if tree.height == 0:
        st.info(f"No {kinds[kind].lower()} in this selection.")
    else:
        shown = tree.join(table.select("issue_id", "lift_ci_low", "lift_ci_high", "severity", "n_instances",
                                       "n_items"), on="issue_id", how="left")
        shown = shown.select(
            pl.when(pl.col("level") == "category").then(pl.col("title").str.to_uppercase())
            .otherwise(pl.lit("   ") + pl.col("issue_id") + ". " + pl.col("title")).alias("issue"),
            "n_units", "prevalence", "lift", "lift_ci_low", "lift_ci_high", "severity", "n_instances", "n_items",
            "level", "issue_id", "category")
        st.caption("Click a row to open its instances.")
        table_click(shown, "w_issue_tree", lambda r: _open_issue(set_id, r, table),
                    column_config={"prevalence": st.column_config.NumberColumn(format="percent"),
                                   "level": None, "issue_id": None, "category": None,
                                   "lift": st.column_config.NumberColumn(format="%.2f"),
                                   "lift_ci_low": st.column_config.NumberColumn("lift low", format="%.2f"),
                                   "lift_ci_high": st.column_config.NumberColumn("lift high", format="%.2f"),
                                   "severity": st.column_config.NumberColumn(format="%.2f")})
    view = choose("Show", VIEWS, "prevalence", key="view")
    if view == "prevalence":
        by = st.selectbox("Prevalence by", FACETS + [f"meta.{k}" for k in state.cached(_meta_keys)], key="w_issue_by")
        fig = state.cached(_prevalence_chart, set_id, by, flt)
        event = st.plotly_chart(fig, width="stretch", key="issue_prev", on_select="rerun", selection_mode="points")
        open_clicked(event, lambda cell: _cell_filter(set_id, by, cell))
        st.caption("Click a cell to open the instances of that issue in that group.")
    elif view == "map":
        event = st.plotly_chart(state.cached(_map, set_id, flt), width="stretch", key="issue_map", on_select="rerun",
                                selection_mode="points")
        st.caption("The biggest issues in colour, the rest grey. Click a point to open its judgment.")
        cells = [c for c in _points(event)]
        if cells:
            state.go("instances", state.narrowed(issue_set=set_id), instance=cells[0][0])
    elif view == "examples":
        _examples(ws, iset, table, flt)
    elif view == "cooccurrence":
        co = state.cached(_cooccurrence, set_id, flt).head(50)
        titles = dict(zip(table["issue_id"], table["title"]))
        if co.height == 0:
            st.caption("No two issues share a judgment here.")
        else:
            co = co.with_columns(pl.col("issue_a").replace_strict(titles, default=pl.col("issue_a")).alias("a"),
                                 pl.col("issue_b").replace_strict(titles, default=pl.col("issue_b")).alias("b"))
            st.caption("Click a row to open the judgments with both issues.")
            table_click(co.select("a", "b", "n_both", "lift", "issue_a", "issue_b"), "w_cooc",
                        lambda r: ("instances", state.narrowed(issue_set=set_id, issue=[], issue_all=[r["issue_a"],
                                                                                                      r["issue_b"]]), {}),
                        column_config={"issue_a": None, "issue_b": None})
    elif view == "curate":
        _curate(ws, iset, table)
    else:
        st.dataframe(iset.history(), hide_index=True, width="stretch")


def _open_issue(set_id: str, row: dict, table: pl.DataFrame):
    if row["level"] == "category":
        ids = table.filter(pl.col("category_title") == row["category"])["issue_id"].to_list()
        return "instances", state.narrowed(issue_set=set_id, issue=ids), {}
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


def _examples(ws: Workspace, iset, table: pl.DataFrame, flt) -> None:
    if table.height == 0:
        return
    titles = dict(zip(table["issue_id"], table["title"]))
    current = flt.issue[0] if len(flt.issue) == 1 and flt.issue[0] in titles else table["issue_id"][0]
    issue_id = st.selectbox("Issue", list(titles), index=list(titles).index(current),
                            format_func=lambda i: f"{i}. {titles[i]}", key="w_example_issue")
    row = table.filter(pl.col("issue_id") == issue_id).row(0, named=True)
    st.markdown(md_escape(row["description"] or ""))
    st.caption(md_escape(f"{row['category_title']} · keywords: {', '.join(row['keywords'] or [])}"))
    ex = state.cached(_examples_of, iset.id, issue_id, flt)
    for k, r in enumerate(ex.iter_rows(named=True)):
        with st.container(border=True):
            st.caption(md_escape(f"{r['model'] or ''} · judged by {r['judge']} · score {r['score']} · "
                                 f"similarity {r['similarity']:.2f}"))
            st.text(r["segment"])
            if st.button("Open this judgment", key=f"w_ex_{k}"):
                state.go("instances", state.narrowed(issue_set=iset.id), instance=r["judgment_id"])


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
            change(writer.issue_set(set_id))
        finally:
            writer.close()   # a failed edit must not keep the write lock from the other sessions
    except UserError as exc:
        st.error(md_escape(str(exc)))
        return
    st.success(md_escape(done))
    st.rerun()


# ---- cached --------------------------------------------------------------------------------------------
def _sets(ws):
    return ws.issue_sets()


def _n(ws, set_id, flt):
    return ws.issue_set(set_id).n_instances(flt)


def _tree(ws, set_id, flt, kind):
    return ws.issue_set(set_id).tree(flt, kind=kind, by=None)


def _table(ws, set_id, flt, kind):
    return ws.issue_set(set_id).table(flt, kind=kind)


def _meta_keys(ws):
    return ws.meta_keys()


def _prevalence_chart(ws, set_id, by, flt):
    return ws.issue_set(set_id).prevalence_chart(by, filter=flt)


def _map(ws, set_id, flt):
    return ws.issue_set(set_id).map(flt)


def _cooccurrence(ws, set_id, flt):
    return ws.issue_set(set_id).cooccurrence(flt)


def _examples_of(ws, set_id, issue_id, flt):
    return ws.issue_set(set_id).examples(issue_id, 10, flt)
