"""`Workspace`: the notebook API over one DuckDB workspace file."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl

from . import store
from .browse import IMPORT_ORDER
from .errors import UserError
from .filters import Filter, as_filter
from .ingest import IngestResult, ingest
from .ingest.mapping import Mapping
from .issues.api import Issues
from .judge.api import Judging
from .query import Query
from .records import READ_COLUMNS
from .reliability.api import Audit, Rubrics
from .scores import Scores
from .sql import ident, json_path

FilterLike = Filter | str | dict | None

TABLES = ("runs", "items", "responses", "judgments", "labels", "criteria", "rejects")
JUDGMENT_COLUMNS = READ_COLUMNS
MAX_ROWS = 1_000_000_000  # a larger limit or offset is a mistake, not a request
# the flat names of earlier versions and where each now lives (ws.<namespace>.<method>)
MOVED = {
    "score_stats": "scores.stats",
    "score_distribution_table": "scores.distribution_table",
    "score_distribution": "scores.distribution",
    "verdict_outcomes": "scores.verdict_outcomes",
    "verdict_distribution": "scores.verdict_distribution",
    "model_judge_heatmap": "scores.model_judge_heatmap",
    "discover_issues": "issues.discover",
    "issue_set": "issues.get",
    "issue_sets": "issues.sets",
    "compare": "issues.compare",
    "probe": "judge.probe",
    "judge_failures": "judge.failures",
    "bias_heatmap": "audit.bias_heatmap",
    "agreement": "audit.agreement",
    "agreement_chart": "audit.agreement_chart",
    "agreement_matrix": "audit.agreement_matrix",
    "agreement_heatmap": "audit.agreement_heatmap",
    "length_score_chart": "audit.length_score_chart",
    "length_correlation": "audit.length_correlation",
    "criteria_breakdown": "rubrics.breakdown",
    "criteria_heatmap": "rubrics.heatmap",
    "criterion_correlation": "rubrics.correlation",
    "criterion_correlation_heatmap": "rubrics.correlation_heatmap",
    "criterion_offsets": "rubrics.offsets",
}


# a filter field's column(s) in judgment_view `j`: a model is either side of a pair too
_FACETS = {
    "model": ("j.model", "j.model_a", "j.model_b"),
    "criterion": ("coalesce(j.criterion, 'overall')",),
    "run": ("j.run_id",),
    "status": ("j.parse_status",),
    **{f: (f"j.{f}",) for f in ("judge", "template", "dataset", "category", "protocol", "probe")},
}


def _facet_exprs(field: str) -> tuple[str, ...]:
    if field not in _FACETS:
        raise UserError(f"no values for {field!r}")
    return _FACETS[field]


class Workspace:
    """A judgescope workspace: one DuckDB file holding judgments, labels and everything derived.

    >>> ws = Workspace("judgescope.duckdb")
    >>> ws.ingest("data/demo/llmbar")
    >>> ws.judgments("judge=GPT-4&template=Swap_CoT")
    """

    def __init__(self, path: str | os.PathLike | None = None, read_only: bool = False):
        self.path = store.workspace_path(path)
        self.q = Query(self.path, read_only)
        store.connect(self.path, read_only=read_only)  # open (create, migrate) now: errors surface here
        self.scores = Scores(self.q)  # score and verdict distributions
        self.issues = Issues(self.q, self.path)  # issue discovery and stored issue sets
        self.audit = Audit(self.q, self.path)  # ws.audit(filter): the judge audit; bias, agreement, length
        self.rubrics = Rubrics(self.q, self.path)  # per-criterion breakdowns
        self.judge = Judging(self.q, self.path)  # ws.judge(filter, model=...): run a judge; probes

    @property
    def read_only(self) -> bool:
        return self.q.read_only

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """This process's connection to the workspace (reopened if it was closed)."""
        return self.q.con

    def __repr__(self) -> str:
        counts = self.counts()
        return (
            f"Workspace({str(self.path)!r}: {counts['judgments']:,} judgments, {counts['items']:,} items, "
            f"{counts['labels']:,} labels, {counts['runs']:,} runs)"
        )

    def close(self) -> None:
        store.close(self.path)

    def __getattr__(self, name: str):
        # only reached for names the class does not have: the flat copies of the namespaces were removed
        moved = MOVED.get(name)
        if moved:
            raise AttributeError(f"Workspace.{name} is now ws.{moved} (docs/architecture.md: one notebook API)")
        raise AttributeError(f"'Workspace' object has no attribute {name!r}")

    # ---- ingest -------------------------------------------------------------------------------
    def ingest(
        self,
        path: str | os.PathLike,
        format: str | None = None,
        mapping: Mapping | dict | str | os.PathLike | None = None,
        strict: bool = False,
        dataset: str | None = None,
        aliases: str | os.PathLike | None = None,
    ) -> IngestResult:
        """Import a file or directory (format detected unless given). See docs/ingest.md. Judge and model names
        are resolved to one identity each: `aliases` names a TOML alias file, else judgescope.aliases.toml beside
        the workspace is used when it exists (analysis/identities.py)."""
        if self.read_only:
            raise UserError(f"workspace {self.path} is open read-only")
        if isinstance(path, str) and not path.strip():  # "" would be read as the current folder (an unset variable)
            raise UserError("ingest: the path is empty; give a file or a folder")
        from .identities import for_workspace

        return ingest(
            self.con,
            Path(path),
            format=format,
            mapping=Path(mapping) if isinstance(mapping, os.PathLike) else mapping,
            strict=strict,
            dataset=dataset,
            aliases=for_workspace(self.path, Path(aliases) if aliases is not None else None),
        )

    # ---- queries ------------------------------------------------------------------------------
    def sql(self, sql: str, params: list[Any] | dict | None = None) -> pl.DataFrame:
        """Any read query over the workspace's tables and views (docs/data-model.md), parameters bound."""
        return self.q.frame(sql, params)

    def judgments(
        self,
        filter: Filter | str | dict | None = None,
        limit: int | None = None,
        offset: int = 0,
        columns: str | list[str] | tuple[str, ...] = JUDGMENT_COLUMNS,
    ) -> pl.DataFrame:
        """Judgments matching `filter`, with item, model and dataset columns joined in. `columns`: names of
        judgment_view's columns (a list, or one comma-separated string)."""
        cols = self._columns(columns)
        where, params = as_filter(filter).where("j")
        sql = (
            f"SELECT {', '.join('j.' + ident(c) for c in cols)} FROM judgment_view j WHERE {where} "
            f"ORDER BY {IMPORT_ORDER}"
        )
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params = [*params, _count_arg("limit", MAX_ROWS if limit is None else limit), _count_arg("offset", offset)]
        return self.q.frame(sql, params)

    def _columns(self, columns) -> list[str]:
        wanted = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else [str(c) for c in columns]
        known = {
            r[0]
            for r in self.q.rows(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'judgment_view'"
            )
        }
        bad = [c for c in wanted if c not in known]
        if bad or not wanted:
            raise UserError(
                f"unknown judgment column(s) {', '.join(map(repr, bad)) or '(none given)'}; "
                f"columns are {', '.join(sorted(known))}"
            )
        return wanted

    def count(self, filter: Filter | str | dict | None = None) -> int:
        where, params = as_filter(filter).where("j")
        return self.q.rows(f"SELECT count(*) FROM judgment_view j WHERE {where}", params)[0][0]

    def filtered_counts(self, filter: Filter | str | dict | None = None) -> dict[str, int]:
        """Judgments, items, models, judges and labels within a filter (one query)."""
        from .browse import selection_counts

        return selection_counts(self.q, as_filter(filter))

    def protocol_counts(self, filter: FilterLike = None) -> dict[str, int]:
        """Judgments per protocol (pointwise, pairwise) within a filter."""
        where, params = as_filter(filter).where("j")
        return dict(self.q.rows(f"SELECT j.protocol, count(*) FROM judgment_view j WHERE {where} GROUP BY 1", params))

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
        return dict(self.q.rows(sql))

    def summary(self) -> pl.DataFrame:
        """One row per table with its row count, plus judgments by protocol and parse status."""
        counts = self.counts()
        rows = [{"what": t, "rows": counts[t]} for t in TABLES]
        for protocol, status, n in self.q.rows(
            "SELECT protocol, parse_status, count(*) FROM judgments GROUP BY ALL ORDER BY ALL"
        ):
            rows.append({"what": f"judgments: {protocol}, {status}", "rows": n})
        return pl.DataFrame(rows)

    def runs(self) -> pl.DataFrame:
        return self.q.frame(
            "SELECT run_id, name, source_format, source_path, created_at, n_source_rows, n_ingested, "
            "n_already_present, n_rejected FROM runs ORDER BY created_at"
        )

    def rejects(self, run: str | None = None, limit: int | None = 1000) -> pl.DataFrame:
        """Rejected source rows: where (source, line, column) and why."""
        sql = 'SELECT run_id, source, line, "column", reason, raw FROM rejects'
        params: list[Any] = []
        if run:
            sql += " WHERE run_id = ?"
            params.append(run)
        sql += " ORDER BY source, line"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(_count_arg("limit", limit))
        return self.q.frame(sql, params)

    def reject_reasons(self) -> pl.DataFrame:
        """Rejects grouped by reason (numbers in reasons are kept: they say which value was wrong; the line a
        repeated row repeats is not, so one cause is one group: "same key as line N but different content")."""
        return self.q.frame(
            r"""SELECT regexp_replace(reason, '\bline \d+\b', 'line N', 'g') AS reason, count(*) AS n
                FROM rejects GROUP BY 1 ORDER BY n DESC, reason"""
        )

    def values(self, field: str, filter: Filter | str | dict | None = None) -> list[str]:
        """Distinct values of a filter field (model, judge, criterion, template, dataset, run, category, probe)."""
        flt = as_filter(filter)
        if field == "probe" and not flt.probe:
            flt = dataclasses.replace(flt, probe=("any",))
        where, params = flt.where("j")
        exprs = _facet_exprs(field)
        v = exprs[0] if len(exprs) == 1 else f"unnest([{', '.join(exprs)}])"
        sql = f"SELECT DISTINCT v FROM (SELECT {v} AS v FROM judgment_view j WHERE {where}) WHERE v IS NOT NULL ORDER BY v"
        return [r[0] for r in self.q.rows(sql, params)]

    def facets(self, fields: Sequence[str]) -> dict[str, list[str]]:
        """values(field) of each field over the whole workspace, in one scan (the dashboard's sidebar)."""
        plain, params = Filter().where("j")
        cols: list[str] = []
        args: list[Any] = []
        for field in fields:
            for e in _facet_exprs(field):
                cond = "TRUE" if field == "probe" else plain  # probe variants are values of the probe field only
                cols.append(f"list(DISTINCT {e}) FILTER (WHERE {cond} AND {e} IS NOT NULL)")
                args += [] if field == "probe" else params
        row = self.q.rows(f"SELECT {', '.join(cols)} FROM judgment_view j", args)[0] if cols else ()
        out: dict[str, list[str]] = {}
        k = 0
        for field in fields:
            n = len(_facet_exprs(field))
            out[field] = sorted({v for lst in row[k : k + n] for v in (lst or [])})
            k += n
        return out

    def meta_keys(self) -> list[str]:
        """Metadata facet names found on judgments and items (usable as meta.<name> in filters and groupings)."""
        return self.q.meta_keys()

    def meta_values(self, key: str, limit: int = 200) -> list[str]:
        """The most common values of a metadata facet (judgment or item), for filter widgets."""
        path = json_path(key)
        rows = self.q.rows(
            """
            SELECT v, count(*) AS n FROM (
                SELECT coalesce(json_extract_string(meta, ?), json_extract_string(item_meta, ?)) AS v FROM judgment_view)
            WHERE v IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT ?""",
            [path, path, _count_arg("limit", limit)],
        )
        return [r[0] for r in rows]

    def info(self) -> dict[str, Any]:
        """Everything `judgescope info --json` prints."""
        return {
            "workspace": str(self.path),
            "schema_version": store.schema_version(self.con),
            "counts": self.counts(),
            "runs": self.runs().with_columns(pl.col("created_at").cast(pl.String)).to_dicts(),
            "judges": self.q.frame(
                "SELECT judge, protocol, count(*) AS judgments FROM judgments GROUP BY ALL ORDER BY judge, protocol"
            ).to_dicts(),
            "models": self.q.frame(
                "SELECT model, count(*) AS responses FROM responses WHERE model IS NOT NULL "
                "GROUP BY model ORDER BY model"
            ).to_dicts(),
            "criteria": self.q.frame(
                "SELECT coalesce(criterion, 'overall') AS criterion, count(*) AS judgments "
                "FROM judgments GROUP BY ALL ORDER BY judgments DESC, criterion LIMIT 50"
            ).to_dicts(),
            "n_criteria": self.q.rows("SELECT count(DISTINCT criterion) FROM judgments")[0][0],
            "parse_status": dict(self.q.rows("SELECT parse_status, count(*) FROM judgments GROUP BY 1 ORDER BY 1")),
            "rejects_by_reason": self.reject_reasons().to_dicts(),
        }

    # ---- instances, comparisons, reports, sharing ----------------------------------------------------
    def instance(self, judgment_id: str, issue_set: str | None = None) -> dict[str, Any]:
        """One judgment as the judge saw it: item, response(s) in the order shown with the names the critique
        uses, the swapped judgment and its critique, labels with whether the judge agrees, the item's other
        judgments, and the critique's segments with their issues."""
        from .instances import instance

        return instance(self.q, judgment_id, issue_set)

    def judgments_page(
        self,
        filter: FilterLike = None,
        sort: str = "source",
        desc: bool = False,
        limit: int = 50,
        offset: int = 0,
        issue_set: str | None = None,
    ) -> pl.DataFrame:
        """One page of judgments for reading: previews of prompt and critique, issue titles, sorted in DuckDB
        across the whole selection (analysis/browse.py)."""
        from .browse import page

        return page(self.q, filter, sort, desc, limit, offset, issue_set)

    def compare_instances(
        self, a: str, b: str, by: str = "model", filter: FilterLike = None, limit: int = 50
    ) -> pl.DataFrame:
        """Items where a and b got the most different results: mean normalised scores, or (pairwise, by model)
        the share of the item's comparisons each won (instances.compare_instances)."""
        from .instances import compare_instances

        return compare_instances(self.q, a, b, by, filter, limit)

    def report(
        self,
        format: str = "md",
        path: str | os.PathLike | None = None,
        issue_set: str | None = None,
        filter: FilterLike = None,
        by: str = "model",
        top: int | None = 15,
        groups: int | None = 12,
    ) -> str:
        """The issue summary (titles, prevalence per group with intervals, lift, examples) and the judge audit, as
        md, html (one offline file), csv or json. `top` issues and `groups` per issue (None: all); the report says
        what it left out."""
        from .report import render

        text = render(self.q, format, issue_set, as_filter(filter), workspace=self.path, by=by, top=top, groups=groups)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def bundle(
        self,
        directory: str | os.PathLike,
        filter: FilterLike = None,
        issue_set: str | None = None,
        by: str = "model",
        examples: int = 20,
    ) -> Path:
        """A static, offline copy of the view (HTML files, no server, no workspace) for a colleague: the issue
        list, each issue's examples and instances, the audit and each instance page (analysis/bundle.py)."""
        from .bundle import write_bundle

        return write_bundle(self.q, self.path, Path(directory), as_filter(filter), issue_set, by=by, examples=examples)

    def dashboard(self, port: int | None = None):
        """Serve the dashboard for this workspace on 127.0.0.1 in the background. In Jupyter the returned
        object shows the app inline; it has .url and .stop(). While it runs this Workspace is read-only
        (DuckDB lets one process write, or many read)."""
        from .serve import DashboardServer

        was_read_only = self.read_only
        store.close(self.path)
        self.q.read_only = True
        server = DashboardServer(self.path, port=port)

        def restore() -> None:
            store.close(self.path)
            self.q.read_only = was_read_only

        server.on_stop = restore
        return server


def _count_arg(name: str, value) -> int:
    """A row count or offset from a caller: a whole number from 0 to MAX_ROWS, else a one-line error."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a whole number, not {value!r}") from None
    if n != value and not isinstance(value, str) or not 0 <= n <= MAX_ROWS:
        raise UserError(f"{name} must be a whole number from 0 to {MAX_ROWS:,}, not {value!r}")
    return n
