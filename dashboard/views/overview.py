"""Overview: the headline (worst issues by model, judges whose bias interval excludes the unbiased value, human
agreement next to its ceiling; each a link to its instances), counts, and score or verdict distributions."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analysis import Workspace
from analysis.reliability.metrics import evidence

from .. import state
from ..state import md_escape
from .common import choose, open_clicked, table_click

MAX_SCALES = 3
VIEWS = {
    "model": "Scores by model",
    "judge": "Scores by judge",
    "criterion": "Scores by criterion",
    "verdicts": "Pairwise verdicts by judge",
}


def render(ws: Workspace) -> None:
    flt = state.selection()
    st.header("Overview")
    st.caption(md_escape(f"Workspace {ws.path} · showing {flt.describe()}"))
    f = state.cached(_counts, flt)
    total = state.cached(_totals)
    cols = st.columns(6)
    cols[0].metric("Judgments", f"{f['judgments']:,}", help=f"{total['judgments']:,} in the workspace")
    cols[1].metric("Items", f"{f['items']:,}", help=f"{total['items']:,} in the workspace")
    cols[2].metric("Models", f"{f['models']:,}")
    cols[3].metric("Judges", f"{f['judges']:,}")
    cols[4].metric("Human/gold labels", f"{f['labels']:,}")
    cols[5].metric("Rejected rows", f"{total['rejects']:,}", help="source rows that could not be ingested")
    if f["judgments"] == 0:
        st.info("No judgments match this selection.")
        return
    headline(ws, flt)
    protocols = state.cached(_protocols, flt)
    default = "verdicts" if protocols.get("pairwise", 0) > protocols.get("pointwise", 0) else "model"
    chosen = choose("Show", VIEWS, default, key="view")
    if chosen == "verdicts":
        fig = state.cached(_verdicts, flt)
        st.plotly_chart(fig, width="stretch", key="verdicts")
        st.caption(
            "Verdicts are stored about the responses; this chart re-reads them by the position each response "
            "was shown in. An unbiased judge shown both orders wins about half with each slot."
        )
        _win_rates(flt)
    else:
        scales = state.cached(_scales, flt)
        if scales.height > 1:
            st.caption(
                md_escape(
                    "Judges here score on different scales: one chart per scale ("
                    + ", ".join(
                        f"{lo:g}–{hi:g}: {n:,} judgments"
                        for lo, hi, n in scales.select("scale_min", "scale_max", "n").iter_rows()
                    )
                    + "). Click a cell to open its judgments."
                )
            )
        else:
            st.caption("Click a cell to open its judgments.")
        for lo, hi in scales.select("scale_min", "scale_max").head(MAX_SCALES).iter_rows():
            if lo is None or hi is None:
                continue
            fig = state.cached(_distribution, chosen, flt, lo, hi)
            event = st.plotly_chart(
                fig, width="stretch", key=f"dist_{chosen}_{lo:g}_{hi:g}", on_select="rerun", selection_mode="points"
            )
            open_clicked(event, lambda cell: _bucket_filter(chosen, cell))
        if scales.height > MAX_SCALES:
            st.caption(f"{scales.height - MAX_SCALES} smaller scale(s) not drawn: narrow the selection to see them.")
        st.dataframe(state.cached(_stats, chosen, flt), hide_index=True, width="stretch", column_config=STATS_COLUMNS)
    if st.toggle("Runs and rejected rows", key="w_overview_runs"):
        st.dataframe(ws.runs(), hide_index=True, width="stretch")
        st.dataframe(ws.reject_reasons(), hide_index=True, width="stretch")


def headline(ws: Workspace, flt) -> None:
    """The few findings that matter, each a link to the instances behind it."""
    st.subheader("What stands out")
    left, mid, right = st.columns(3)
    with left:
        st.markdown("**Issues**")
        worst = state.cached(_worst_issues, flt)
        if not worst["covered"]:
            st.caption("No issue set covers this selection yet (`judgescope issues`).")
        elif not worst["issues"]:
            st.caption("No two models or judges here have 20 responses each in an issue set to set side by side.")
        for r in worst["issues"]:
            whose = f"{r['worst']}'s responses" if r["by"] == "model" else f"responses {r['worst']} judged"
            state.link(
                "instances",
                md_escape(
                    f"{r['title']}: {r['worst_share']:.0%} of {whose} (vs {r['best_share']:.0%} for {r['best']})"
                ),
                state.narrowed(issue_set=r["issue_set"], issue=[r["issue_id"]], **{r["by"]: [r["worst"]]}),
            )
    with mid:
        st.markdown("**Judge bias** (95% interval excludes the unbiased value)")
        flags = state.cached(_bias_flags, flt)
        if not flags:
            st.caption("No judge's bias interval excludes the unbiased value here.")
        for r in flags[:6]:
            ev = evidence(r["metric"], r["judge"])
            target = state.narrowed(**{k: v for k, v in ev.items()})
            state.link(
                "instances",
                md_escape(
                    f"{r['judge']}: {r['label']} {r['value']:.2f} "
                    f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}], unbiased {r['ideal']:g}"
                    + (f" ({r['caveat']})" if r.get("caveat") else "")
                ),
                target,
            )
    with right:
        agree = state.cached(_human_agreement, flt)
        st.markdown(f"**Agreement with {agree['against']}**")
        if not agree["judges"]:
            st.caption("No judge here has human- or gold-labelled pairs.")
        if agree["ceiling"] is not None:
            st.caption(md_escape(f"Humans agree with each other {agree['ceiling']:.2f} of the time (the ceiling)."))
        for r in agree["judges"]:
            state.link(
                "instances",
                md_escape(
                    f"{r['judge']}: {r['value']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}] with the "
                    f"{'human majority' if agree['against'] == 'humans' else 'gold label'}"
                ),
                state.narrowed(judge=[r["judge"]], label="disagree", protocol=["pairwise"]),
            )


# ---- cached computations (each takes the workspace, then plain arguments) ----------------------------
def _counts(ws, flt):
    return ws.filtered_counts(flt)


def _totals(ws):
    return ws.counts()


def _protocols(ws, flt) -> dict[str, int]:
    return ws.protocol_counts(flt)


STATS_COLUMNS = {
    "judgments": st.column_config.NumberColumn("Judgments", help="Pointwise judgments in the group"),
    "scored": st.column_config.NumberColumn("Scored", help="Judgments with a score"),
    "unparsed": st.column_config.NumberColumn(
        "Unparsed", help="The judge replied, but no score could be read from the reply (kept with its raw text)"
    ),
    "missing": st.column_config.NumberColumn("No score", help="The source gave no score for these judgments"),
    "mean_score": st.column_config.NumberColumn("Mean score", format="%.2f"),
    "mean_score_ci_low": st.column_config.NumberColumn("95% low", format="%.2f", help="Mean − 1.96 standard errors"),
    "mean_score_ci_high": st.column_config.NumberColumn("95% high", format="%.2f"),
    "mean_score_norm": st.column_config.NumberColumn("Mean (0–1)", format="%.3f", help="Scores normalised by scale"),
}


WIN_COLUMNS = {
    "model": st.column_config.TextColumn("Model"),
    "win_rate": st.column_config.NumberColumn(
        "Win rate", format="percent", help="Comparisons won, a tie counted as half, of those with a verdict"
    ),
    "ci_low": st.column_config.NumberColumn("95% low", format="percent", help="Wilson interval"),
    "ci_high": st.column_config.NumberColumn("95% high", format="percent"),
    "comparisons": st.column_config.NumberColumn("Comparisons", help="Pairwise judgments with this model on one side"),
    "wins": st.column_config.NumberColumn("Won"),
    "ties": st.column_config.NumberColumn("Tied"),
    "losses": st.column_config.NumberColumn("Lost"),
    "no_verdict": st.column_config.NumberColumn("No verdict"),
    "n_self": None,
}


def _win_rates(flt) -> None:
    """Each model's pairwise win rate over every judge in the selection; a row opens that model's judgments."""
    wins = state.cached(_wins, flt)
    if wins.height == 0:
        return
    st.markdown("**Win rate by model** (every judge in the selection; narrow the sidebar to one judge to compare)")
    table_click(
        wins.select(list(WIN_COLUMNS)),
        "w_winrates",
        lambda r: ("instances", state.narrowed(model=[r["model"]], protocol=["pairwise"]), {}),
        column_config=WIN_COLUMNS,
    )
    selves = int(wins["n_self"].sum())
    note = f" {selves:,} pairs of a model with itself are not counted." if selves else ""
    st.caption(f"Click a row to open that model's pairwise judgments.{note}")


def _wins(ws, flt):
    return ws.scores.win_rates(flt)


def _scales(ws, flt):
    return ws.scores.scales(flt)


def _distribution(ws, by, flt, lo, hi):
    return ws.scores.distribution(by, flt, scale=(lo, hi))


def _stats(ws, by, flt):
    return ws.scores.stats(by, flt)


def _verdicts(ws, flt):
    return ws.scores.verdict_distribution("judge", flt)


def _worst_issues(ws, flt) -> dict:
    """Per issue set that covers the selection: its three most prevalent issues, with the model most and least
    affected (at least 20 responses each); by judge where fewer than two models have that many (LLMBar's outputs
    are unnamed). Of several sets over one selection only the newest is read (a rerun would list its issues twice).
    `covered`: whether any issue set covers the selection at all."""
    out: list[dict] = []
    covered = False
    seen: set[str] = set()
    for set_id, selection in ws.issues.sets().select("issue_set_id", "filter").iter_rows():
        if selection in seen:
            continue
        seen.add(selection)
        iset = ws.issues.get(set_id)
        if iset.n_units(flt) == 0:
            continue
        covered = True
        top = iset.table(flt).head(3)
        for by in ("model", "judge"):
            prev = iset.prevalence(by, flt).filter(pl.col("n_group") >= 20)
            if prev[by].n_unique() >= 2:
                break
        for r in top.iter_rows(named=True):
            p = prev.filter(pl.col("issue_id") == r["issue_id"]).sort("share", descending=True)
            if p.height < 2:
                continue
            out.append(
                {
                    "issue_set": set_id,
                    "issue_id": r["issue_id"],
                    "title": r["title"],
                    "by": by,
                    "worst": p[by][0],
                    "worst_share": p["share"][0],
                    "best": p[by][-1],
                    "best_share": p["share"][-1],
                }
            )
        if len(out) >= 4:
            break
    return {"issues": out[:4], "covered": covered}


def _bias_flags(ws, flt) -> list[dict]:
    return ws.audit.flags(flt).to_dicts()


def _bucket_filter(by: str, cell: list):
    """The judgments behind a score-distribution cell: the group and the bucket's bounds (raw scores on one short
    scale, else normalised scores)."""
    group, lo, hi, raw = cell[0], cell[1], cell[2], cell[3]
    bounds = {"score_min": lo, "score_max": hi} if raw else {"norm_min": lo, "norm_max": hi}
    return state.narrowed(**{by: [group]}, protocol=["pointwise"], **bounds)


def _human_agreement(ws, flt) -> dict:
    """Each judge's agreement with the human majority; where no judge has human-labelled pairs, with the gold
    labels (LLMBar, PandaLM's test set)."""
    audit = ws.audit(flt)
    ceiling = audit.filter(pl.col("metric") == "agreement_human_human")["value"]
    judges, against = audit.clear(), "humans"
    for metric, name in (("agreement_human_majority", "humans"), ("agreement_gold", "gold labels")):
        judges = audit.filter((pl.col("metric") == metric) & pl.col("value").is_not_null())
        if judges.height:
            against = name
            break
    return {
        "judges": judges.sort("value", descending=True).to_dicts(),
        "against": against,
        "ceiling": ceiling[0] if len(ceiling) else None,
    }
