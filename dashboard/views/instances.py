"""Instances: the selection's judgments, a page at a time with text previews and their issues, sorted in DuckDB
across every page; and one judgment as the judge saw it (pairwise: the answers in the order shown, the
critique's own names for them, the verdict in the other order and its critique, labels as agreement)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from analysis import UserError, Workspace
from analysis.browse import SORTS

from .. import state
from ..state import md_escape
from .common import table_click

PAGE_SIZE = 50


def render(ws: Workspace) -> None:
    st.header("Instances")
    flt = state.selection()
    jid = state.view("instance")
    if jid:
        if st.button("← back to the list", key="w_back"):
            state.set_view(instance=None)
            st.rerun()
        try:
            detail(ws, jid)
        except UserError as exc:
            st.warning(md_escape(str(exc)))
        return
    n = state.cached(_count, flt)
    st.caption(md_escape(f"{n:,} judgments match {flt.describe()}."))
    if n == 0:
        return
    c1, c2, c3 = st.columns([2, 1, 2])
    asked = state.view("sort", "source")
    sort = c1.selectbox(
        "Sort by", list(SORTS), index=list(SORTS).index(asked) if asked in SORTS else 0, key="w_inst_sort"
    )
    desc = c2.toggle("descending", value=state.view("desc") == "1", key="w_inst_desc")
    pages = max(1, -(-n // PAGE_SIZE))
    current = min(pages, _offset(state.view("offset", 0)) // PAGE_SIZE + 1)
    number = c3.number_input(
        f"Page (of {pages:,})", min_value=1, max_value=pages, value=current, step=1, key="w_inst_page"
    )
    state.set_view(
        sort=None if sort == "source" else sort,
        desc="1" if desc else None,
        offset=str((int(number) - 1) * PAGE_SIZE) if number > 1 else None,
    )
    frame = state.cached(_page, flt, sort, desc, (int(number) - 1) * PAGE_SIZE)
    st.caption("Click a row to read the judgment.")
    table_click(
        frame,
        "w_inst_table",
        lambda r: ("instances", flt, {"instance": r["judgment_id"]}),
        column_config={
            "judgment_id": None,
            "item_id": None,
            "prompt": st.column_config.TextColumn(width="medium"),
            "critique": st.column_config.TextColumn(width="large"),
        },
    )


def detail(ws: Workspace, judgment_id: str) -> None:
    d = state.cached(_instance, judgment_id, state.selection().issue_set)
    j = d["judgment"]
    st.subheader("Judgment")
    st.caption(
        md_escape(
            f"judge {j['judge']} · {j['protocol']} · template {j['template']} · criterion "
            f"{j['criterion'] or 'overall'} · dataset {j['dataset']} · status {j['parse_status']}"
        )
    )
    _text("Prompt", j["prompt"])
    if j["reference"]:
        with st.expander("Reference answer"):
            st.text(j["reference"])
    if j["protocol"] == "pairwise":
        _pairwise(d)
    else:
        r = d["responses"].row(0, named=True) if d["responses"].height else {}
        _text(f"Response ({r.get('model') or 'unnamed model'}), score {j['score']} of {j['scale_max']}", r.get("text"))
        _text("Critique", j["critique"])
    _labels(d)
    seg = d["segments"]
    if seg.height:
        st.markdown("**The critique's sentences and their issues**")
        st.dataframe(
            seg.select("ord", "text", "about_model", "issue", "issue_kind", "kind"),
            hide_index=True,
            width="stretch",
            column_config={"about_model": "about", "kind": "cue reading"},
        )
    if d["related"].height:
        st.markdown("**Every other judgment of this item** (click one to read it)")
        table_click(
            d["related"],
            "w_related",
            lambda r: ("instances", state.selection(), {"instance": r["judgment_id"]}),
            column_config={"judgment_id": None},
        )


def _pairwise(d: dict[str, Any]) -> None:
    j = d["judgment"]
    slots = d["slots"]
    if not slots[0]["order_known"]:
        st.caption("The file does not say which answer the judge saw first: shown as stored.")
    cols = st.columns(2)
    for col, s in zip(cols, slots):
        with col:
            place = ("shown first" if s["slot"] == "A" else "shown second") if s["order_known"] else ""
            mark = " · judged better ✓" if s["won"] else (" · tie" if s["tie"] else "")
            _text(
                f"{s['slot']}: {s['model'] or 'response ' + s['slot']} ({place}, {s['n_chars'] or 0:,} chars){mark}",
                s["text"],
            )
    names = d.get("critique_names") or {}
    if names:
        st.caption(md_escape("In the critique: " + "; ".join(f"“{k}” = {v}" for k, v in sorted(names.items()))))
    sw = d["swapped"]
    if not sw:
        with st.container():
            _text("Critique", j["critique"])
        return
    left, right = st.columns(2)
    with left:
        _text("Critique", j["critique"])
    with right:
        _swapped(sw)


def _swapped(sw: dict[str, Any]) -> None:
    """The judgment of the same pair in the other order: its verdict beside this one's, and its critique."""
    agree = "the same verdict" if sw["same_verdict"] else "a different verdict"
    st.markdown("**The other order** (the other answer shown first): " + md_escape(agree))
    if sw.get("critique_names"):
        st.caption(
            md_escape("In this critique: " + "; ".join(f"“{k}” = {v}" for k, v in sorted(sw["critique_names"].items())))
        )
    st.text(sw["critique"] or "(no critique)")
    if st.button("Open that judgment", key="w_swapped"):
        state.set_view(instance=sw["judgment_id"])
        st.rerun()


def _labels(d: dict[str, Any]) -> None:
    labels = d["labels"]
    if not labels:
        return
    st.markdown("**Human and gold labels**")
    # the response's model, and its slot when both come from one model (JudgeBench pairs one model's two answers)
    models = [s["model"] for s in d["slots"]]
    same = len(models) == 2 and models[0] == models[1]

    def name(s: dict[str, Any]) -> str:
        if not s["model"]:
            return f"response {s['slot']}"
        return f"response {s['slot']} ({s['model']})" if same else s["model"]

    model_of = {s["response_id"]: name(s) for s in d["slots"]}
    rows = []
    for lab in labels:
        agree = {True: "judge agrees ✓", False: "judge disagrees ✗", None: "–"}[lab["judge_agrees"]]
        if "prefers" in lab:
            if lab["prefers"] == "tie":
                says = "tie"
            elif lab["prefers"] is None:
                says = "no preference recorded"
            else:
                says = f"prefers {model_of.get(lab['prefers'], 'a response not shown here')}"
        else:
            says = f"score {lab['score']} of {lab['scale_max']}"
        rows.append(
            f"- {md_escape(lab['kind'] or '')} · {md_escape(lab['annotator'] or '')}: {md_escape(says)} — **{agree}**"
        )
    st.markdown("\n".join(rows))  # a few lines of text (readable, searchable), not a grid


def _text(label: str, text: str | None) -> None:
    st.markdown(f"**{md_escape(label)}**")
    st.text(text if text else "(none)")


# state.cached calls these with the workspace, and a Filter argument as its query string
def _count(ws: Workspace, flt: str) -> int:
    return ws.count(flt)


def _page(ws: Workspace, flt: str, sort: str, desc: bool, offset: int) -> pl.DataFrame:
    return ws.judgments_page(flt, sort=sort, desc=desc, limit=PAGE_SIZE, offset=offset)


def _instance(ws: Workspace, judgment_id: str, issue_set: str | None) -> dict[str, Any]:
    return ws.instance(judgment_id, issue_set)


def _offset(value: object) -> int:
    """A link's offset: a whole number of rows from 0; anything else (text, negative) is 0."""
    try:
        return max(0, int(str(value or 0).strip()))
    except ValueError:
        return 0
