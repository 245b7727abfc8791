"""Issues: the stored issue sets, their table, map, prevalence by any facet, co-occurrence, examples,
and curation (rename / merge / split / drop, saved in the workspace)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import streamlit as st

from analysis import Filter, Workspace, store

from ..state import md_escape

FACETS = ["model", "judge", "criterion", "template", "dataset", "category"]


def render(ws: Workspace, flt: Filter) -> None:
    st.header("Issues")
    sets = ws.issue_sets()
    if sets.height == 0:
        st.info("This workspace has no issue set yet. Discover issues with `judgescope issues --filter …` or "
                "`ws.discover_issues(…)`; the dashboard never runs that heavy step on a page load.")
        return
    ids = sets["issue_set_id"].to_list()
    chosen = flt.issue_set if flt.issue_set in ids else ids[0]
    labels = {r["issue_set_id"]: f"{r['name'] or r['issue_set_id']} · {r['issues']} issues · {r['filter'] or 'everything'}"
              for r in sets.iter_rows(named=True)}
    set_id = st.selectbox("Issue set", ids, index=ids.index(chosen), format_func=lambda i: labels[i],
                          key="js_issue_set_pick", on_change=_pick_set)
    if flt.issue_set != set_id:  # the set goes into the link, so the view reopens the same
        st.session_state.setdefault("js_extra", {})["issue_set"] = set_id
        st.rerun()
    iset = ws.issue_set(set_id)
    stats = iset.stats
    st.caption(md_escape(
        f"{stats.get('n_judgments', 0):,} critiques → {stats.get('n_segments', 0):,} segments, of which "
        f"{stats.get('n_used', 0):,} state a problem (kept) and {stats.get('n_segments', 0) - stats.get('n_used', 0):,} "
        f"praise, restate or only give a verdict (dropped); {stats.get('coverage', 0):.0%} of the kept segments "
        f"belong to an issue. {iset.no_issue():,} of {iset.n_instances():,} instances have no issue."))
    table = iset.table()
    show = table.select("issue_id", "title", pl.col("keywords").list.join(", "), "n_instances", "n_items",
                        "max_item_share", "severity", "prevalence", "prevalence_ci_low", "prevalence_ci_high")
    st.dataframe(show, hide_index=True, width="stretch",
                 column_config={"prevalence": st.column_config.NumberColumn(format="percent"),
                                "max_item_share": st.column_config.NumberColumn(format="percent")})
    options = ["(all issues)"] + table["issue_id"].to_list()
    titles = dict(zip(table["issue_id"], table["title"]))
    current = flt.issue[0] if len(flt.issue) == 1 and flt.issue[0] in titles else "(all issues)"
    picked = st.selectbox("Select an issue (filters every page)", options, index=options.index(current),
                          format_func=lambda i: i if i == "(all issues)" else f"{i}. {titles[i]}", key="js_issue_pick",
                          on_change=_pick_issue)
    tabs = st.tabs(["Prevalence", "Map", "Examples", "Co-occurrence", "Curate", "History"])
    with tabs[0]:
        by = st.selectbox("Prevalence by", FACETS + [f"meta.{k}" for k in ws.meta_keys()], key="js_issue_by")
        st.plotly_chart(iset.prevalence_chart(by), width="stretch", key="issue_prev")
        st.dataframe(iset.prevalence(by), hide_index=True, width="stretch")
    with tabs[1]:
        st.plotly_chart(iset.map(), width="stretch", key="issue_map")
    with tabs[2]:
        if picked == "(all issues)":
            st.caption("Select an issue to see its most typical instances.")
        else:
            ex = iset.examples(picked, 10)
            for r in ex.iter_rows(named=True):
                with st.container(border=True):
                    st.caption(md_escape(f"{r['model'] or ''} · judged by {r['judge']} · score {r['score']} · "
                                         f"similarity {r['similarity']:.2f}"))
                    st.text(r["segment"])
    with tabs[3]:
        st.dataframe(iset.cooccurrence().head(50), hide_index=True, width="stretch")
    with tabs[4]:
        _curate(ws, iset, table)
    with tabs[5]:
        st.dataframe(iset.history(), hide_index=True, width="stretch")


def _pick_set() -> None:
    st.session_state.setdefault("js_extra", {})["issue_set"] = st.session_state["js_issue_set_pick"]
    st.session_state["js_issue_ids"] = []


def _pick_issue() -> None:
    """Selecting an issue here sets the sidebar's issue filter (a callback may, before the rerun)."""
    v = st.session_state["js_issue_pick"]
    st.session_state["js_issue_mode"] = "issue"
    st.session_state["js_issue_ids"] = [] if v == "(all issues)" else [v]


def _curate(ws: Workspace, iset, table: pl.DataFrame) -> None:
    ids = table["issue_id"].to_list()
    titles = dict(zip(table["issue_id"], table["title"]))
    fmt = lambda i: f"{i}. {titles.get(i, '')[:70]}"  # noqa: E731
    c1, c2 = st.columns(2)
    with c1:
        target = st.selectbox("Issue", ids, format_func=fmt, key="js_cur_target")
        new_title = st.text_input("New title", key="js_cur_title")
        if st.button("Rename", disabled=not new_title.strip()):
            _edit(ws, iset.id, ["--rename", target, new_title.strip()])
        if st.button("Split in two"):
            _edit(ws, iset.id, ["--split", target])
        if st.button("Drop"):
            _edit(ws, iset.id, ["--drop", target])
    with c2:
        many = st.multiselect("Merge these issues", ids, format_func=fmt, key="js_cur_merge")
        merged_title = st.text_input("Title of the merged issue", key="js_cur_merge_title")
        if st.button("Merge", disabled=len(many) < 2):
            _edit(ws, iset.id, ["--merge", *many] + (["--title", merged_title] if merged_title.strip() else []))


def _edit(ws: Workspace, set_id: str, args: list[str]) -> None:
    """Curation writes: this process lets go of its read-only connection and the command line does the write."""
    store.close(ws.path)
    exe = str(Path(sys.executable).parent / "judgescope")
    done = subprocess.run([exe, "issues", "-w", str(ws.path), "--show", set_id, *args], capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        st.error(md_escape(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "the edit failed"))
    else:
        st.success(md_escape(done.stdout.strip().splitlines()[0] if done.stdout.strip() else "saved"))
        st.rerun()
