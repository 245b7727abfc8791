"""Issue summaries and the judge audit as Markdown, one self-contained HTML file, CSV or JSON.

User text (titles, critiques, model and judge names) is escaped in every format: Markdown shows it
literally, HTML as text, and CSV cells that a spreadsheet would read as a formula get a leading `'`."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypedDict

import polars as pl

from .formatting import OUTCOME_WITH, interval, lift_notes, num, pct, trim, unexplained_note, with_interval
from .errors import UserError
from .filters import Filter

FORMATS = ("md", "html", "csv", "json")
# the characters that could make text markup; a parenthesis only matters right after "]" (a link), escaped there
_MD = re.compile(r"([\\`*_{}\[\]#+!|<>~])")


class ReportGroup(TypedDict):
    """An issue's prevalence in one group (a model, judge, …)."""

    group: Any
    share: float
    ci: list[float | None]  # Wilson 95% interval
    n: int  # the group's judged responses


class ReportExample(TypedDict):
    judgment_id: str
    model: str | None
    judge: str | None
    score: float | None
    outcome: str  # how the response fared: "score 3", or (pairwise) "preferred", "not preferred", "tie", "no verdict"
    segment: str  # the statement that puts it in the issue, trimmed to 300 characters


class ReportIssue(TypedDict):
    """One issue of the report, with its prevalence per group and its examples."""

    issue_id: str
    title: str
    category: str | None
    description: str | None
    keywords: list[str]
    instances: int  # judgments with it in the selection
    responses: int  # judged responses with it (what `prevalence` counts; two per pairwise judgment)
    items: int
    severity: float | None
    prevalence: float  # share of the selection's judged responses with it
    prevalence_ci: list[float | None]
    lift: float | None  # p_fail / p_pass, with its 95% interval
    lift_ci: list[float | None]
    lift_note: str  # "not clearly tied" / "more in passing" / "mostly from comparisons" ("" when none applies)
    origin: str  # response | stated | cluster | taxonomy | merge | split
    checked: int  # readers' marks: how many examples were checked, how many fit, and the precision with its interval
    fits: int
    precision: float | None
    precision_ci: list[float | None]
    by: str  # what the groups are (model, judge, …)
    groups_total: int
    lowest: ReportGroup | None  # the group with the lowest prevalence, one the issue never reaches included
    prevalence_by: list[ReportGroup]  # the kept groups, highest prevalence first
    examples: list[ReportExample]


class ReportStrength(TypedDict):
    issue_id: str
    title: str
    category: str | None
    instances: int
    prevalence: float
    lift: float | None


class ReportSet(TypedDict):
    id: str
    filter: str | None
    instances: int  # the selection's judgments the set covers
    responses: int  # the responses those judgments judged (the denominator of the issues' prevalence)
    no_issue: Any  # iset.no_issue(flt): judgments with no issue
    explained: dict  # iset.explained(flt): failing responses with and without a named issue, critical statements
    coverage: float | None
    issues_total: int


class ReportContent(TypedDict):
    """Everything a report says, in every format (render() draws it as Markdown, HTML, CSV or JSON)."""

    workspace: str  # the file's name, not where it lives
    generated: str  # UTC, ISO 8601
    filter: str  # the selection as a link query string
    selection: str  # the selection in words
    issues: list[ReportIssue]
    strengths: list[ReportStrength]
    issue_set: ReportSet | None
    left_out: list[str]  # what the report did not keep ("and N more")
    audit: list[dict[str, Any]]  # the computed audit rows (reliability.common.AuditRow)
    summary: list[str]  # the findings that stand out, in words


def md(text: Any) -> str:
    """Text shown literally in GitHub Markdown (also inside table cells)."""
    return _MD.sub(r"\\\1", str(text if text is not None else "")).replace("](", "]\\(").replace("\n", " ")


def collect(
    q,
    workspace: Path,
    issue_set_id: str | None = None,
    filter: Filter | None = None,
    examples: int = 3,
    top: int | None = 15,
    groups: int | None = 12,
    by: str = "model",
) -> ReportContent:
    """The report's content within `filter`: issues (with prevalence per `by`, lift and examples), strengths and the
    audit. `top` issues and `groups` groups per issue (None: all); `left_out` says what was not kept."""
    from .issues.api import Issues
    from .reliability.api import Audit

    flt = filter or Filter()
    for name, value in (("top", top), ("groups", groups)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise UserError(f"report: {name} must be a whole number of 1 or more, or None for all")
    issues = Issues(q, workspace)
    out: ReportContent = {
        "workspace": Path(str(workspace)).name,  # the file, not where it lives on this machine
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "filter": flt.to_query(),
        "selection": flt.describe(),
        "issues": [],
        "strengths": [],
        "issue_set": None,
        "left_out": [],
        "audit": [],
        "summary": [],
    }
    if issues.sets().height:
        _add_issue_set(out, issues.get(issue_set_id or flt.issue_set), flt, examples, top, groups, by)
    audit = Audit(q, workspace)(flt)
    out["audit"] = audit.filter(pl.col("value").is_not_null()).to_dicts()
    out["summary"] = findings(out)
    return out


def _add_issue_set(
    out: ReportContent, iset: Any, flt: Filter, examples: int, top: int | None, groups: int | None, by: str
) -> None:
    """Put the issue set's part in `out`: its summary, its `top` issues (each with `groups` groups) and its
    strengths, adding to `left_out` the issues and groups that were cut."""
    table = iset.table(flt).filter(pl.col("n_units") > 0)
    out["issue_set"] = {
        "id": iset.id,
        "filter": iset.filter,
        "instances": iset.n_instances(flt),
        "responses": iset.n_units(flt),
        "no_issue": iset.no_issue(flt),
        "explained": iset.explained(flt),
        "coverage": iset.stats.get("coverage"),
        "issues_total": table.height,
    }
    shown = table if top is None else table.head(top)
    if shown.height < table.height:
        out["left_out"].append(
            f"{table.height - shown.height} of {table.height} issues with the fewest "
            f"instances (keep every issue: top=None in a notebook, --top 0 or --all on the command line)"
        )
    prev = iset.prevalence(by, flt)
    # every group's size, so a group an issue never reaches counts with 0% (prevalence lists only those it does)
    sizes = iset.group_sizes(by, flt)
    cut_groups = 0
    for r in shown.iter_rows(named=True):
        p = prev.filter(pl.col("issue_id") == r["issue_id"]).sort("share", by, descending=[True, False])
        kept = p if groups is None else p.head(groups)
        cut_groups = max(cut_groups, p.height - kept.height)
        ex = iset.examples(r["issue_id"], examples, flt)
        out["issues"].append(_issue_entry(r, p, kept, ex, by, sizes))
    if cut_groups:
        out["left_out"].append(
            f"up to {cut_groups} {by} group(s) per issue with the lowest prevalence "
            f"(keep every group: groups=None in a notebook, --all on the command line)"
        )
    out["strengths"] = [
        {
            "issue_id": r["issue_id"],
            "title": r["title"],
            "category": r["category_title"],
            "instances": r["n_instances"],
            "prevalence": r["prevalence"],
            "lift": r["lift"],
        }
        for r in iset.strengths(flt).filter(pl.col("n_units") > 0).iter_rows(named=True)
    ]


def _issue_entry(r: dict, p: pl.DataFrame, kept: pl.DataFrame, ex: pl.DataFrame, by: str, sizes: dict) -> ReportIssue:
    """One issue of the report: its row of the issue table `r`, its prevalence per group (`p`, of which `kept` are
    listed, and the lowest) and its examples `ex`."""
    return {
        "issue_id": r["issue_id"],
        "title": r["title"],
        "category": r["category_title"],
        "description": r["description"],
        "keywords": r["keywords"],
        "instances": r["n_instances"],
        "responses": r["n_units"],
        "items": r["n_items"],
        "severity": r["severity"],
        "prevalence": r["prevalence"],
        "prevalence_ci": [r["prevalence_ci_low"], r["prevalence_ci_high"]],
        "lift": r["lift"],
        "lift_ci": [r["lift_ci_low"], r["lift_ci_high"]],
        "lift_note": lift_notes(r["lift_ci_low"], r["lift_ci_high"], r["n_compared"], r["n_units"]),
        "origin": r["origin"],
        "checked": r["n_checked"],
        "fits": r["n_fits"],
        "precision": r["precision"],
        "precision_ci": [r["precision_ci_low"], r["precision_ci_high"]],
        "by": by,
        "groups_total": p.height,
        "lowest": _lowest(p, by, sizes),
        "prevalence_by": [
            {"group": g, "share": s, "ci": [lo, hi], "n": n}
            for g, s, lo, hi, n in kept.select(by, "share", "ci_low", "ci_high", "n_group").iter_rows()
        ],
        "examples": [
            {
                "judgment_id": e["judgment_id"],
                "model": e["model"],
                "judge": e["judge"],
                "score": e["score"],
                "outcome": e["outcome"],
                "segment": trim(e["segment"], 300),
            }
            for e in ex.iter_rows(named=True)
        ],
    }


def _lowest(p: pl.DataFrame, by: str, sizes: dict) -> ReportGroup | None:
    """The group with the lowest prevalence of an issue, a group it never reaches included (0%, Wilson interval)."""
    from .reliability.common import wilson

    seen = set(p[by].to_list())
    absent = sorted((g for g in sizes if g not in seen and g is not None), key=lambda g: -sizes[g])
    if absent:
        g = absent[0]
        lo, hi = wilson(0, sizes[g])
        return {"group": g, "share": 0.0, "ci": [lo, hi], "n": sizes[g]}
    if p.height == 0:
        return None
    g, share, lo, hi, n = (
        p.sort("share", "n_group", descending=[False, True]).select(by, "share", "ci_low", "ci_high", "n_group").row(0)
    )
    return {"group": g, "share": share, "ci": [lo, hi], "n": n}


def findings(d: ReportContent, n: int = 6, esc=str) -> list[str]:
    """The few findings that stand out, in words a researcher would paste: the most common issues with their
    intervals, an issue whose prevalence differs between two groups beyond their intervals, and the audit values
    whose interval excludes what an unbiased or perfect judge would show (largest departure first). `esc` is
    applied to the names that come from the data (titles, models, judges), so only those are escaped."""
    from .reliability.metrics import metric

    out: list[str] = []
    # there are issues only when there is a set; prevalence is a share of judged responses (two per pairwise judgment)
    units = d["issue_set"]["responses"] if d["issue_set"] else 0
    for x in d["issues"][:2]:
        lo, hi = x["prevalence_ci"]
        out.append(
            f"“{esc(x['title'])}” is in {pct(x['prevalence'])} [{pct(lo)}, {pct(hi)}] of the {units:,} judged "
            f"responses ({x['responses']:,}, in {x['instances']:,} judgments)."
        )
    gaps = []
    for x in d["issues"][:8]:
        by = [p for p in [*x["prevalence_by"], x.get("lowest")] if p and p["n"] >= 30 and p["ci"][0] is not None]
        if len(by) >= 2:
            top, low = max(by, key=lambda p: p["share"]), min(by, key=lambda p: p["share"])
            top_low, low_high = top["ci"][0], low["ci"][1]
            if top["group"] != low["group"] and top_low is not None and low_high is not None and top_low > low_high:
                gaps.append((top["share"] - low["share"], x, top, low))
    for _, x, top, low in sorted(gaps, key=lambda g: -g[0])[:2]:
        out.append(
            f"{esc(top['group'])} has “{esc(x['title'])}” in {pct(top['share'])} [{pct(top['ci'][0])}, {pct(top['ci'][1])}] "
            f"of its judged responses, {esc(low['group'])} in {pct(low['share'])} [{pct(low['ci'][0])}, {pct(low['ci'][1])}]."
        )
    departures = []
    for r in d["audit"]:
        m = metric(r["metric"])
        if m is None or m.ideal is None or r.get("ci_low") is None or r.get("ci_high") is None:
            continue
        if not (r["ci_low"] <= m.ideal <= r["ci_high"]) and (r["n"] or 0) >= 30:
            departures.append((abs(r["value"] - m.ideal), r, m))
    # largest departure first, but each judge's largest bias (position, length, …) before a second departure from the
    # labels of the same judge: a judge that misses the gold label often also misses it when the better answer is
    # shorter, and those would crowd out that it favours the first-shown answer
    ranked = sorted(departures, key=lambda t: -t[0])
    firsts: dict[tuple[str, bool], tuple] = {}
    for t in ranked:
        firsts.setdefault((t[1]["judge"], t[2].bias), t)
    chosen = sorted(ranked, key=lambda t: firsts[(t[1]["judge"], t[2].bias)] is not t)  # stable: ranks kept within each
    for _, r, m in chosen[: max(0, n - len(out))]:
        out.append(
            f"{esc(r['judge'])}: {m.label} {r['value']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}] over {r['n']:,} "
            f"({'an unbiased' if m.bias else 'a perfect'} judge: {m.ideal:g})."
        )
    return out[:n]


def render(q, fmt: str, issue_set_id: str | None = None, filter: Filter | None = None, *, workspace: Path, **kw) -> str:
    """The report as md, html (one offline file), csv or json; kw: by, top, groups, examples (see collect)."""
    if fmt not in FORMATS:
        raise UserError(f"report format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    data = collect(q, workspace, issue_set_id, filter, **kw)
    if fmt == "json":
        return json.dumps(data, indent=2, default=str)
    if fmt == "csv":
        return _csv(data)
    if fmt == "md":
        return _markdown(data)
    return _html(q, workspace, data, filter)


def _markdown(d: ReportContent) -> str:
    lines = [
        "# judgescope report",
        "",
        f"Workspace `{d['workspace'].replace('`', '')}`, generated {d['generated']}.  ",
        f"Selection: {md(d['selection'])}.",
        "",
    ]
    if d["summary"]:
        lines += ["## Summary", ""] + [f"- {f}" for f in findings(d, esc=md)] + [""]
    if d["left_out"]:
        lines += ["Left out: " + md("; ".join(d["left_out"])) + ".", ""]
    if d["issue_set"]:
        s = d["issue_set"]
        lines += [
            f"## Issues (set {s['id']}, {s['instances']:,} instances, {s['no_issue']:,} with no issue; "
            f"{len(d['issues'])} of {s['issues_total']} issues shown)",
            "",
            md(unexplained_note(s["explained"], None)) + "; `judgescope issues --unexplained` lists what their "
            "critiques say.",
            "",
        ]
        for x in d["issues"]:
            lines.append(f"### {x['issue_id']}. {md(x['title'])}")
            lines.append("")
            if x["category"]:
                lines.append(f"Category: {md(x['category'])}  ")
            if x["description"]:
                lines += [md(x["description"]), ""]
            lines.append(f"Keywords: {md(', '.join(x['keywords'] or []))}  ")
            lines.append(
                f"Instances: {x['instances']:,} across {x['items']:,} items · prevalence {pct(x['prevalence'])} "
                f"[{pct(x['prevalence_ci'][0])}, {pct(x['prevalence_ci'][1])}] · lift {with_interval(x['lift'], *(x.get('lift_ci') or (None, None)))}"
                f"{' (' + x['lift_note'] + ')' if x.get('lift_note') else ''} · {OUTCOME_WITH} {num(x['severity'])}"
            )
            if x.get("checked"):
                lines[-1] += "  "
                lines.append(
                    f"Checked by readers: {x['fits']} of {x['checked']} examples fit (precision "
                    f"{pct(x['precision'])} [{pct(x['precision_ci'][0])}, {pct(x['precision_ci'][1])}])"
                )
            shown = len(x["prevalence_by"])
            lines += ["", f"| {md(x['by'])} | prevalence | 95% CI | n |", "|---|---:|---|---:|"]
            for p in x["prevalence_by"]:
                lines.append(
                    f"| {md(p['group'])} | {pct(p['share'])} | [{pct(p['ci'][0])}, {pct(p['ci'][1])}] | {p['n']:,} |"
                )
            if shown < x["groups_total"]:
                lines += ["", f"({shown} of {x['groups_total']} groups shown)"]
            lines += ["", "Examples:", ""]
            for e in x["examples"]:
                lines.append(f"- {md(e['model'] or '')} ({md(e['judge'])}, {md(e['outcome'])}): {md(e['segment'])}")
            lines.append("")
        if d["strengths"]:
            lines += [
                "## Strengths (what the judges praise in passing responses)",
                "",
                "| strength | category | instances | prevalence | lift |",
                "|---|---|---:|---:|---:|",
            ]
            for st in d["strengths"]:
                lines.append(
                    f"| {md(st['title'])} | {md(st['category'] or '')} | {st['instances']:,} | "
                    f"{pct(st['prevalence'])} | {num(st['lift'])} |"
                )
            lines.append("")
    else:
        lines += ["No issue set in this workspace yet (`judgescope issues`).", ""]
    lines += ["## Judge audit", "", *audit_table_md(d["audit"])]
    return "\n".join(lines) + "\n"


def audit_table_md(rows: list[dict]) -> list[str]:
    """The audit's computed metrics as a Markdown table (the report's section and `judgescope audit --markdown`)."""
    lines = ["| judge | metric | value | 95% CI | n |", "|---|---|---:|---|---:|"]
    for r in rows:
        lines.append(
            f"| {md(r['judge'])} | {r['metric']} | {r['value']:.3f} | {interval(r['ci_low'], r['ci_high'])} | {r['n'] or 0:,} |"
        )
    return lines


def _csv(d: ReportContent) -> str:
    from .export import safe_row

    rows: list[list[Any]] = [
        ["section", "issue_id", "title", "group", "metric", "value", "ci_low", "ci_high", "n", "keywords"]
    ]
    for x in d["issues"]:
        rows.append(
            [
                "issue",
                x["issue_id"],
                x["title"],
                x["category"] or "",
                "prevalence",
                x["prevalence"],
                *x["prevalence_ci"],
                x["instances"],
                "; ".join(x["keywords"] or []),
            ]
        )
        rows.append(
            [
                "issue",
                x["issue_id"],
                x["title"],
                x["category"] or "",
                "lift",
                x["lift"],
                *x["lift_ci"],
                x["instances"],
                "",
            ]
        )
        for p in x["prevalence_by"]:
            rows.append(
                [
                    "issue_prevalence",
                    x["issue_id"],
                    x["title"],
                    p["group"],
                    "prevalence",
                    p["share"],
                    *p["ci"],
                    p["n"],
                    "",
                ]
            )
    for st in d["strengths"]:
        rows.append(
            [
                "strength",
                st["issue_id"],
                st["title"],
                st["category"] or "",
                "prevalence",
                st["prevalence"],
                "",
                "",
                st["instances"],
                "",
            ]
        )
    for r in d["audit"]:
        rows.append(["audit", "", "", r["judge"], r["metric"], r["value"], r["ci_low"], r["ci_high"], r["n"], ""])
    for note in d["left_out"]:
        rows.append(["left_out", "", note, "", "", "", "", "", "", ""])
    buf = io.StringIO()
    # every text cell through safe_row: a cell from data is never read as a spreadsheet formula
    csv.writer(buf).writerows(safe_row(row) for row in rows)
    return buf.getvalue()


def _html_charts(q, workspace: Path, d: ReportContent, filter) -> list[str]:
    """The report's two charts as HTML fragments (plotly.js inlined once): the issues' prevalence and the bias
    heatmap."""
    import plotly.io as pio

    from .issues.api import Issues
    from .reliability.api import Audit

    figs = []
    flt = filter or Filter()
    if d["issue_set"]:
        figs.append(
            Issues(q, workspace)
            .get(d["issue_set"]["id"])
            .prevalence_chart(d["issues"][0]["by"] if d["issues"] else "model", top=len(d["issues"]) or 15, filter=flt)
        )
    audit = Audit(q, workspace)
    figs.append(audit.bias_heatmap(audit=pl.DataFrame(d["audit"]) if d["audit"] else audit(flt)))
    return [pio.to_html(f, include_plotlyjs=(i == 0), full_html=False) for i, f in enumerate(figs)]


def _html(q, workspace: Path, d: ReportContent, filter) -> str:
    e = html.escape
    charts = _html_charts(q, workspace, d, filter)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>judgescope report</title>"
        "<style>body{font-family:Inter,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;"
        "color:#222}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;"
        "font-size:13px}th{background:#f4f4f4}.ex{color:#444;font-size:13px}.kw{color:#666}</style></head><body>",
        f"<h1>judgescope report</h1><p>Workspace <code>{e(d['workspace'])}</code>, generated {e(d['generated'])}."
        f"<br>Selection: {e(d['selection'])}.</p>",
    ]
    if d["summary"]:
        parts.append("<h2>Summary</h2><ul>" + "".join(f"<li>{e(f)}</li>" for f in d["summary"]) + "</ul>")
    if d["left_out"]:
        parts.append(f"<p><b>Left out:</b> {e('; '.join(d['left_out']))}.</p>")
    if d["issue_set"]:
        s = d["issue_set"]
        parts.append(
            f"<h2>Issues</h2><p>Set {e(s['id'])}: {s['instances']:,} instances, {s['no_issue']:,} with no issue. "
            f"{e(unexplained_note(s['explained'], 'judgescope issues --unexplained'))}.</p>"
        )
        parts.append(charts[0])
        for x in d["issues"]:
            parts.append(f"<h3>{e(x['issue_id'])}. {e(x['title'])}</h3>")
            if x["description"]:
                parts.append(f"<p>{e(x['description'])}</p>")
            parts.append(
                f"<p class='kw'>{e(x['category'] or '')} · Keywords: {e(', '.join(x['keywords'] or []))} · "
                f"{x['instances']:,} instances across {x['items']:,} items · prevalence "
                f"{pct(x['prevalence'])} · lift {e(with_interval(x['lift'], *(x.get('lift_ci') or (None, None))))}"
                f"{e(' (' + x['lift_note'] + ')') if x.get('lift_note') else ''} · {OUTCOME_WITH} {num(x['severity'])}</p>"
            )
            parts.append(
                f"<table><tr><th>{e(x['by'])}</th><th>prevalence</th><th>95% CI</th><th>n</th></tr>"
                + "".join(
                    f"<tr><td>{e(str(p['group']))}</td><td>{pct(p['share'])}</td><td>[{pct(p['ci'][0])}, {pct(p['ci'][1])}]"
                    f"</td><td>{p['n']:,}</td></tr>"
                    for p in x["prevalence_by"]
                )
                + "</table>"
                + (
                    f"<p class='kw'>{len(x['prevalence_by'])} of {x['groups_total']} groups shown</p>"
                    if len(x["prevalence_by"]) < x["groups_total"]
                    else ""
                )
            )
            parts.append(
                "<ul class='ex'>"
                + "".join(
                    f"<li>{e(ex['model'] or '')} ({e(str(ex['judge']))}, {e(str(ex['outcome']))}): {e(ex['segment'])}</li>"
                    for ex in x["examples"]
                )
                + "</ul>"
            )
    parts.append("<h2>Judge audit</h2>")
    parts.append(charts[-1])
    parts.append(
        "<table><tr><th>judge</th><th>metric</th><th>value</th><th>95% CI</th><th>n</th></tr>"
        + "".join(
            f"<tr><td>{e(str(r['judge']))}</td><td>{e(r['metric'])}</td><td>{r['value']:.3f}</td><td>"
            f"{interval(r['ci_low'], r['ci_high'])}</td><td>{r['n'] or 0:,}</td></tr>"
            for r in d["audit"]
        )
        + "</table></body></html>"
    )
    return "\n".join(parts)
