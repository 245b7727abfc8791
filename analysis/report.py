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
from typing import Any

import polars as pl

from .errors import UserError
from .filters import Filter

FORMATS = ("md", "html", "csv", "json")
_MD = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


def md(text: Any) -> str:
    """Text shown literally in GitHub Markdown (also inside table cells)."""
    return _MD.sub(r"\\\1", str(text if text is not None else "")).replace("\n", " ")


def trim(text: str | None, n: int = 240) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def collect(ws, issue_set_id: str | None = None, filter: Filter | None = None, examples: int = 3,
            top: int = 15, by: str = "model") -> dict:
    """The report's content: issues (with prevalence per `by` and examples) and the audit of `filter`."""
    out: dict[str, Any] = {"workspace": str(ws.path), "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "filter": (filter or Filter()).to_query(), "issues": [], "issue_set": None}
    sets = ws.issue_sets()
    if sets.height:
        iset = ws.issue_set(issue_set_id)
        out["issue_set"] = {"id": iset.id, "filter": iset.filter, "instances": iset.n_instances(),
                            "no_issue": iset.no_issue(), "coverage": iset.stats.get("coverage")}
        prev = iset.prevalence(by)
        for r in iset.table().head(top).iter_rows(named=True):
            p = prev.filter(pl.col("issue_id") == r["issue_id"]).sort("share", descending=True)
            ex = iset.examples(r["issue_id"], examples)
            out["issues"].append({
                "issue_id": r["issue_id"], "title": r["title"], "description": r["description"],
                "keywords": r["keywords"], "instances": r["n_instances"], "items": r["n_items"],
                "severity": r["severity"], "prevalence": r["prevalence"],
                "prevalence_ci": [r["prevalence_ci_low"], r["prevalence_ci_high"]],
                "by": by,
                "prevalence_by": [{"group": g, "share": s, "ci": [lo, hi], "n": n}
                                  for g, s, lo, hi, n in p.select(by, "share", "ci_low", "ci_high", "n_group").iter_rows()],
                "examples": [{"judgment_id": e["judgment_id"], "model": e["model"], "judge": e["judge"],
                              "score": e["score"], "segment": trim(e["segment"], 300)} for e in ex.iter_rows(named=True)],
            })
    audit = ws.audit(filter)
    out["audit"] = audit.filter(pl.col("value").is_not_null()).to_dicts()
    return out


def render(ws, fmt: str, issue_set_id: str | None = None, filter: Filter | None = None, **kw) -> str | bytes:
    if fmt not in FORMATS:
        raise UserError(f"report format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    data = collect(ws, issue_set_id, filter, **kw)
    if fmt == "json":
        return json.dumps(data, indent=2, default=str)
    if fmt == "csv":
        return _csv(data)
    if fmt == "md":
        return _markdown(data)
    return _html(ws, data, issue_set_id, filter)


def _num(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def _ci(r: dict) -> str:
    return "" if r["ci_low"] is None else f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]"


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _markdown(d: dict) -> str:
    lines = ["# judgescope report", "", f"Workspace `{md(d['workspace'])}`, generated {d['generated']}.", ""]
    if d["issue_set"]:
        s = d["issue_set"]
        lines += [f"## Issues (set {s['id']}, {s['instances']:,} instances, {s['no_issue']:,} with no issue)", ""]
        for x in d["issues"]:
            lines.append(f"### {x['issue_id']}. {md(x['title'])}")
            lines.append("")
            if x["description"]:
                lines += [md(x["description"]), ""]
            lines.append(f"Keywords: {md(', '.join(x['keywords'] or []))}  ")
            lines.append(f"Instances: {x['instances']:,} across {x['items']:,} items · prevalence {_pct(x['prevalence'])} "
                         f"[{_pct(x['prevalence_ci'][0])}, {_pct(x['prevalence_ci'][1])}] · severity {_num(x['severity'])}")
            lines += ["", f"| {x['by']} | prevalence | 95% CI | n |", "|---|---:|---|---:|"]
            for p in x["prevalence_by"][:12]:
                lines.append(f"| {md(p['group'])} | {_pct(p['share'])} | [{_pct(p['ci'][0])}, {_pct(p['ci'][1])}] | {p['n']:,} |")
            lines += ["", "Examples:", ""]
            for e in x["examples"]:
                lines.append(f"- {md(e['model'] or '')} ({md(e['judge'])}, score {e['score']}): {md(e['segment'])}")
            lines.append("")
    else:
        lines += ["No issue set in this workspace yet (`judgescope issues`).", ""]
    lines += ["## Judge audit", "", "| judge | metric | value | 95% CI | n |", "|---|---|---:|---|---:|"]
    for r in d["audit"]:
        lines.append(f"| {md(r['judge'])} | {r['metric']} | {r['value']:.3f} | {_ci(r)} | {r['n'] or 0:,} |")
    return "\n".join(lines) + "\n"


def _csv(d: dict) -> str:
    from .export import safe_row

    rows = [["section", "issue_id", "title", "group", "metric", "value", "ci_low", "ci_high", "n", "keywords"]]
    for x in d["issues"]:
        rows.append(["issue", x["issue_id"], x["title"], "", "prevalence", x["prevalence"], *x["prevalence_ci"],
                     x["instances"], "; ".join(x["keywords"] or [])])
        for p in x["prevalence_by"]:
            rows.append(["issue_prevalence", x["issue_id"], x["title"], p["group"], "prevalence", p["share"], *p["ci"],
                         p["n"], ""])
    for r in d["audit"]:
        rows.append(["audit", "", "", r["judge"], r["metric"], r["value"], r["ci_low"], r["ci_high"], r["n"], ""])
    buf = io.StringIO()
    # every text cell through safe_row: a cell from data is never read as a spreadsheet formula
    csv.writer(buf).writerows(safe_row(row) for row in rows)
    return buf.getvalue()


def _html(ws, d: dict, issue_set_id, filter) -> str:
    import plotly.io as pio

    e = html.escape
    figs = []
    if d["issue_set"]:
        figs.append(ws.issue_set(issue_set_id).prevalence_chart(d["issues"][0]["by"] if d["issues"] else "model"))
    figs.append(ws.bias_heatmap(audit=ws.audit(filter)))
    charts = [pio.to_html(f, include_plotlyjs=(i == 0), full_html=False) for i, f in enumerate(figs)]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>judgescope report</title>"
             "<style>body{font-family:Inter,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;"
             "color:#222}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;"
             "font-size:13px}th{background:#f4f4f4}.ex{color:#444;font-size:13px}.kw{color:#666}</style></head><body>",
             f"<h1>judgescope report</h1><p>Workspace <code>{e(d['workspace'])}</code>, generated {e(d['generated'])}.</p>"]
    if d["issue_set"]:
        s = d["issue_set"]
        parts.append(f"<h2>Issues</h2><p>Set {e(s['id'])}: {s['instances']:,} instances, {s['no_issue']:,} with no issue.</p>")
        parts.append(charts[0])
        for x in d["issues"]:
            parts.append(f"<h3>{e(x['issue_id'])}. {e(x['title'])}</h3>")
            if x["description"]:
                parts.append(f"<p>{e(x['description'])}</p>")
            parts.append(f"<p class='kw'>Keywords: {e(', '.join(x['keywords'] or []))} · {x['instances']:,} instances "
                         f"across {x['items']:,} items · prevalence {_pct(x['prevalence'])} · severity "
                         f"{_num(x['severity'])}</p>")
            parts.append(f"<table><tr><th>{e(x['by'])}</th><th>prevalence</th><th>95% CI</th><th>n</th></tr>" + "".join(
                f"<tr><td>{e(str(p['group']))}</td><td>{_pct(p['share'])}</td><td>[{_pct(p['ci'][0])}, {_pct(p['ci'][1])}]"
                f"</td><td>{p['n']:,}</td></tr>" for p in x["prevalence_by"][:12]) + "</table>")
            parts.append("<ul class='ex'>" + "".join(
                f"<li>{e(ex['model'] or '')} ({e(str(ex['judge']))}, score {e(str(ex['score']))}): {e(ex['segment'])}</li>"
                for ex in x["examples"]) + "</ul>")
    parts.append("<h2>Judge audit</h2>")
    parts.append(charts[-1])
    parts.append("<table><tr><th>judge</th><th>metric</th><th>value</th><th>95% CI</th><th>n</th></tr>" + "".join(
        f"<tr><td>{e(str(r['judge']))}</td><td>{e(r['metric'])}</td><td>{r['value']:.3f}</td><td>"
        f"{_ci(r)}</td><td>{r['n'] or 0:,}</td></tr>"
        for r in d["audit"]) + "</table></body></html>")
    return "\n".join(parts)
