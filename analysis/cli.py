"""The `judgescope` command. Exit codes: 0 success, 1 user error (one line on stderr), 2 bug."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import textwrap
import traceback
from pathlib import Path
from typing import NoReturn

from .issues import corrections
from .issues.issueset import SELECTION_STATS
from .formatting import DASH, cell, interval, lift_notes, unexplained_note, unmapped_note, with_interval
from . import __version__
from . import progress
from .errors import UserError
from .query import read_limit
from .filters import Filter, unknown_values
from .ingest.formats import FORMATS

FILTER_HELP = (
    "query string selecting judgments, the same syntax as dashboard links, e.g. "
    "'judge=GPT-4&template=Swap_CoT&score_max=3&meta.subset=LLMBar/Natural'"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors are user errors: exit 1, one line
        raise UserError(f"{self.prog}: {message}")


def _workspace(args, read_only: bool = False):
    from .workspace import Workspace

    ws = Workspace(args.workspace, read_only=read_only)
    if read_only:  # a command that only reads: bounded when JUDGESCOPE_QUERY_SECONDS says so
        ws.q.time_limit = read_limit(None)
    return ws


# the filter fields whose values a workspace lists: a value it does not have selects nothing, which is said
NAMED_FIELDS = ("model", "judge", "dataset", "template")


def _filter(args, ws=None) -> Filter:
    """The command's --filter; with the workspace, a model, judge, dataset or template it does not have gets a
    warning on stderr (the selection is empty or smaller than asked; the command still runs)."""
    flt = Filter.parse(getattr(args, "filter", None))[0]
    for field, value in unknown_values(flt, ws.values, NAMED_FIELDS) if ws is not None else ():
        known = sorted(ws.values(field))
        hint = ", ".join(known[:8]) + (" …" if len(known) > 8 else "")
        print(f"warning: no {field} {value!r} in {ws.path.name} ({field}s: {hint or 'none'})", file=sys.stderr)
    return flt


def _print_table(rows: list[dict], columns: list[str], out=None) -> None:
    # (the stream is looked up when printing: a default bound at import would miss a later redirection of stdout)
    out = out or sys.stdout
    if not rows:
        print("  (none)", file=out)
        return
    widths = {c: max(len(c), *(len(cell(r.get(c))) for r in rows)) for c in columns}
    widths = {c: min(w, 60) for c, w in widths.items()}
    print("  " + "  ".join(c.ljust(widths[c]) for c in columns), file=out)
    for r in rows:
        print("  " + "  ".join(cell(r.get(c))[: widths[c]].ljust(widths[c]) for c in columns), file=out)


# ---- commands ------------------------------------------------------------------------------------
def cmd_ingest(args) -> int:
    from . import store

    created = not store.workspace_path(args.workspace).exists()
    ws = _workspace(args)
    try:
        return _ingest_each(args, ws)
    except UserError:
        # a first import that failed leaves no empty workspace behind (the store is as it was: absent)
        if created and not ws.counts()["runs"]:
            store.remove(ws.path)
        raise


def _ingest_each(args, ws) -> int:
    from .ingest.mapping import load_mapping

    map_file = next((m for m in args.map if "=" not in m), None)
    pairs = [m for m in args.map if "=" in m]
    mapping = load_mapping(map_file, pairs)
    for pair in args.set:
        if "=" not in pair:
            raise UserError(f"--set {pair!r}: expected ROLE=VALUE")
        role, value = (x.strip() for x in pair.split("=", 1))
        load_mapping({"constants": {role: value}})  # validates the role
        mapping.constants[role] = value
    if args.scale:
        from .ingest.mapping import parse_scale

        mapping.scale = parse_scale(args.scale)
    results = []
    for path in args.paths:
        result = ws.ingest(
            path, format=args.format, mapping=mapping, strict=args.strict, dataset=args.dataset, aliases=args.aliases
        )
        results.append(result)
        if args.json:
            continue
        for note in result.notes:
            print(f"note: {note}")
        print(f"{path}: {result.summary()}")
        if result.n_rejected and not result.already_imported:
            for r in sorted(result.rejects, key=lambda r: (r.source, r.line or 0))[:5]:
                print(f"  rejected {r.describe()}")
            more = len(result.rejects) - 5
            if more > 0:
                print(f"  … and {more:,} more")
            print(
                f"  see them all with: judgescope rejects --run {result.run_id}"
                + (f" --workspace {args.workspace}" if args.workspace else "")
            )
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    return 0


def cmd_info(args) -> int:
    ws = _workspace(args, read_only=True)
    info = ws.info()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"workspace {info['workspace']} (schema {info['schema_version']})")
    # (the criteria table holds rubric definitions: a file with only a criterion column has none, its criteria are
    # listed below)
    shown = {"criteria": "rubric definitions"}
    print("  " + ", ".join(f"{shown.get(t, t)} {n:,}" for t, n in info["counts"].items()))
    print("  parse status: " + ", ".join(f"{k} {v:,}" for k, v in info["parse_status"].items()))
    print("runs:")
    _print_table(info["runs"], ["run_id", "name", "source_format", "n_ingested", "n_rejected", "created_at"])
    print("judges:")
    _print_table(info["judges"], ["judge", "protocol", "judgments"])
    print(f"models ({len(info['models'])}):")
    _print_table(info["models"], ["model", "responses"])
    print(f"criteria ({info['n_criteria']} named, top {len(info['criteria'])}):")
    _print_table(info["criteria"][:10], ["criterion", "judgments"])
    print("rejects by reason:")
    _print_table(info["rejects_by_reason"][:20], ["reason", "n"])
    return 0


def cmd_rejects(args) -> int:
    ws = _workspace(args, read_only=True)
    frame = ws.rejects(run=args.run, limit=args.limit)
    if args.json:
        print(json.dumps(frame.to_dicts(), indent=2, default=str))
        return 0
    if frame.height == 0:
        print("no rejected rows")
        return 0
    for r in frame.iter_rows(named=True):
        where = r["source"] + (f":{r['line']}" if r["line"] is not None else "")
        col = f" column {r['column']!r}" if r["column"] else ""
        print(f"{where}{col}: {r['reason']}")
    return 0


def _write_frame(frame, out: Path, text_formats: dict | None = None) -> None:
    """Write a frame as .csv or .parquet, or one of the extra text formats given as {suffix: render()}."""
    text_formats = text_formats or {}
    if out.suffix == ".parquet":
        frame.write_parquet(out)
    elif out.suffix == ".csv":
        from .export import write_csv

        write_csv(frame, out)  # text cells a spreadsheet would read as a formula get a leading '
    elif out.suffix in text_formats:
        out.write_text(text_formats[out.suffix](), encoding="utf-8")
    else:
        raise UserError(f"{out}: write {', '.join(sorted({'.csv', '.parquet', *text_formats}))}")


def cmd_judgments(args) -> int:
    ws = _workspace(args, read_only=True)
    frame = ws.judgments(_filter(args, ws), limit=args.limit)
    if args.output:
        out = Path(args.output)
        _write_frame(frame, out)
        print(f"wrote {frame.height:,} judgments to {out}")
    else:
        print(json.dumps(frame.to_dicts(), indent=1, default=str) if args.json else frame)
    return 0


def audit_markdown(frame) -> str:
    """The audit as GitHub Markdown: computed metrics, then what could not be computed and why."""
    import polars as pl

    from .report import audit_table_md
    from .report import md as _md

    lines = audit_table_md(frame.filter(pl.col("value").is_not_null()).to_dicts())
    missing = frame.filter(pl.col("value").is_null()).group_by("metric", "note").agg(pl.col("judge").drop_nulls())
    if missing.height:
        lines += ["", "Not computed:", ""]
        for r in missing.sort("metric").iter_rows(named=True):
            who = ", ".join(_md(j) for j in r["judge"]) or "all"
            lines.append(f"- {r['metric']} ({who}): {_md(r['note'].removeprefix('not computed: '))}")
    return "\n".join(lines) + "\n"


def cmd_audit(args) -> int:
    import polars as pl

    ws = _workspace(args, read_only=True)
    frame = ws.audit(_filter(args, ws), by=args.by)
    if args.output:
        out = Path(args.output)
        _write_frame(
            frame,
            out,
            {
                ".json": lambda: json.dumps(frame.to_dicts(), indent=2, default=str),
                ".md": lambda: audit_markdown(frame),
            },
        )
        print(f"wrote {frame.height} metric rows to {out}", file=sys.stderr)
    if args.json:
        print(json.dumps(frame.to_dicts(), indent=2, default=str))
    elif args.markdown:
        print(audit_markdown(frame), end="")
    elif not args.output:
        done = frame.filter(pl.col("value").is_not_null())
        rows = [
            {
                "judge": r["judge"],
                "metric": r["metric"],
                "value": r["value"],
                "95% CI": f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]" if r["ci_low"] is not None else "",
                "n": r["n"],
            }
            for r in done.iter_rows(named=True)
        ]
        _print_table(rows, ["judge", "metric", "value", "95% CI", "n"])
        n_missing = frame.height - done.height
        if n_missing:
            print(f"{n_missing} metric(s) not computed for lack of data; --markdown or --json lists why")
    return 0


def cmd_scores(args) -> int:
    """Pointwise score statistics per group, and (when the selection has pairwise verdicts) each model's win rate."""
    ws = _workspace(args, read_only=True)
    flt = _filter(args, ws)
    stats = ws.scores.stats(args.by, flt)
    wins = ws.scores.win_rates(flt)
    if args.output:
        out = Path(args.output)
        frame = wins if args.win_rates else stats
        _write_frame(frame, out, {".json": lambda: json.dumps(frame.to_dicts(), indent=2, default=str)})
        print(f"wrote {frame.height} rows to {out}", file=sys.stderr)
        return 0
    if args.json:
        print(json.dumps({"scores": stats.to_dicts(), "win_rates": wins.to_dicts()}, indent=2, default=str))
        return 0
    if not args.win_rates and not stats.height:
        print("no pointwise scores in the selection")
    elif not args.win_rates:
        print(f"scores by {args.by} (pointwise judgments)")
        rows = [
            {
                **r,
                "mean (95% CI)": with_interval(r["mean_score"], r["mean_score_ci_low"], r["mean_score_ci_high"]),
                "normalised": DASH if r["mean_score_norm"] is None else f"{r['mean_score_norm']:.3f}",
                "scale": DASH if r["scale_min"] is None else f"{r['scale_min']:g}-{r['scale_max']:g}",
            }
            for r in stats.iter_rows(named=True)
        ]
        _print_table(
            rows,
            [stats.columns[0], "judgments", "scored", "unparsed", "missing", "mean (95% CI)", "normalised", "scale"],
        )
    if not wins.height or not wins["comparisons"].sum():
        self_pairs = int(wins["n_self"].sum()) if wins.height else 0
        print(
            "no pairwise verdicts between two different named models in the selection"
            + (
                f" ({self_pairs:,} compare a model with itself: they say nothing about which is better)"
                if self_pairs
                else ""
            )
        )
        return 0
    print("win rates (pairwise; a tie counts half, 95% Wilson interval)")
    rows = [
        {
            **r,
            "win rate": "" if r["win_rate"] is None else f"{r['win_rate']:.3f}",
            "95% CI": interval(r["ci_low"], r["ci_high"], 3),
        }
        for r in wins.iter_rows(named=True)
    ]
    _print_table(rows, ["model", "comparisons", "wins", "ties", "losses", "no_verdict", "win rate", "95% CI"])
    return 0


def cmd_issues(args) -> int:
    """List, show, update, edit or discover an issue set, then print it (as a table, or every field as JSON)."""
    if args.marks:
        return _print_marks(args)
    if args.examples:
        return _print_examples(args)
    if args.unexplained:
        return _print_unexplained(args)
    if args.list:
        ws = _workspace(args, read_only=True)
        _print_table(
            ws.issues.sets().with_columns(pl_cast_str("created_at")).to_dicts(),
            ["issue_set_id", "name", "filter", "issues", "strengths", "judgments", "signal", "created_at"],
        )
        return 0
    if args.update:
        return _update_issue_set(args)
    if args.rename or args.merge or args.split or args.drop:
        iset = _edit_issue_set(args)
    elif args.show:
        iset = _workspace(args, read_only=True).issues.get(args.show)
    else:
        iset = _discover(args)
    by_model: dict[str, dict[str, float]] = {}
    for r in pl_concat(iset.prevalence("model", kind="issue"), iset.prevalence("model", kind="strength")).iter_rows(
        named=True
    ):
        by_model.setdefault(r["issue_id"], {})[r["model"]] = r["share"]
    table = iset.table(kind=None)
    if args.json:
        records = [
            {**{k: r[k] for k in ISSUE_JSON_FIELDS}, "prevalence_by_model": by_model.get(r["issue_id"], {})}
            for r in table.iter_rows(named=True)
        ]
        print(json.dumps(records, indent=2, default=str))
        return 0
    _print_issue_set(iset, table, by_model)
    return 0


# the fields `judgescope issues --json` prints per issue (besides its prevalence by model)
ISSUE_JSON_FIELDS = (
    "issue_id",
    "title",
    "kind",
    "category",
    "category_title",
    "description",
    "keywords",
    "named_by",
    "n_instances",
    "n_units",
    "n_segments",
    "n_compared",
    "n_items",
    "max_item_share",
    *SELECTION_STATS,
    "severity",
    "mean_outcome",
    "origin",
    "n_checked",
    "n_fits",
    "precision",
    "precision_ci_low",
    "precision_ci_high",
)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _print_examples(args) -> int:
    """An issue's members to read: n judgments drawn at random with --sample SEED (how to check an issue: the most
    typical would overstate its precision), else the n closest to its centre; each with how its response fared."""
    ws = _workspace(args, read_only=True)
    iset = ws.issues.get(args.show)
    if args.examples not in set(iset.table(kind=None)["issue_id"]):
        raise UserError(
            f"no issue {args.examples!r} in issue set {iset.id}; `judgescope issues --show {iset.id}` lists them"
        )
    if args.n < 1:
        raise UserError("-n must be at least 1")
    ex = iset.examples(args.examples, args.n, _filter(args, ws), sample=args.sample)
    if args.json:
        print(json.dumps(ex.drop("similarity").to_dicts(), indent=2, default=str))
        return 0
    how = f"drawn at random (seed {args.sample})" if args.sample is not None else "closest to its centre"
    print(f"issue {args.examples} of set {iset.id}: {ex.height} judgments, {how}")
    for r in ex.iter_rows(named=True):
        shown = f" · shown {r['shown']}" if r["shown"] else ""
        print(f"- {r['judgment_id']} · {r['model'] or 'response'}{shown} · judged by {r['judge']} · {r['outcome']}")
        print(f"    {cell(r['segment'])}")
        if args.critique:  # the whole critique, to judge the member by more than its one sentence
            text = _CONTROL.sub("", (r["critique"] or "").strip())  # the data's text, never a terminal's command
            print(textwrap.indent(text, "    | "))
    return 0


def _print_unexplained(args) -> int:
    """What the critiques say that no issue explains, failing responses first (precision first: shown, not pushed
    into the nearest name)."""
    ws = _workspace(args, read_only=True)
    iset = ws.issues.get(args.show)
    if args.n < 1:
        raise UserError("-n must be at least 1")
    flt = _filter(args, ws)
    rows = iset.unexplained(flt, args.n, sample=args.sample)
    if args.json:
        print(json.dumps({**iset.explained(flt), "statements": rows.to_dicts()}, indent=2, default=str))
        return 0
    print(unexplained_note(iset.explained(flt), None))
    for r in rows.iter_rows(named=True):
        fared = {True: "failing", False: "passing"}.get(r["failing"], "outcome unknown")
        other = " · has other issues" if r["has_issue"] else ""
        print(f"- {r['judgment_id']} · {r['model'] or 'response'} · {fared}{other}")
        print(f"    {cell(r['text'])}")
    return 0


def _print_marks(args) -> int:
    ws = _workspace(args, read_only=True)
    marks = ws.issues.get(args.show).marks().with_columns(pl_cast_str("marked_at"))
    if args.json:
        print(json.dumps(marks.to_dicts(), indent=2, default=str))
    else:
        sys.stdout.write(marks.write_csv())
    return 0


def _update_issue_set(args) -> int:
    iset = _workspace(args).issues.get(args.show)
    with progress.reporting(False if args.json else None):
        done = iset.update()
    if args.json:
        print(json.dumps(done, indent=2))
        return 0
    share = "" if done["unexplained_share"] is None else f" ({done['unexplained_share']:.0%})"
    print(
        f"issue set {iset.id}: {done['new_judgments']:,} new judgments; {done['explained']:,} of "
        f"{done['new_statements']:,} new critical statements joined existing issues, {done['unexplained']:,} "
        f"fit none{share}"
    )
    if done["suggest_discovery"]:
        print("many new statements fit no issue: run `judgescope issues` for a new discovery")
    return 0


def _edit_issue_set(args):
    iset = _workspace(args).issues.get(args.show)
    if args.rename:
        iset.rename(args.rename[0], args.rename[1])
    if args.merge:
        print(f"merged into issue {iset.merge(args.merge, title=args.title)}")
    if args.split:
        print(f"split into issues {', '.join(iset.split(args.split, args.parts))}")
    if args.drop:
        iset.drop(args.drop)
    return iset


def _discover(args):
    from .issues import Pipeline

    ws = _workspace(args)
    taxonomy = _read_taxonomy(Path(args.taxonomy)) if args.taxonomy else None
    options = {key: getattr(args, _dest(key)) for key in Pipeline.options() if getattr(args, _dest(key)) is not None}
    return ws.issues.discover(
        _filter(args, ws),
        seed=args.seed,
        name_with=args.name_with,
        taxonomy=taxonomy,
        name=args.name,
        progress=None if not args.json else False,
        **options,
    )


def _print_issue_set(iset, table, by_model: dict[str, dict[str, float]]) -> None:
    """The set's issues and strengths as text tables, under their categories, with the two models most affected."""
    print(repr(iset))
    for kind, heading in (("issue", "Issues"), ("strength", "Strengths")):
        tree = iset.tree(kind=kind, by=None)
        if tree.height == 0:
            print(f"{heading}: none")
            continue
        print(f"{heading} (share of judged responses; lift = prevalence among failing / passing responses):")
        rows = []
        for r in tree.iter_rows(named=True):
            if r["level"] == "category":
                rows.append({"id": "", "title": r["title"].upper(), "prevalence": f"{r['prevalence']:.1%}"})
                continue
            row = table.filter(pl_col("issue_id") == r["issue_id"]).row(0, named=True)
            models = sorted(by_model.get(r["issue_id"], {}).items(), key=lambda kv: -kv[1])[:2]
            rows.append(
                {
                    "id": r["issue_id"],
                    "title": "  " + r["title"],
                    "prevalence": f"{r['prevalence']:.1%}",
                    "lift": ""
                    if row["lift"] is None
                    else with_interval(row["lift"], row["lift_ci_low"], row["lift_ci_high"], 1)
                    + (
                        f" ({note})"
                        if kind == "issue"
                        and (
                            note := lift_notes(
                                row["lift_ci_low"], row["lift_ci_high"], row["n_compared"], row["n_units"]
                            )
                        )
                        else ""
                    ),
                    "outcome": row["severity"],
                    "most in": "; ".join(f"{m} {v:.0%}" for m, v in models),
                }
            )
        _print_table(rows, ["id", "title", "prevalence", "lift", "outcome", "most in"])
    print(
        f"{iset.no_issue():,} of {iset.n_instances():,} judgments have no issue; outcome = mean outcome (0 worst, 1 best) "
        f"of the responses with it (all: {cell(table['mean_outcome'][0]) if table.height else '–'}); "
        f"`judgescope issues --show {iset.id} --json` prints every field"
    )
    print(unexplained_note(iset.explained(), f"`judgescope issues --show {iset.id} --unexplained`"))
    if unmapped := unmapped_note(iset.unmapped_names):
        print(unmapped)
    if iset.corrected:
        print(corrections.describe(iset.corrected))


def _dest(option: str) -> str:
    return "pipeline_" + option.replace(".", "_")


def pl_concat(*frames):
    import polars as pl

    return (
        pl.concat([f for f in frames if f.height], how="diagonal_relaxed")
        if any(f.height for f in frames)
        else frames[0]
    )


def pl_col(name: str):
    import polars as pl

    return pl.col(name)


def pl_cast_str(col: str):
    import polars as pl

    return pl.col(col).cast(pl.String)


def _read_taxonomy(path: Path) -> list[dict]:
    """Known issues from JSON ([{"title", "description"}] or {"title": "description"}) or text (one title a line)."""
    if not path.exists():
        raise UserError(f"taxonomy file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}") from None
        if isinstance(data, dict):
            return [{"title": k, "description": v} for k, v in data.items()]
        return [x if isinstance(x, dict) else {"title": str(x)} for x in data]
    return [{"title": line.strip()} for line in text.splitlines() if line.strip()]


def _field_args(p, fields, title: str) -> None:
    """One option per dataclass field (JudgeSpec, CallOptions): flag, type, choices, help and default come from
    the field (analysis/judge/client.py `option`); a flag not given leaves the dataclass's default."""
    group = p.add_argument_group(title)
    for f in fields:
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        choices = f.metadata.get("choices")
        kind = str(f.type)
        if kind == "bool":
            group.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{help_text} (default {'on' if f.default else 'off'})",
            )
            continue
        typ = int if kind.startswith("int") else float if kind.startswith("float") else str
        shown = "none" if f.default is None else f.default
        group.add_argument(
            flag,
            dest=f.name,
            type=typ,
            choices=choices,
            default=None,
            metavar=None if choices else typ.__name__.upper(),
            help=f"{help_text} (default {shown})",
        )


def _given(args, fields) -> dict:
    return {f.name: getattr(args, f.name) for f in fields if getattr(args, f.name, None) is not None}


def _judge_options(args, spec_names: tuple[str, ...]) -> dict:
    from .judge.api import call_fields, spec_fields

    opts = _given(args, call_fields())
    if args.quiet:
        opts["progress"] = False
    opts.update(_given(args, [f for f in spec_fields() if f.name in spec_names]))
    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and args.api_key_env != "OPENAI_API_KEY" and key is None:
        raise UserError(f"--api-key-env {args.api_key_env}: that environment variable is not set")
    return {"model": args.model, "base_url": args.base_url, "api_key": key, "name": args.name, **opts}


def _judge_report(result, args) -> int:
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        s = result.stats
        print(
            f"run {result.run_id}: {result.planned:,} requests ({s.called:,} called, {s.cached:,} from the cache, "
            f"{s.failed:,} failed after retries, {s.retries:,} retries); {result.written:,} judgments written, "
            f"{result.already_present:,} already present; parse status {summary['parse_status']}; "
            f"tokens {s.tokens_in:,} in + {s.tokens_out:,} out, ${s.cost:.4f}"
        )
        for why, n in (result.skipped or {}).items():
            print(f"  skipped {n:,}: {why}")
        if s.failed:
            print(
                f"  {s.failed:,} request(s) failed ({', '.join(f'{k}: {v}' for k, v in s.errors.items())}); "
                f"re-run the same command to retry them"
            )
    if result.stats.stopped == "budget":
        raise UserError(
            f"stopped at the budget of ${args.budget:g} after {result.stats.called:,} calls; "
            f"{result.stats.skipped_budget:,} request(s) not sent (re-run with a larger --budget to finish)"
        )
    return 0


JUDGE_SPEC_OPTIONS = (
    "criteria",
    "per_criterion",
    "both_orders",
    "pairs",
    "baseline",
    "reference",
    "samples",
    "judge_name",
    "limit",
)
PROBE_SPEC_OPTIONS = ("judge_name", "limit")


def cmd_judge(args) -> int:
    ws = _workspace(args)
    result = ws.judge(_filter(args), template=args.template, **_judge_options(args, JUDGE_SPEC_OPTIONS))
    return _judge_report(result, args)


def cmd_probe(args) -> int:
    ws = _workspace(args)
    result = ws.judge.probe(
        _filter(args), probes=args.probes, template=args.template, **_judge_options(args, PROBE_SPEC_OPTIONS)
    )
    return _judge_report(result, args)


def cmd_report(args) -> int:
    ws = _workspace(args, read_only=True)
    top = None if args.all or args.top == 0 else args.top
    groups = None if args.all or args.groups == 0 else args.groups
    text = ws.report(
        args.format,
        path=args.output,
        issue_set=args.issue_set,
        filter=_filter(args, ws),
        by=args.by,
        top=top,
        groups=groups,
    )
    if args.output:
        print(f"wrote the {args.format} report to {args.output}", file=sys.stderr)
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0


def cmd_bundle(args) -> int:
    ws = _workspace(args, read_only=True)
    out = ws.bundle(args.output, filter=_filter(args, ws), issue_set=args.issue_set, by=args.by, examples=args.examples)
    print(
        f"wrote a static bundle to {out}: open {out / 'index.html'} in a browser, or serve the folder from any "
        f"static host"
    )
    return 0


def cmd_demo(args) -> int:
    from .demo import build_demo

    path = Path(args.workspace or "demo.duckdb")
    from . import store

    build_demo(
        path,
        data_dir=Path(args.data) if args.data else None,
        rebuild=args.rebuild,
        echo=print,
        issues=not args.no_issues,
    )
    store.close(path)  # the dashboard opens the file in its own process: let go of it first
    if args.no_serve:
        return 0
    from .serve import serve_foreground

    return serve_foreground(path, port=args.port)


def cmd_dashboard(args) -> int:
    from . import store
    from .serve import serve_foreground

    path = store.workspace_path(args.workspace)
    if not path.exists():
        raise UserError(f"workspace {path} does not exist; run `judgescope ingest` or `judgescope demo` first")
    return serve_foreground(path, port=args.port)


def _pipeline_args(p) -> None:
    """One option per field of the issue pipeline's stages (analysis/issues/pipeline.py), e.g.
    --clusterer-per-cluster 60; the defaults are the stages' own."""
    from .issues.pipeline import Pipeline

    group = p.add_argument_group("pipeline stages (defaults in analysis/issues/pipeline.py; see docs/issues.md)")
    for key, (_stage, default, kind) in Pipeline.options().items():  # kind: the annotation as written ("int", …)
        flag = "--" + key.replace(".", "-").replace("_", "-")
        flags = [flag, "--embedding-model"] if key == "embedder.model" else [flag]
        if kind == "bool":
            group.add_argument(
                *flags,
                dest=_dest(key),
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"(default {'on' if default else 'off'})",
            )
        else:
            typ = int if kind == "int" else float if kind.startswith("float") else str
            group.add_argument(
                *flags,
                dest=_dest(key),
                type=typ,
                default=None,
                metavar=typ.__name__.upper(),
                help=f"(default {default})",
            )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="judgescope", description="Error analysis for LLM-as-a-judge feedback.")
    parser.add_argument("--version", action="version", version=f"judgescope {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say what it does on stderr (-v: each step, batch, retry and wait; -vv: debug)",
    )
    # the workspace before the command too ("judgescope -w x.duckdb info"); given after it, that one counts
    parser.add_argument("--workspace", "-w", default=None, help="workspace file (default judgescope.duckdb)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, help: str, func, workspace_help: str = "workspace file (default judgescope.duckdb)"):
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--workspace", "-w", help=workspace_help, default=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    for commands in (
        _data_commands,
        _audit_command,
        _scores_command,
        _issues_command,
        _judge_commands,
        _output_commands,
        _serve_commands,
    ):
        commands(add)
    return parser


def _data_commands(add) -> None:
    """ingest, info, rejects, judgments: what is in the workspace."""
    p = add("ingest", "import judge feedback files or directories into the workspace", cmd_ingest)
    p.add_argument("paths", nargs="+", help="file(s) or directory(ies)")
    p.add_argument("--format", "-f", help="format name (detected when left out): " + ", ".join(FORMATS))
    p.add_argument(
        "--map",
        "-m",
        action="append",
        default=[],
        metavar="FILE|ROLE=COLUMN",
        help="a mapping TOML file, or ROLE=COLUMN (repeatable), e.g. --map score=rating",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ROLE=VALUE",
        help="a value for every row, e.g. --set judge=gpt-4o",
    )
    p.add_argument("--scale", help="score scale, e.g. 1-10")
    p.add_argument("--dataset", help="dataset name (part of every id; defaults to the format's or file's name)")
    p.add_argument("--strict", action="store_true", help="abort on the first rejected row; the store stays unchanged")
    p.add_argument(
        "--aliases",
        metavar="FILE",
        help="judge/model alias TOML (default: judgescope.aliases.toml "
        "beside the workspace, when it exists); see analysis/identities.py",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = add("info", "counts, runs, judges, models, criteria and rejects of a workspace", cmd_info)
    p.add_argument("--json", action="store_true")

    p = add("rejects", "list rejected source rows with file, line, column and reason", cmd_rejects)
    p.add_argument("--run", help="only this run id")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")

    p = add("judgments", "print or export the judgments a filter selects", cmd_judgments)
    p.add_argument("--filter", help=FILTER_HELP)
    p.add_argument("--limit", "-n", type=int, default=None, help="at most this many (-n as in `issues --examples`)")
    p.add_argument("--output", "-o", help="write .csv or .parquet instead of printing")
    p.add_argument("--json", action="store_true")


def _audit_command(add) -> None:
    """audit: the judges' reliability."""
    p = add("audit", "judge reliability: position, length and self-preference bias, agreement, consistency", cmd_audit)
    p.add_argument("--filter", help=FILTER_HELP)
    p.add_argument(
        "--by",
        choices=["judge", "judge_template"],
        default="judge",
        help="one row group per judge, or per judge and template (strategy)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the metric rows as JSON records")
    fmt.add_argument("--markdown", action="store_true", help="print a GitHub Markdown table")
    p.add_argument("--output", "-o", help="also write .json, .md, .csv or .parquet")


def _scores_command(add) -> None:
    """scores: score statistics and win rates."""
    p = add("scores", "pointwise score statistics per group, and each model's pairwise win rate", cmd_scores)
    p.add_argument("--filter", help=FILTER_HELP)
    p.add_argument(
        "--by", default="model", help="group scores by: model, judge, criterion, template, dataset, meta.KEY"
    )
    p.add_argument("--win-rates", action="store_true", help="only the win rates (and --output writes them)")
    p.add_argument("--output", "-o", help="write the score table (or --win-rates) as .csv, .parquet or .json")
    p.add_argument("--json", action="store_true", help="print both tables as JSON")


def _issues_command(add) -> None:
    """issues: discover, list, show, update and edit issue sets."""
    p = add(
        "issues", "discover recurring issues and strengths in critiques (or list / show stored issue sets)", cmd_issues
    )
    p.add_argument("--filter", help=FILTER_HELP)
    p.add_argument("--seed", type=int, default=0)
    _pipeline_args(p)
    p.add_argument("--name-with", metavar="MODEL", help="name issues with this model at OPENAI_BASE_URL")
    p.add_argument("--taxonomy", help="known issues: JSON list/dict or a text file with one title per line")
    p.add_argument("--name", help="a name for the issue set")
    p.add_argument("--list", action="store_true", help="list the stored issue sets")
    p.add_argument(
        "--update",
        action="store_true",
        help="add judgments imported since the set (of --show SET, or the "
        "newest) was made to its existing issues, without a new discovery",
    )
    p.add_argument(
        "--marks",
        action="store_true",
        help="print readers' fits / does-not-fit marks (CSV, or --json) of --show SET or the newest",
    )
    p.add_argument("--show", metavar="ID", help="print a stored issue set")
    p.add_argument(
        "--examples",
        metavar="ISSUE",
        help="print an issue's member judgments with the statement that puts each in it (of --show SET or the newest)",
    )
    p.add_argument(
        "--critique",
        action="store_true",
        help="with --examples: print each member's whole critique under its statement",
    )
    p.add_argument(
        "--unexplained",
        action="store_true",
        help="print the critical statements no issue explains (of --show SET or the newest), failing responses first",
    )
    p.add_argument(
        "--sample",
        type=int,
        metavar="SEED",
        help="with --examples or --unexplained: draw them at random with this seed",
    )
    p.add_argument("-n", type=int, default=10, help="with --examples or --unexplained: how many (default 10)")
    p.add_argument("--json", action="store_true", help="print the issue table as JSON records")
    p.add_argument(
        "--rename", nargs=2, metavar=("ISSUE", "TITLE"), help="rename an issue (of --show SET, or the newest)"
    )
    p.add_argument("--merge", nargs="+", metavar="ISSUE", help="merge issues into a new one (--title names it)")
    p.add_argument("--title", help="title for --merge")
    p.add_argument("--split", metavar="ISSUE", help="split an issue by k-means on its segments")
    p.add_argument("--parts", type=int, default=2, help="how many issues --split makes")
    p.add_argument("--drop", metavar="ISSUE", help="drop an issue")


def _judge_args(p, spec_names: tuple[str, ...]) -> None:
    """The options `judge` and `probe` share: the endpoint, the selection, the spec and call fields."""
    from .judge.api import call_fields, spec_fields

    p.add_argument("--model", required=True, help="the judge model's name at the endpoint")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else OpenAI)")
    p.add_argument(
        "--api-key-env",
        default="OPENAI_API_KEY",
        metavar="VAR",
        help="environment variable holding the API key (never a flag: keys in argv leak)",
    )
    p.add_argument("--filter", help=FILTER_HELP)
    p.add_argument("--name", help="a name for the run")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    _field_args(p, [f for f in spec_fields() if f.name in spec_names], "what to judge (JudgeSpec)")
    _field_args(p, [f for f in call_fields() if f.name != "progress"], "how to call the endpoint (CallOptions)")


def _judge_commands(add) -> None:
    """judge and probe: run a judge through an OpenAI-compatible endpoint."""
    p = add(
        "judge", "run an LLM judge through an OpenAI-compatible endpoint; judgments land in the workspace", cmd_judge
    )
    _judge_args(p, JUDGE_SPEC_OPTIONS)
    p.add_argument("--template", default="rubric", help="rubric, prometheus, pairwise, or a TOML template file")
    p.add_argument(
        "--one-order",
        dest="both_orders",
        action="store_false",
        default=None,
        help="pairwise: judge each pair in one order only (= --no-both-orders)",
    )
    p.add_argument(
        "--no-reference",
        dest="reference",
        action="store_const",
        const="off",
        default=None,
        help="do not show reference answers (= --reference off)",
    )

    p = add("probe", "bias probes: re-judge selected judgments with controlled perturbations", cmd_probe)
    _judge_args(p, PROBE_SPEC_OPTIONS)
    p.add_argument(
        "--probes",
        default="all",
        help="comma-separated: swap, verbosity, authority, bandwagon, reflection, one-token (default all)",
    )
    p.add_argument("--template", help="default: pairwise for pairwise judgments, else rubric")


def _output_commands(add) -> None:
    """report and bundle: what a researcher shares."""
    p = add("report", "issue summary and judge audit as Markdown, HTML, CSV or JSON", cmd_report)
    p.add_argument("--filter", help=FILTER_HELP + " (for the audit)")
    p.add_argument("--issue-set", help="issue set id (default: the newest)")
    p.add_argument("--format", choices=["md", "html", "csv", "json"], default="md")
    p.add_argument("--by", default="model", help="prevalence by: model, judge, criterion, template, dataset, category")
    p.add_argument("--output", "-o", help="write to this file instead of printing")
    p.add_argument("--top", type=int, default=15, help="issues to keep, most instances first (0: all; default 15)")
    p.add_argument(
        "--groups", type=int, default=12, help="groups per issue, highest prevalence first (0: all; default 12)"
    )
    p.add_argument("--all", action="store_true", help="keep every issue and group (the report says what it leaves out)")

    p = add(
        "bundle", "write a static, offline HTML copy of a view (no server, no workspace) for a colleague", cmd_bundle
    )
    p.add_argument("--output", "-o", required=True, help="directory to write (created; must be empty or absent)")
    p.add_argument("--filter", help=FILTER_HELP)
    p.add_argument("--issue-set", help="issue set id (default: the filter's, else the newest)")
    p.add_argument("--by", default="model", help="prevalence by: model, judge, criterion, template, dataset")
    p.add_argument("--examples", type=int, default=20, help="instances per issue with their own page (default 20)")


def _serve_commands(add) -> None:
    """demo and dashboard: serve the dashboard."""
    p = add(
        "demo",
        "build the demo workspace from data/demo and serve the dashboard",
        cmd_demo,
        workspace_help="demo workspace file (default demo.duckdb)",
    )
    p.add_argument("--data", help="demo data directory (default: the project's data/demo)")
    p.add_argument("--rebuild", action="store_true", help="delete and rebuild the demo workspace")
    p.add_argument("--no-serve", action="store_true", help="build only")
    p.add_argument("--no-issues", action="store_true", help="skip issue discovery on the arena-bench critiques")
    p.add_argument("--port", type=int, default=8501)

    p = add("dashboard", "serve the dashboard for a workspace on 127.0.0.1", cmd_dashboard)
    p.add_argument("--port", type=int, default=8501)


class _ToStderr(logging.Handler):
    """Writes to whatever sys.stderr is when a record comes (a test or a notebook may have replaced it since)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


@contextlib.contextmanager
def _log_to_stderr(verbosity: int):
    """For the command's duration: judgescope's own diagnostics (the `analysis` loggers) on stderr, at INFO for
    -v and DEBUG for -vv; other libraries' stay quiet. Nothing is left configured after it."""
    if not verbosity:
        yield
        return
    root = logging.getLogger("analysis")
    handler = _ToStderr()
    handler.setFormatter(logging.Formatter("judgescope: %(name)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        with _log_to_stderr(args.verbose):
            return args.func(args)
    except UserError as exc:
        print(f"judgescope: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader stopped (`| head`): nothing is wrong, and nothing more is written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a path that cannot be read or written (a folder, no permission, no such place)
        where = f"{exc.filename}: " if getattr(exc, "filename", None) not in (None, "") else ""
        print(f"judgescope: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception:  # noqa: BLE001 - a bug: show everything
        traceback.print_exc()
        print("judgescope: internal error (a bug); please report it with the traceback above", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
