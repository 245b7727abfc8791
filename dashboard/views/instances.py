"""Instances: a paginated table served by DuckDB one page at a time, and the full view of one judgment."""

from __future__ import annotations

import streamlit as st

from analysis import Filter, UserError, Workspace

from ..state import md_escape, set_instance

PAGE_SIZE = 50
COLUMNS = ("judgment_id, judge, protocol, template, criterion, model, model_a, model_b, shown_first, verdict, "
           "score, scale_max, parse_status, dataset, category, item_id")


def render(ws: Workspace, flt: Filter, instance: str | None = None) -> None:
    st.header("Instances")
    n = ws.count(flt)
    st.caption(md_escape(f"{n:,} judgments match {flt.describe()}."))
    if n == 0:
        return
    pages = max(1, -(-n // PAGE_SIZE))
    page = st.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1, key="js_inst_page")
    frame = ws.judgments(flt, limit=PAGE_SIZE, offset=(int(page) - 1) * PAGE_SIZE, columns=COLUMNS)
    event = st.dataframe(frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                         key="js_inst_table")
    rows = event.selection.rows if event and event.selection else []
    if rows:
        picked = frame["judgment_id"][rows[0]]
        if picked != instance:
            set_instance(picked)
            st.rerun()
    if instance:
        try:
            detail(ws, instance)
        except UserError as exc:
            st.warning(md_escape(str(exc)))


def _text(label: str, text: str | None) -> None:
    st.markdown(f"**{md_escape(label)}**")
    st.text(text if text else "(none)")


def detail(ws: Workspace, judgment_id: str) -> None:
    d = ws.instance(judgment_id)
    j = d["judgment"]
    st.subheader("Judgment")
    st.caption(md_escape(f"{j['judgment_id']} · judge {j['judge']} · {j['protocol']} · template {j['template']} · "
                         f"criterion {j['criterion'] or 'overall'} · status {j['parse_status']}"))
    _text("Prompt", j["prompt"])
    if j["reference"]:
        _text("Reference", j["reference"])
    texts = {r["response_id"]: r for r in d["responses"].iter_rows(named=True)}
    if j["protocol"] == "pairwise":
        first = j["response_a"] if j["shown_first"] != "b" else j["response_b"]
        order = [j["response_a"], j["response_b"]]
        cols = st.columns(2)
        for col, rid, name in zip(cols, order, ("A", "B")):
            r = texts.get(rid, {})
            with col:
                shown = "shown first" if rid == first and j["shown_first"] else "shown second" if j["shown_first"] else ""
                won = " · judged better" if j["verdict"] == name.lower() else ""
                _text(f"Response {name} ({r.get('model') or 'unnamed model'}, {shown}{won})", r.get("text"))
        sw = d["swapped"]
        if sw:
            agree = "the same" if sw["verdict"] == j["verdict"] else "a different"
            st.info(md_escape(f"Swapped order: the judge gave {agree} verdict ({sw['verdict']}) when the other response "
                              f"was shown first."))
    else:
        r = texts.get(j["response_id"], {})
        _text(f"Response ({r.get('model') or 'unnamed model'}), score {j['score']} of {j['scale_max']}", r.get("text"))
    _text("Critique", j["critique"])
    seg = d["segments"]
    if seg.height:
        st.markdown("**Critique segments and their issues**")
        st.dataframe(seg.select("ord", "kind", "issue_id", "issue", "text"), hide_index=True, width="stretch")
    if d["labels"].height:
        st.markdown("**Human and gold labels on this item**")
        st.dataframe(d["labels"], hide_index=True, width="stretch")
    if d["related"].height:
        st.markdown("**Every other judgment of this item**")
        st.dataframe(d["related"], hide_index=True, width="stretch")
