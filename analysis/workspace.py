"""`Workspace`: the notebook API over one DuckDB workspace file."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import duckdb
import plotly.graph_objects as go
import polars as pl

from . import plots, store
from .errors import UserError
from .filters import Filter, as_filter
from .ingest import IngestResult, ingest
from .ingest.mapping import Mapping
from .query import Query
from .sql import ident, json_path

TABLES = ("runs", "items", "responses", "judgments", "labels", "criteria", "rejects")
JUDGMENT_COLUMNS = ("judgment_id", "run_id", "dataset", "item_id", "judge", "protocol", "criterion", "model", "model_a",
                    "model_b", "response_id", "response_a", "response_b", "shown_first", "verdict", "score", "scale_min",
                    "scale_max", "score_norm", "critique", "raw_output", "parse_status", "template", "sample", "probe",
                    "category", "source_key", "source_line", "meta", "item_meta")
MAX_ROWS = 1_000_000_000  # a larger limit or offset is a mistake, not a request


class Workspace:
    """A judgescope workspace: one DuckDB file holding judgments, labels and everything derived.

    >>> ws = Workspace("judgescope.duckdb")
    >>> ws.ingest("data/demo/llmbar")
    >>> ws.judgments("judge=GPT-4&template=Swap_CoT")
    """

    def __init__(self, path: str | os.PathLike | None = None, read_only: bool = False):
        self.path = Path(path or os.environ.get("JUDGESCOPE_WORKSPACE", store.DEFAULT_WORKSPACE))
        self.q = Query(self.path, read_only)
        store.connect(self.path, read_only=read_only)  # open (create, migrate) now: errors surface here

    @property
    def read_only(self) -> bool:
        return self.q.read_only

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """This process's connection to the workspace (reopened if it was closed)."""
        return self.q.con

    def __repr__(self) -> str:
        counts = self._counts()
        return (f"Workspace({str(self.path)!r}: {counts['judgments']:,} judgments, {counts['items']:,} items, "
                f"{counts['labels']:,} labels, {counts['runs']:,} runs)")

    def close(self) -> None:
        store.close(self.path)

    # ---- ingest -------------------------------------------------------------------------------
    def ingest(self, path: str | os.PathLike, format: str | None = None,
               mapping: Mapping | dict | str | os.PathLike | None = None, strict: bool = False,
               dataset: str | None = None, aliases: str | os.PathLike | None = None) -> IngestResult:
        """Import a file or directory (format detected unless given). See docs/ingest.md. Judge and model names
        are resolved to one identity each: `aliases` names a TOML alias file, else judgescope.aliases.toml beside
        the workspace is used when it exists (analysis/identities.py)."""
        if self.read_only:
            raise UserError(f"workspace {self.path} is open read-only")
        from .identities import for_workspace

        return ingest(self.con, path, format=format, mapping=mapping, strict=strict, dataset=dataset,
                      aliases=for_workspace(self.path, aliases))

    # ---- queries ------------------------------------------------------------------------------
    def _sql(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        return self.q.frame(sql, params)

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return self.q.rows(sql, params)

    def judgments(self, filter: Filter | str | dict | None = None, limit: int | None = None, offset: int = 0,
                  columns: str | list[str] | tuple[str, ...] = JUDGMENT_COLUMNS) -> pl.DataFrame:
        """Judgments matching `filter`, with item, model and dataset columns joined in. `columns`: names of
        judgment_view's columns (a list, or one comma-separated string)."""
        cols = self._columns(columns)
        where, params = as_filter(filter).where("j")
        sql = (f"SELECT {', '.join('j.' + ident(c) for c in cols)} FROM judgment_view j WHERE {where} "
               f"ORDER BY j.run_id, j.source_line, j.judgment_id")
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params = [*params, _count_arg("limit", MAX_ROWS if limit is None else limit), _count_arg("offset", offset)]
        return self._sql(sql, params)

    def _columns(self, columns) -> list[str]:
        wanted = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else [str(c) for c in columns]
        known = {r[0] for r in self._rows("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = 'judgment_view'")}
        bad = [c for c in wanted if c not in known]
        if bad or not wanted:
            raise UserError(f"unknown judgment column(s) {', '.join(map(repr, bad)) or '(none given)'}; "
                            f"columns are {', '.join(sorted(known))}")
        return wanted

    def count(self, filter: Filter | str | dict | None = None) -> int:
        where, params = as_filter(filter).where("j")
        return self._rows(f"SELECT count(*) FROM judgment_view j WHERE {where}", params)[0][0]

    def filtered_counts(self, filter: Filter | str | dict | None = None) -> dict[str, int]:
        """Judgments, items, models, judges and labels within a filter (one query)."""
        where, params = as_filter(filter).where("j")
        row = self._rows(
            f"""
            WITH f AS (SELECT j.item_id, j.judge, j.model, j.model_a, j.model_b FROM judgment_view j WHERE {where})
            SELECT (SELECT count(*) FROM f), (SELECT count(DISTINCT item_id) FROM f),
                   (SELECT count(DISTINCT m) FROM (SELECT unnest([model, model_a, model_b]) AS m FROM f)),
                   (SELECT count(DISTINCT judge) FROM f),
                   (SELECT count(*) FROM labels WHERE item_id IN (SELECT item_id FROM f))
            """, params)[0]
        return dict(zip(("judgments", "items", "models", "judges", "labels"), row))

    def _counts(self) -> dict[str, int]:
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
        return dict(self._rows(sql))

    def summary(self) -> pl.DataFrame:
        """One row per table with its row count, plus judgments by protocol and parse status."""
        counts = self._counts()
        rows = [{"what": t, "rows": counts[t]} for t in TABLES]
        for protocol, status, n in self._rows(
                "SELECT protocol, parse_status, count(*) FROM judgments GROUP BY ALL ORDER BY ALL"):
            rows.append({"what": f"judgments: {protocol}, {status}", "rows": n})
        return pl.DataFrame(rows)

    def runs(self) -> pl.DataFrame:
        return self._sql("SELECT run_id, name, source_format, source_path, created_at, n_source_rows, n_ingested, "
                         "n_already_present, n_rejected FROM runs ORDER BY created_at")

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
        return self._sql(sql, params)

    def reject_reasons(self) -> pl.DataFrame:
        """Rejects grouped by reason (numbers in reasons are kept: they say which value was wrong)."""
        return self._sql("SELECT reason, count(*) AS n FROM rejects GROUP BY reason ORDER BY n DESC, reason")

    def values(self, field: str, filter: Filter | str | dict | None = None) -> list[str]:
        """Distinct values of a filter field (model, judge, criterion, template, dataset, run, category, probe)."""
        flt = as_filter(filter)
        if field == "probe" and not flt.probe:
            flt = dataclasses.replace(flt, probe=("any",))
        where, params = flt.where("j")
        if field == "model":
            sql = (f"SELECT DISTINCT m FROM (SELECT unnest([j.model, j.model_a, j.model_b]) AS m FROM judgment_view j "
                   f"WHERE {where}) WHERE m IS NOT NULL ORDER BY m")
        else:
            expr = {"criterion": "coalesce(j.criterion, 'overall')", "run": "j.run_id", "status": "j.parse_status"}.get(
                field, f"j.{field}")
            if field not in ("judge", "criterion", "template", "dataset", "run", "category", "protocol", "status", "probe"):
                raise UserError(f"no values for {field!r}")
            sql = f"SELECT DISTINCT {expr} AS v FROM judgment_view j WHERE {where} AND {expr} IS NOT NULL ORDER BY v"
        return [r[0] for r in self._rows(sql, params)]

    def meta_keys(self) -> list[str]:
        """Metadata facet names found on judgments and items (usable as meta.<name> in filters and groupings)."""
        return self.q.meta_keys()

    def meta_values(self, key: str, limit: int = 200) -> list[str]:
        """The most common values of a metadata facet (judgment or item), for filter widgets."""
        path = json_path(key)
        rows = self._rows(f"""
            SELECT v, count(*) AS n FROM (
                SELECT coalesce(json_extract_string(meta, ?), json_extract_string(item_meta, ?)) AS v FROM judgment_view)
            WHERE v IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT ?""", [path, path, _count_arg("limit", limit)])
        return [r[0] for r in rows]

    def info(self) -> dict[str, Any]:
        """Everything `judgescope info --json` prints."""
        return {
            "workspace": str(self.path),
            "schema_version": store.schema_version(self.con),
            "counts": self._counts(),
            "runs": self.runs().with_columns(pl.col("created_at").cast(pl.String)).to_dicts(),
            "judges": self._sql("SELECT judge, protocol, count(*) AS judgments FROM judgments GROUP BY ALL "
                                "ORDER BY judge, protocol").to_dicts(),
            "models": self._sql("SELECT model, count(*) AS responses FROM responses WHERE model IS NOT NULL "
                                "GROUP BY model ORDER BY model").to_dicts(),
            "criteria": self._sql("SELECT coalesce(criterion, 'overall') AS criterion, count(*) AS judgments "
                                  "FROM judgments GROUP BY ALL ORDER BY judgments DESC, criterion LIMIT 50").to_dicts(),
            "n_criteria": self._rows("SELECT count(DISTINCT criterion) FROM judgments")[0][0],
            "parse_status": dict(self._rows(
                "SELECT parse_status, count(*) FROM judgments GROUP BY 1 ORDER BY 1")),
            "rejects_by_reason": self.reject_reasons().to_dicts(),
        }

    # ---- distributions ------------------------------------------------------------------------
    def score_stats(self, by: str = "model", filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Per group: judgments, scored, unparsed, mean raw score, mean normalised score."""
        g = self.q.group(by)
        group = g.scalar
        where, params = as_filter(filter).where("j")
        return self._sql(
            f"""
            SELECT {group} AS {g.alias}, count(*) AS judgments, count(j.score) AS scored,
                   count(*) FILTER (WHERE j.parse_status <> 'ok') AS not_parsed,
                   avg(j.score) AS mean_score, avg(j.score_norm) AS mean_score_norm,
                   min(j.scale_min) AS scale_min, max(j.scale_max) AS scale_max
            FROM judgment_view j
            WHERE {where} AND j.protocol = 'pointwise' AND {group} IS NOT NULL
            GROUP BY 1 ORDER BY mean_score_norm DESC NULLS LAST
            """, [*g.params, *params, *g.params])

    def score_distribution_table(self, by: str = "model", filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Counts of scores per group and score value (one shared scale) or per tenth of the normalised score."""
        g = self.q.group(by)
        where, params = as_filter(filter).where("j")
        base = (f"WITH d AS (SELECT {g.scalar} AS grp, j.score, j.score_norm, j.scale_min, j.scale_max "
                f"FROM judgment_view j WHERE {where} AND j.score IS NOT NULL) ")
        params = [*g.params, *params]
        scales = self._rows(base + "SELECT DISTINCT scale_min, scale_max FROM d WHERE grp IS NOT NULL", params)
        one_scale = len(scales) == 1 and None not in scales[0] and scales[0][1] - scales[0][0] <= 20
        if one_scale:
            bucket, label, mean = "score", "CAST(score AS VARCHAR)", "avg(score)"
        else:
            bucket = "least(floor(score_norm * 10), 9)"
            label = f"printf('%.1f–%.1f', {bucket} / 10, {bucket} / 10 + 0.1)"
            mean = "avg(score_norm)"
        frame = self._sql(base + f"""
            SELECT grp AS "group", {bucket} AS bucket, any_value({label}) AS label, count(*) AS n
            FROM d WHERE grp IS NOT NULL GROUP BY 1, 2""", params)
        means = self._sql(base + f'SELECT grp AS "group", count(*) AS group_n, {mean} AS group_mean FROM d '
                                 f"WHERE grp IS NOT NULL GROUP BY 1", params)
        if frame.height == 0:
            return frame
        frame = frame.join(means, on="group").with_columns((pl.col("n") / pl.col("group_n")).alias("share"))
        frame = frame.with_columns(pl.col("label").str.replace(r"\.0$", ""))
        return frame.with_columns(pl.lit(one_scale).alias("raw_scale"))

    def score_distribution(self, by: str = "model", filter: Filter | str | dict | None = None) -> go.Figure:
        """Heatmap of score distributions per model / judge / criterion / template / dataset."""
        dist = self.score_distribution_table(by, filter)
        raw = dist.height > 0 and dist["raw_scale"][0]
        x_title = "score" if raw else "normalised score (scales differ)"
        n = int(dist.select(pl.col("n").sum()).item()) if dist.height else 0
        return plots.score_heatmap(dist, by, x_title, f"Score distribution by {by} ({n:,} scored judgments)")

    def verdict_outcomes(self, by: str = "judge", filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Pairwise outcomes per group: first-shown won, second-shown won, tie, order unknown, no verdict."""
        g = self.q.group(by)
        where, params = as_filter(filter).where("j")
        frame = self._sql(
            f"""
            WITH d AS (SELECT unnest({g.values}) AS grp, j.verdict, j.shown_first FROM judgment_view j
                       WHERE {where} AND j.protocol = 'pairwise')
            SELECT grp AS "group",
                CASE WHEN verdict IS NULL THEN 'no verdict'
                     WHEN verdict = 'tie' THEN 'tie'
                     WHEN shown_first IS NULL THEN 'order unknown'
                     WHEN verdict = shown_first THEN 'first shown won'
                     ELSE 'second shown won' END AS outcome,
                count(*) AS n
            FROM d WHERE grp IS NOT NULL GROUP BY ALL
            """, [*g.params, *params])
        if frame.height == 0:
            return frame
        return frame.with_columns((pl.col("n") / pl.col("n").sum().over("group")).alias("share")).sort("group", "outcome")

    def verdict_distribution(self, by: str = "judge", filter: Filter | str | dict | None = None) -> go.Figure:
        frame = self.verdict_outcomes(by, filter)
        n = int(frame["n"].sum()) if frame.height else 0
        return plots.verdict_bars(frame, by, f"Pairwise verdicts by {by}, by the position shown ({n:,} judgments)")


    # ---- issue discovery (docs/issues.md) ------------------------------------------------------------
    def discover_issues(self, filter: Filter | str | dict | None = None, *, seed: int = 0,
                        name_with: str | None = None, taxonomy: list[dict] | None = None, name: str | None = None,
                        **options):
        """Group the critique sentences `filter` selects into named issues (and strengths) under categories,
        stored as an issue set. Options are the pipeline stages' fields (docs/issues.md), e.g. per_cluster=60,
        embedding_model=..., lexicon="my.toml". taxonomy: known issues as [{"title", "description"}]; segments
        close to one join it, the rest is still clustered. name_with: an OpenAI-compatible model names them."""
        from .issues import IssueSet, Pipeline, discover

        pipeline = Pipeline.make(seed=seed, **options)
        if taxonomy is not None:
            taxonomy = [t if isinstance(t, dict) else {"title": str(t)} for t in taxonomy]
            if any(not t.get("title") for t in taxonomy):
                raise UserError("every known issue needs a title")
        set_id = discover(self.q, as_filter(filter), pipeline, taxonomy=taxonomy, name_with=name_with, name=name)
        return IssueSet(self.q, set_id)

    # ---- running judges (docs/judging.md) ----------------------------------------------------------
    def judge(self, filter: Filter | str | dict | None = None, *, model: str, template: str = "rubric",
              base_url: str | None = None, api_key: str | None = None, criteria: list[str] | dict[str, str] | None = None,
              per_criterion: bool = False, both_orders: bool = True, pairs: str = "auto", baseline: str | None = None,
              reference: str = "auto", samples: int = 1, judge_name: str | None = None, limit: int | None = None,
              name: str | None = None, **options):
        """Judge the responses (pointwise templates) or pairs (pairwise templates) `filter` selects with `model`
        at an OpenAI-compatible endpoint (base_url / api_key, else OPENAI_BASE_URL / OPENAI_API_KEY); the
        judgments land in this workspace. options: concurrency, timeout, max_tries, backoff, temperature,
        max_tokens, json_mode, logprobs, price_in, price_out, budget, progress (see CallOptions)."""
        from .judge import runner

        return runner.judge(self, as_filter(filter), *self._judge_setup(model, template, base_url, api_key, criteria,
                                                                        per_criterion, both_orders, pairs, baseline,
                                                                        reference, samples, judge_name, limit, options),
                            name=name)

    def probe(self, filter: Filter | str | dict | None = None, *, model: str, probes: str | list[str] = "all",
              template: str | None = None, base_url: str | None = None, api_key: str | None = None,
              judge_name: str | None = None, limit: int | None = None, name: str | None = None, **options):
        """Bias probes: re-judge the judgments `filter` selects with `model` (the baseline) and controlled
        variants of them (swap, verbosity, authority, bandwagon, reflection, one-token), stored with `probe`
        and `parent_judgment_id`. The template defaults to `pairwise` for pairwise judgments, else `rubric`."""
        from .judge import runner
        from .judge.probes import parse_probes

        flt = as_filter(filter)
        if template is None:
            where, params = flt.where("j")
            protos = [r[0] for r in self.con.execute(
                f"SELECT protocol, count(*) FROM judgment_view j WHERE {where} AND probe IS NULL GROUP BY 1 ORDER BY 2 DESC",
                params).fetchall()]
            template = "pairwise" if protos[:1] == ["pairwise"] else "rubric"
        setup = self._judge_setup(model, template, base_url, api_key, None, False, True, "auto", None, "auto", 1,
                                  judge_name, limit, options)
        return runner.probe(self, flt, *setup, parse_probes(probes), name=name)

    def _judge_setup(self, model, template, base_url, api_key, criteria, per_criterion, both_orders, pairs, baseline,
                     reference, samples, judge_name, limit, options):
        from .judge import CallOptions, Endpoint, JudgeSpec, load_template

        if self.read_only:
            raise UserError(f"judging writes to the workspace; {self.path} is open read-only")
        known = {f.name for f in dataclasses.fields(CallOptions)}
        bad = sorted(set(options) - known)
        if bad:
            raise UserError(f"unknown judge option(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
        endpoint = Endpoint(model=model, base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
                            api_key=api_key or os.environ.get("OPENAI_API_KEY"))
        if isinstance(criteria, (list, tuple)):
            criteria = {c: "" for c in criteria}
        spec = JudgeSpec(load_template(template), criteria=criteria or None, per_criterion=per_criterion,
                         both_orders=both_orders, pairs=pairs, baseline=baseline, reference=reference, samples=samples,
                         judge_name=judge_name, limit=limit)
        return endpoint, spec, CallOptions(**options)

    def judge_failures(self, run_id: str | None = None) -> pl.DataFrame:
        """Requests judge runs gave up on (retried on a re-run)."""
        return self._sql("SELECT run_id, request_hash, model, error, attempts, created_at FROM llm_failures "
                         + ("WHERE run_id = ? " if run_id else "") + "ORDER BY created_at", [run_id] if run_id else None)

    def issue_set(self, issue_set_id: str | None = None):
        """A stored issue set (the newest when no id is given)."""
        from .issues import IssueSet

        if issue_set_id is None:
            issue_set_id = self.q.newest_issue_set()
            if issue_set_id is None:
                raise UserError(f"no issue set in {self.path}; run `judgescope issues` or ws.discover_issues() first")
        return IssueSet(self.q, issue_set_id)

    def issue_sets(self) -> pl.DataFrame:
        from .issues import list_sets

        return list_sets(self.q)

    # ---- instances, comparisons, reports, the dashboard ---------------------------------------------
    def instance(self, judgment_id: str, issue_set: str | None = None) -> dict[str, Any]:
        """One judgment in full: item, response(s), labels, the item's other judgments, the swapped judgment,
        and the critique's segments with their issues."""
        from .instances import instance

        return instance(self, judgment_id, issue_set)

    def compare(self, a: str, b: str, by: str = "model", issue_set: str | None = None) -> pl.DataFrame:
        """Issue prevalence of a versus b (two models or judges), the difference and its 95% interval."""
        from .instances import compare_issues

        return compare_issues(self, a, b, by, issue_set)

    def compare_instances(self, a: str, b: str, by: str = "model", filter: Filter | str | dict | None = None,
                          limit: int = 50) -> pl.DataFrame:
        """Items where a and b got the most different mean normalised scores."""
        from .instances import compare_instances

        return compare_instances(self, a, b, by, as_filter(filter), limit)

    def report(self, format: str = "md", path: str | os.PathLike | None = None, issue_set: str | None = None,
               filter: Filter | str | dict | None = None, by: str = "model") -> str:
        """The issue summary (titles, keywords, prevalence per model with intervals, severity, three trimmed
        examples each) and the judge audit, as md, html (one offline file), csv or json."""
        from .report import render

        text = render(self, format, issue_set, as_filter(filter), by=by)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def dashboard(self, port: int | None = None):
        """Serve the dashboard for this workspace on 127.0.0.1 in the background. In Jupyter the returned
        object shows the app inline; it has .url and .stop(). While it runs this Workspace is read-only
        (DuckDB lets one process write, or many read)."""
        from .serve import DashboardServer

        was_read_only = self.read_only
        store.close(self.path)
        self.q.read_only = True
        server = DashboardServer(self.path, port=port)
        server.on_stop = lambda: (store.close(self.path), setattr(self.q, "read_only", was_read_only))
        return server

    # ---- judge reliability (docs/reliability.md) -------------------------------------------------
    def audit(self, filter: Filter | str | dict | None = None, by: str = "judge",
              family_map: dict[str, str] | None = None) -> pl.DataFrame:
        """Every reliability metric per judge: judge, metric, value, ci_low, ci_high, n, note.

        by="judge_template" audits each judge and template (strategy) separately."""
        from .reliability import run_audit

        from .identities import for_workspace

        return run_audit(self.con, as_filter(filter), by=by, family_map=family_map,
                         identities=for_workspace(self.path))

    def bias_heatmap(self, filter: Filter | str | dict | None = None, audit: pl.DataFrame | None = None,
                     by: str = "judge") -> go.Figure:
        """Judges × bias metrics, coloured by the deviation from an unbiased judge."""
        from .reliability import BIAS_METRICS

        frame = audit if audit is not None else self.audit(filter, by=by)
        return plots.bias_heatmap(frame, BIAS_METRICS, "Judge bias: deviation from an unbiased judge")

    def agreement(self, judge: str | None = None, against: str = "human",
                  filter: Filter | str | dict | None = None, audit: pl.DataFrame | None = None) -> pl.DataFrame:
        """Agreement rows of the audit: against='human' (majority, each annotator, the human ceiling) or 'gold'."""
        frame = audit if audit is not None else self.audit(filter)
        if against == "human":
            keep = pl.col("metric").str.contains("human") | pl.col("metric").str.starts_with("agreement_with:")
        elif against == "gold":
            keep = pl.col("metric").is_in(["agreement_gold", "kappa_gold"])
        else:
            raise UserError("against must be 'human' or 'gold'")
        frame = frame.filter(keep)
        if judge is not None:
            frame = frame.filter(pl.col("judge").is_in([judge, "(humans)"]))
        return frame

    def agreement_chart(self, against: str = "human", filter: Filter | str | dict | None = None,
                        audit: pl.DataFrame | None = None) -> go.Figure:
        """Bars of each judge's agreement with the human majority (or gold), with the human ceiling."""
        frame = self.agreement(against=against, filter=filter, audit=audit)
        metric = "agreement_human_majority" if against == "human" else "agreement_gold"
        bars = frame.filter((pl.col("metric") == metric) & pl.col("value").is_not_null())
        ceiling = frame.filter(pl.col("metric") == "agreement_human_human")["value"]
        who = "the human majority" if against == "human" else "the gold labels"
        return plots.agreement_bars(bars, ceiling[0] if len(ceiling) else None, f"Agreement with {who}")

    def agreement_matrix(self, filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Judge × judge agreement on the same pairs in the same order, or the same scored responses."""
        from .reliability.agreement import agreement_matrix

        with self._audit_context(filter) as ctx:
            return agreement_matrix(ctx)

    def agreement_heatmap(self, filter: Filter | str | dict | None = None) -> go.Figure:
        frame = self.agreement_matrix(filter)
        return plots.matrix_heatmap(frame, "judge_a", "judge_b", "agreement", "Judge × judge agreement",
                                    symmetric=True, value_label="agreement")

    def model_judge_heatmap(self, filter: Filter | str | dict | None = None) -> go.Figure:
        """Mean normalised score of each model by each judge (self-preference shows on the diagonal of families)."""
        where, params = as_filter(filter).where("j")
        frame = self._sql(f"""
            SELECT j.model, j.judge, avg(j.score_norm) AS mean_score, count(*) AS n FROM judgment_view j
            WHERE {where} AND j.protocol = 'pointwise' AND j.score_norm IS NOT NULL AND j.model IS NOT NULL
            GROUP BY 1, 2""", params)
        return plots.matrix_heatmap(frame, "model", "judge", "mean_score", "Mean normalised score: model × judge",
                                    value_label="mean score")

    def criteria_breakdown(self, by: str = "model", filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Mean normalised score per criterion × model (or judge), with a normal 95% interval."""
        from .reliability.rubrics import criteria_breakdown

        if by not in ("model", "judge"):
            raise UserError("criteria_breakdown: by must be 'model' or 'judge'")
        with self._audit_context(filter) as ctx:
            return criteria_breakdown(ctx, by)

    def criteria_heatmap(self, by: str = "model", filter: Filter | str | dict | None = None) -> go.Figure:
        frame = self.criteria_breakdown(by, filter)
        return plots.matrix_heatmap(frame, "criterion", by, "mean_score", f"Mean normalised score: criterion × {by}",
                                    value_label="mean score")

    def criterion_correlation(self, filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Spearman between criteria over the same responses; `redundant` marks |rho| ≥ 0.9."""
        from .reliability.rubrics import criterion_correlation

        with self._audit_context(filter) as ctx:
            return criterion_correlation(ctx)

    def criterion_correlation_heatmap(self, filter: Filter | str | dict | None = None) -> go.Figure:
        frame = self.criterion_correlation(filter)
        return plots.matrix_heatmap(frame, "criterion_a", "criterion_b", "spearman", "Criterion × criterion Spearman",
                                    zmin=-1, zmax=1, colorscale="RdBu", symmetric=True, value_label="Spearman")

    def criterion_offsets(self, filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Per judge and criterion: mean judge score minus human score (normalised)."""
        from .reliability.rubrics import criterion_offsets

        with self._audit_context(filter) as ctx:
            return criterion_offsets(ctx)

    def length_score_chart(self, filter: Filter | str | dict | None = None) -> go.Figure:
        """Score against response length: a sample of judgments plus each judge's mean by length decile."""
        from .reliability.length import length_score_points

        with self._audit_context(filter) as ctx:
            sample, bins = length_score_points(ctx)
        return plots.length_scatter(sample, bins, "Score versus response length")

    def length_correlation(self, by: str = "model", filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Spearman of score with response length per model (or judge), with Fisher-z intervals."""
        from .reliability.length import length_correlation

        if by not in ("model", "judge"):
            raise UserError("length_correlation: by must be 'model' or 'judge'")
        with self._audit_context(filter) as ctx:
            return length_correlation(ctx, by)

    def _audit_context(self, filter):
        from .reliability import AuditContext

        return AuditContext(self.con, as_filter(filter))




def _count_arg(name: str, value) -> int:
    """A row count or offset from a caller: a whole number from 0 to MAX_ROWS, else a one-line error."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a whole number, not {value!r}") from None
    if n != value and not isinstance(value, str) or not 0 <= n <= MAX_ROWS:
        raise UserError(f"{name} must be a whole number from 0 to {MAX_ROWS:,}, not {value!r}")
    return n
