"""A static, offline copy of a view for someone without the workspace: plain HTML files in one folder.

    index.html            the selection, the issue tree (categories, issues, prevalence, lift), strengths
    issue-<id>.html       one issue: what it is, prevalence per group, its examples and instances (linked)
    audit.html            the judge audit: bias heatmap, the flagged biases, every metric with its interval
    instances.html        every instance the bundle holds
    instances/<id>.html   one judgment as the judge saw it (slots in order, the critique's names, the swapped
                          verdict, labels with whether the judge agrees, the critique's issues)
    assets/               style.css and plotly.min.js (the charts need no network)
    manifest.json         what is in the bundle and what was left out

Every string from data is escaped with html.escape (figures go through plots.inert, as in the app), and each
page carries a Content-Security-Policy that allows nothing from outside the folder: even a mistake in escaping
could not make a browser fetch a URL. Open index.html from the folder, or serve it from any static host.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from .formatting import OUTCOME_WITH, interval, num, pct, trim, with_interval
from .errors import UserError
from .browse import judgment_ids, selection_counts
from .filters import Filter
from .instances import instance
from .issues.api import Issues
from .query import Query
from .reliability.api import Audit

CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:"
)
STYLE = """body{font-family:Inter,Segoe UI,Helvetica,Arial,sans-serif;max-width:1150px;margin:1.5em auto;padding:0 1em;
color:#222;line-height:1.45}a{color:#2a5db0}table{border-collapse:collapse;margin:.6em 0;width:100%}
td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px;vertical-align:top;text-align:left}th{background:#f4f4f4}
td.n{text-align:right;white-space:nowrap}tr.cat td{background:#f7f7fb;font-weight:600}.muted{color:#666;font-size:13px}
.crumbs{font-size:13px;margin-bottom:1em}.slots{display:flex;gap:1em}.slot{flex:1;border:1px solid #ddd;border-radius:6px;
padding:.6em;min-width:0}.slot.won{border-color:#2e7d32;box-shadow:0 0 0 2px #c8e6c9}pre{white-space:pre-wrap;
word-wrap:break-word;background:#fafafa;border:1px solid #eee;padding:.6em;border-radius:4px;font-size:13px;max-height:30em;
overflow:auto}.ok{color:#2e7d32}.bad{color:#c62828}.chip{display:inline-block;background:#eef;border-radius:10px;
padding:0 8px;margin:0 4px 4px 0;font-size:12px}"""
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def write_bundle(
    q: Query,
    workspace: Path,
    out: Path,
    flt: Filter,
    issue_set: str | None = None,
    by: str = "model",
    examples: int = 20,
) -> Path:
    """Write the bundle of `flt` (and its issue set) from the workspace at `workspace`, read through `q`, into the
    directory `out` (created; refused when it exists and is not empty). Returns `out`."""
    if not isinstance(examples, int) or not 1 <= examples <= 500:
        raise UserError("bundle: examples must be a whole number from 1 to 500")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"bundle: {out} exists and is not an empty directory; choose a new folder")
    q.group(by)  # checked before anything is written
    out.parent.mkdir(parents=True, exist_ok=True)
    # a folder of our own beside `out` (never one that was there before: nothing not created here is deleted)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would make the shared site unreadable to others
    (tmp / "instances").mkdir(parents=True)
    (tmp / "assets").mkdir()
    try:
        _write(q, Path(workspace), tmp, flt, issue_set, by, examples)
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write(q: Query, workspace: Path, root: Path, flt: Filter, issue_set: str | None, by: str, examples: int) -> None:
    from plotly.offline import get_plotlyjs

    (root / "assets" / "style.css").write_text(STYLE, encoding="utf-8")
    (root / "assets" / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    counts = selection_counts(q, flt)
    manifest: dict[str, Any] = {
        "generated": generated,
        "workspace": workspace.name,
        "selection": flt.describe(),
        "filter": flt.to_query(),
        "counts": counts,
        "issue_set": None,
        "issues": 0,
        "instances": 0,
        "left_out": [],
    }
    instance_ids: dict[str, str] = {}  # judgment id -> why it is in the bundle
    iset = None
    issues = Issues(q, workspace)
    if issues.sets().height:
        iset = issues.get(issue_set or flt.issue_set)
        manifest["issue_set"] = iset.id
    head = _Page(generated, flt.describe(), workspace.name)
    _index_page(workspace.name, root, head, flt, iset, counts, generated, by, examples, instance_ids, manifest)
    _audit_page(Audit(q, workspace), root, head, flt)
    _instance_pages(q, root, head, flt, iset, instance_ids, counts, examples, manifest)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")


def _index_page(
    name: str,
    root: Path,
    head,
    flt: Filter,
    iset,
    counts: dict,
    generated: str,
    by: str,
    examples: int,
    instance_ids: dict[str, str],
    manifest: dict,
) -> None:
    """index.html: the selection, the issue tree and strengths; a page per issue with its examples (whose
    judgments are noted in `instance_ids` for their own pages)."""
    body = [
        f"<h1>judgescope: {_e(name)}</h1>",
        f"<p class='muted'>Selection: {_e(flt.describe())} · {counts['judgments']:,} judgments, "
        f"{counts['items']:,} items, {counts['models']:,} models, {counts['judges']:,} judges · generated "
        f"{_e(generated)}</p>",
        "<p><a href='audit.html'>Judge audit</a> · <a href='instances.html'>Instances in this bundle</a></p>",
    ]
    if iset is None:
        body.append("<p>No issue set in this workspace (run <code>judgescope issues</code>).</p>")
    else:
        table = iset.table(flt).filter(pl.col("n_units") > 0)
        prev = iset.prevalence(by, flt)
        body.append(
            f"<h2>Issues</h2><p class='muted'>Issue set {_e(iset.id)}: critique sentences grouped into "
            f"issues (failing responses) and strengths (passing ones). Prevalence: share of judged "
            f"responses with it; lift: how much more often failing responses have it than passing ones.</p>"
        )
        body.append(_issue_tree(table))
        for r in table.iter_rows(named=True):
            ex = iset.examples(r["issue_id"], examples, flt)
            for jid in ex["judgment_id"].to_list():
                instance_ids.setdefault(jid, f"example of issue {r['issue_id']}")
            p = prev.filter(pl.col("issue_id") == r["issue_id"]).sort("share", by, descending=[True, False])
            _save(
                root / f"issue-{_safe(r['issue_id'])}.html",
                head.render(f"{r['issue_id']}. {r['title']}", _issue_page(r, p, ex, by), depth=0),
            )
        strengths = iset.strengths(flt).filter(pl.col("n_units") > 0)
        if strengths.height:
            body.append("<h2>Strengths</h2>")
            body.append(_issue_tree(strengths, link=False))
        manifest["issues"] = table.height
    _save(root / "index.html", head.render("judgescope bundle", "\n".join(body), depth=0))


def _audit_page(auditor: Audit, root: Path, head, flt: Filter) -> None:
    """audit.html: the bias flags, the heatmap and every computed metric of the selection."""
    audit = auditor(flt)
    flags = auditor.flags(audit=audit)
    fig = auditor.bias_heatmap(audit=audit)
    parts = ["<h1>Judge audit</h1>", f"<p class='muted'>Selection: {_e(flt.describe())}</p>"]
    if flags.height:
        parts.append(
            "<h2>Biases whose 95% interval excludes the unbiased value</h2><table><tr><th>judge</th>"
            "<th>metric</th><th>what it measures</th><th>value</th><th>95% CI</th><th>unbiased</th>"
            "<th>n</th></tr>"
            + "".join(
                f"<tr><td>{_e(f['judge'])}</td><td>{_e(f['metric'])}</td><td>{_e(f['label'])}"
                f"{'<br><span class=muted>' + _e(f['caveat']) + '</span>' if f['caveat'] else ''}</td>"
                f"<td class='n'>{f['value']:.3f}</td><td class='n'>[{f['ci_low']:.3f}, {f['ci_high']:.3f}]"
                f"</td><td class='n'>{f['ideal']:g}</td><td class='n'>{f['n'] or 0:,}</td></tr>"
                for f in flags.iter_rows(named=True)
            )
            + "</table>"
        )
    parts.append(_figure(fig))
    ok = audit.filter(pl.col("value").is_not_null())
    parts.append(
        "<h2>Every metric</h2><table><tr><th>judge</th><th>metric</th><th>value</th><th>95% CI</th>"
        "<th>n</th><th>note</th></tr>"
        + "".join(
            f"<tr><td>{_e(r['judge'])}</td><td>{_e(r['metric'])}</td><td class='n'>{r['value']:.3f}</td>"
            f"<td class='n'>{interval(r['ci_low'], r['ci_high'])}</td><td class='n'>{r['n'] or 0:,}</td><td class='muted'>"
            f"{_e(r['note'] or '')}</td></tr>"
            for r in ok.iter_rows(named=True)
        )
        + "</table>"
    )
    _save(root / "audit.html", head.render("Judge audit", "\n".join(parts), depth=0, charts=True))


def _instance_pages(
    q: Query,
    root: Path,
    head,
    flt: Filter,
    iset,
    instance_ids: dict[str, str],
    counts: dict,
    examples: int,
    manifest: dict,
) -> None:
    """A page per instance (an issue's example, or the selection's first judgments) and instances.html."""
    if not instance_ids:  # no issue set: the first judgments of the selection
        for jid in judgment_ids(q, flt, examples):
            instance_ids[jid] = "in the selection"
    rows = []
    for jid, why in instance_ids.items():
        if not _SAFE_ID.match(jid):
            manifest["left_out"].append(f"judgment {jid!r}: its id cannot be a file name")
            continue
        inst = instance(q, jid, iset.id if iset else None)
        _save(root / "instances" / f"{jid}.html", head.render(f"Instance {jid}", _instance_page(inst), depth=1))
        j = inst["judgment"]
        rows.append(
            f"<tr><td><a href='instances/{jid}.html'>{_e(jid[:12])}</a></td><td>{_e(j['judge'])}</td>"
            f"<td>{_e(_models(j))}</td><td>{_e(_outcome(j))}</td><td>{_e(why)}</td>"
            f"<td class='muted'>{_e(trim(j['critique'], 160))}</td></tr>"
        )
    _save(
        root / "instances.html",
        head.render(
            "Instances",
            "<h1>Instances in this bundle</h1><table><tr><th>id</th>"
            "<th>judge</th><th>model(s)</th><th>outcome</th><th>why here</th>"
            "<th>critique</th></tr>" + "".join(rows) + "</table>",
            depth=0,
        ),
    )
    manifest["instances"] = len(rows)
    if counts["judgments"] > len(rows):
        manifest["left_out"].append(
            f"{counts['judgments'] - len(rows):,} judgments of the selection have no page "
            f"(the bundle keeps each issue's {examples} most typical instances)"
        )


# ---- pages --------------------------------------------------------------------------------------------------
class _Page:
    def __init__(self, generated: str, selection: str, workspace: str):
        self.generated, self.selection, self.workspace = generated, selection, workspace

    def render(self, title: str, body: str, depth: int, charts: bool = False) -> str:
        up = "../" * depth
        script = f"<script src='{up}assets/plotly.min.js'></script>" if charts else ""
        return (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(title)}</title><link rel='stylesheet' href='{up}assets/style.css'>{script}</head><body>"
            f"<div class='crumbs'><a href='{up}index.html'>Issues</a> · <a href='{up}audit.html'>Audit</a> · "
            f"<a href='{up}instances.html'>Instances</a> — <span class='muted'>{_e(self.workspace)}, "
            f"{_e(self.selection)}, generated {_e(self.generated)}</span></div>{body}</body></html>"
        )


def _issue_tree(table: pl.DataFrame, link: bool = True) -> str:
    rows = [
        "<table><tr><th>category / issue</th><th>responses</th><th>prevalence</th><th>lift [95% CI]</th>"
        "<th>mean outcome</th></tr>"
    ]
    for cat in table["category_title"].unique(maintain_order=True).to_list():
        sub = table.filter(pl.col("category_title") == cat)
        rows.append(f"<tr class='cat'><td colspan='5'>{_e(cat or 'Other')} ({sub.height})</td></tr>")
        for r in sub.iter_rows(named=True):
            name = f"{_e(r['issue_id'])}. {_e(r['title'])}"
            if link:
                name = f"<a href='issue-{_safe(r['issue_id'])}.html'>{name}</a>"
            rows.append(
                f"<tr><td>{name}</td><td class='n'>{r['n_units']:,}</td><td class='n'>{pct(r['prevalence'])}"
                f"</td><td class='n'>{with_interval(r['lift'], r.get('lift_ci_low'), r.get('lift_ci_high'))}</td><td class='n'>{num(r['severity'])}</td></tr>"
            )
    return "".join(rows) + "</table>"


def _issue_page(r: dict, prev: pl.DataFrame, ex: pl.DataFrame, by: str) -> str:
    parts = [
        f"<h1>{_e(r['issue_id'])}. {_e(r['title'])}</h1>",
        f"<p class='muted'>{_e(r['category_title'] or '')} · {r['n_instances']:,} judgments, "
        f"{r['n_units']:,} judged responses, {r['n_items']:,} items · prevalence {pct(r['prevalence'])} "
        f"[{pct(r['prevalence_ci_low'])}, {pct(r['prevalence_ci_high'])}] · lift {with_interval(r['lift'], r.get('lift_ci_low'), r.get('lift_ci_high'))} · "
        f"{OUTCOME_WITH} {num(r['severity'])} (of the whole selection {num(r['mean_outcome'])}; 0 worst, 1 best)</p>",
    ]
    if r["description"]:
        parts.append(f"<p>{_e(r['description'])}</p>")
    if r["keywords"]:
        parts.append("<p>" + "".join(f"<span class='chip'>{_e(k)}</span>" for k in r["keywords"]) + "</p>")
    parts.append(
        f"<h2>Prevalence by {_e(by)}</h2><table><tr><th>{_e(by)}</th><th>share</th><th>95% CI</th>"
        f"<th>with it</th><th>of</th></tr>"
        + "".join(
            f"<tr><td>{_e(p[by])}</td><td class='n'>{pct(p['share'])}</td><td class='n'>"
            f"[{pct(p['ci_low'])}, {pct(p['ci_high'])}]</td><td class='n'>{p['n_with']:,}</td>"
            f"<td class='n'>{p['n_group']:,}</td></tr>"
            for p in prev.iter_rows(named=True)
        )
        + "</table>"
    )
    parts.append(
        f"<h2>Its {ex.height} most typical instances</h2><table><tr><th>instance</th><th>model</th>"
        "<th>judge</th><th>score / verdict</th><th>the sentence</th></tr>"
        + "".join(
            f"<tr><td><a href='instances/{_safe(e['judgment_id'])}.html'>{_e(e['judgment_id'][:12])}</a></td>"
            f"<td>{_e(e['model'] or '')}</td><td>{_e(e['judge'])}</td>"
            f"<td>{_e(e['score'] if e['score'] is not None else (e['verdict'] or ''))}</td>"
            f"<td>{_e(trim(e['segment'], 400))}</td></tr>"
            for e in ex.iter_rows(named=True)
        )
        + "</table>"
    )
    return "\n".join(parts)


def _instance_page(inst: dict) -> str:
    j = inst["judgment"]
    parts = [
        f"<h1>{_e(j['judge'])} on {_e(_models(j))}</h1>",
        f"<p class='muted'>{_e(j['protocol'])} · dataset {_e(j['dataset'] or '')} · template "
        f"{_e(j['template'] or '–')} · criterion {_e(j['criterion'] or 'overall')} · item {_e(j['item_id'][:12])}"
        f" · outcome <b>{_e(_outcome(j))}</b> · parse status {_e(j['parse_status'])}</p>",
        "<h2>Prompt</h2>",
        f"<pre>{_e(j.get('prompt') or '')}</pre>",
    ]
    if j["protocol"] == "pairwise" and inst["slots"]:
        parts.append("<h2>As the judge saw it</h2><div class='slots'>")
        for s in inst["slots"]:
            mark = " won" if s["won"] else ""
            label = "shown first" if s["slot"] == "A" else "shown second"
            if not s["order_known"]:
                label = "order not recorded"
            parts.append(
                f"<div class='slot{mark}'><b>{_e(s['slot'])}: {_e(s['model'] or '')}</b> "
                f"<span class='muted'>({label}, {s['n_chars'] or 0:,} characters)"
                f"{' · preferred' if s['won'] else ''}</span><pre>{_e(s['text'] or '')}</pre></div>"
            )
        parts.append("</div>")
    else:
        r = inst["responses"]
        text = r["text"][0] if r.height else ""
        parts += [f"<h2>Response of {_e(j['model'] or '')}</h2>", f"<pre>{_e(text or '')}</pre>"]
    parts.append("<h2>Critique</h2>")
    if inst.get("critique_names"):
        parts.append(
            "<p class='muted'>In this critique: "
            + "; ".join(f"“{_e(k)}” = {_e(v)}" for k, v in inst["critique_names"].items())
            + "</p>"
        )
    parts.append(f"<pre>{_e(j['critique'] or j.get('raw_output') or '')}</pre>")
    sw = inst.get("swapped")
    if sw:
        same = "the same verdict" if sw["same_verdict"] else "a different verdict"
        parts.append(
            f"<h2>The swapped order</h2><p class='muted'>Judged again with the other response first: "
            f"{_e(same)} ({_e(_verdict_name(sw['verdict'], j))}).</p><pre>{_e(sw['critique'] or '')}</pre>"
        )
    if inst["labels"]:
        parts.append("<h2>Labels</h2><table><tr><th>annotator</th><th>kind</th><th>says</th><th>judge agrees</th></tr>")
        for lab in inst["labels"]:
            says = lab.get("prefers")
            says = _name_of(says, j) if says else (f"{lab['score']:g}" if lab["score"] is not None else "")
            agrees = {
                True: "<span class='ok'>✓ agrees</span>",
                False: "<span class='bad'>✗ disagrees</span>",
                None: "–",
            }[lab["judge_agrees"]]
            parts.append(
                f"<tr><td>{_e(lab['annotator'])}</td><td>{_e(lab['kind'])}</td><td>{_e(says)}</td>"
                f"<td>{agrees}</td></tr>"
            )
        parts.append("</table>")
    seg = inst["segments"]
    if seg.height:
        parts.append(
            "<h2>The critique's sentences and their issues</h2><table><tr><th>sentence</th><th>about</th>"
            "<th>issue</th></tr>"
            + "".join(
                f"<tr><td>{_e(s['text'])}</td><td>{_e(s['about_model'] or '')}</td><td>{_e(s['issue'] or '')}</td></tr>"
                for s in seg.iter_rows(named=True)
            )
            + "</table>"
        )
    return "\n".join(parts)


# ---- small helpers ------------------------------------------------------------------------------------------
def _figure(fig) -> str:
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False})


def _save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _safe(value) -> str:
    text = str(value)
    if not _SAFE_ID.match(text):
        raise UserError(f"bundle: {text!r} cannot be part of a file name")
    return text


def _models(j: dict) -> str:
    if j["protocol"] == "pairwise":
        return f"{j['model_a'] or '?'} vs {j['model_b'] or '?'}"
    return j["model"] or ""


def _name_of(side: str | None, j: dict) -> str:
    """A verdict's side ('a', 'b', a response id, 'tie') as the model it names."""
    if side in ("tie", None):
        return side or ""
    if side in ("a", j["response_a"]):
        return j["model_a"] or "response a"
    if side in ("b", j["response_b"]):
        return j["model_b"] or "response b"
    return side


def _verdict_name(verdict: str | None, j: dict) -> str:
    if verdict is None:
        return "no verdict"
    return "tie" if verdict == "tie" else f"{_name_of(verdict, j)} better"


def _outcome(j: dict) -> str:
    if j["protocol"] == "pairwise":
        return _verdict_name(j["verdict"], j)
    if j["score"] is None:
        return "no score"
    return f"{j['score']:g} / {j['scale_max']:g}" if j["scale_max"] is not None else f"{j['score']:g}"
