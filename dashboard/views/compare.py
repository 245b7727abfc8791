"""Compare: two models (or two judges) on the selection: issue prevalence difference with intervals (click a row:
the instances of A with that issue), and the items where their scores differ most (click: the two judgments)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import UserError, Workspace

from .. import state
from ..state import md_escape
from .common import choose, table_click


def render(ws: Workspace) -> None:
    flt = state.selection()
    st.header("Compare")
    st.caption(md_escape(f"Two models or judges within {flt.describe()}."))
    # models by default; judges when the selection has fewer than two named models (LLMBar: unnamed outputs)
    default = "model" if len(state.cached(_values, "model", flt)) >= 2 else "judge"
    by = choose("Compare two", {"model": "models", "judge": "judges"}, default, key="compare_by")
    options = state.cached(_values, by, flt)
    if len(options) < 2:
        st.info(md_escape(f"Fewer than two {by}s match {flt.describe()}."))
        return
    sets = state.cached(_sets)
    set_id = None
    if sets.height:
        set_id = flt.issue_set if flt.issue_set in sets["issue_set_id"].to_list() else _covering(sets, by, flt)
    # the default sides: the two with the most responses in the issue set (else the first two)
    covered = [g for g in (state.cached(_sides, set_id, by, flt) if set_id else []) if g in options]
    a, b = _pick_sides(options, covered + [o for o in options if o not in covered])
    if a == b:
        st.warning("Pick two different ones.")
        return
    _issue_differences(set_id, covered, a, b, by, flt)
    _score_differences(a, b, by, flt)


def _pick_sides(options: list[str], ranked: list[str]) -> tuple[str, str]:
    """The A and B selectors: the view's sides when still offered, else the two ranked first; never one side twice
    by default."""
    a0 = state.view("compare_a") if state.view("compare_a") in options else ranked[0]
    b0 = (
        state.view("compare_b")
        if state.view("compare_b") in options and state.view("compare_b") != a0
        else next(o for o in ranked if o != a0)
    )
    # a widget keeps its old value across reruns: one no longer offered, or the other side's, is reset here
    if st.session_state.get("w_cmp_a") not in options:
        st.session_state["w_cmp_a"] = a0
    if st.session_state.get("w_cmp_b") not in options or st.session_state.get("w_cmp_b") == st.session_state["w_cmp_a"]:
        st.session_state["w_cmp_b"] = (
            b0 if b0 != st.session_state["w_cmp_a"] else next(o for o in ranked if o != st.session_state["w_cmp_a"])
        )
    c1, c2 = st.columns(2)
    a = c1.selectbox("A", options, key="w_cmp_a")
    b = c2.selectbox("B", options, key="w_cmp_b")
    state.set_view(compare_a=a, compare_b=b)
    return a, b


def _issue_differences(set_id: str | None, covered: list[str], a: str, b: str, by: str, flt) -> None:
    """Issue prevalence of A minus B with intervals and which differences are significant, or why it cannot be
    shown (no issue set, or one that does not cover both sides)."""
    if set_id is None:
        st.caption("No issue set yet: issue prevalence appears here once one is discovered.")
        return
    if a not in covered or b not in covered:
        missing = [g for g in (a, b) if g not in covered]
        st.info(
            md_escape(
                f"Issue set {set_id} has no critiques of {' or '.join(missing)} in this selection, so their "
                f"issues cannot be compared; pick an issue set that covers both in the sidebar. The score "
                f"differences below do not need one."
            )
        )
        return
    try:
        diff = state.cached(_diff, set_id, a, b, by, flt)
    except UserError as exc:
        st.info(md_escape(str(exc)))
        return
    st.subheader("Issue prevalence, A minus B")
    n_sig = int(diff["significant"].sum()) if diff.height else 0
    st.caption(
        md_escape(
            f"Issue set {set_id}, within {flt.describe()}. {n_sig} of {diff.height} differences are significant "
            f"(two-proportion z-test, Holm-corrected over the {diff.height} issues, 5%); the largest differences "
            f"first, either way. Click a row to open A's instances with that issue."
        )
    )
    shown = diff.with_columns(
        pl.when(pl.col("significant")).then(pl.lit("yes")).otherwise(pl.lit("")).alias("significant")
    )
    columns = ("issue_id", "title", "category_title", "share_a", "share_b", "difference", "ci_low", "ci_high")
    table_click(
        shown.select(*columns, "significant"),
        "w_cmp_diff",
        lambda r: ("instances", state.narrowed(issue_set=set_id, issue=[r["issue_id"]], **{by: [a]}), {}),
        column_config={
            "issue_id": None,
            "title": "Issue",
            "category_title": "Category",
            "share_a": st.column_config.NumberColumn(f"A: {a}", format="percent"),
            "share_b": st.column_config.NumberColumn(f"B: {b}", format="percent"),
            "difference": st.column_config.NumberColumn("A − B", format="percent"),
            "ci_low": st.column_config.NumberColumn("95% low", format="percent"),
            "ci_high": st.column_config.NumberColumn("95% high", format="percent"),
            "significant": st.column_config.TextColumn(
                "Significant", help="Holm-corrected two-proportion z-test at 5%"
            ),
        },
    )


def _score_differences(a: str, b: str, by: str, flt) -> None:
    """The items where A's and B's mean normalised scores differ most; a row opens A's judgment."""
    st.subheader("Items where their results differ most")
    items = state.cached(_items, a, b, by, flt)
    if items.height == 0:
        why = " (pairwise verdicts are compared by model, not by judge)" if by == "judge" else ""
        st.caption(md_escape(f"No item has results for both {a} and {b} here{why}."))
        return
    # pairwise: the share of the item's comparisons each side won (a tie as half), not a score
    won = items["basis"].eq("verdicts").all()
    unit, what = (
        ("won", "share of its comparisons on the item it won, a tie as half") if won else ("score", "mean score")
    )
    if won:
        st.caption("Pairwise verdicts: each side's share of the comparisons it won on the item (1 = won every one).")
    table_click(
        items,
        "w_cmp_items",
        lambda r: ("instances", flt, {"instance": r["judgment_a"]}),
        column_config={
            "judgment_a": None,
            "judgment_b": None,
            "item_id": None,
            "score_a": None,
            "score_b": None,
            "basis": None,
            "prompt": st.column_config.TextColumn("Prompt", help="The item's prompt (its first 160 characters)"),
            "raw_a": st.column_config.NumberColumn(f"{a}: {unit}", format="%.2g", help=f"{a}'s {what}"),
            "raw_b": st.column_config.NumberColumn(f"{b}: {unit}", format="%.2g", help=f"{b}'s {what}"),
            "difference": st.column_config.NumberColumn(
                "Difference (0–1)",
                format="%+.2f",
                help=f"{a}'s {what} minus {b}'s"
                + ("" if won else ", each normalised to 0–1 by its scale (so scales can be compared)"),
            ),
        },
    )


def _values(ws, by, flt):
    return ws.values(by, flt)


def _covering(sets, by, flt) -> str:
    """The newest issue set with at least two groups to compare in the selection (else the newest)."""
    for set_id in sets["issue_set_id"].to_list():
        if len(state.cached(_sides, set_id, by, flt)) >= 2:
            return set_id
    return sets["issue_set_id"][0]


def _sides(ws, set_id, by, flt):
    """The groups with responses in the issue set within the selection, most first."""
    prev = ws.issues.get(set_id).prevalence(by, flt)
    if prev.height == 0:
        return []
    sizes = prev.select(by, "n_group").unique().sort(["n_group", by], descending=[True, False])
    return [g for g in sizes[by].to_list() if g is not None]


def _sets(ws):
    return ws.issues.sets()


def _diff(ws, set_id, a, b, by, flt):
    return ws.issues.compare(a, b, by, issue_set=set_id, filter=flt)


def _items(ws, a, b, by, flt):
    return ws.compare_instances(a, b, by, flt)
