"""The workspace's judge-reliability namespaces: `ws.audit` (callable: every metric per judge; plus the bias
heatmap, agreement with humans and between judges, length) and `ws.rubrics` (per-criterion breakdowns).
Each method reads one selection through a private cursor (AuditContext) and returns a polars frame or a plotly
figure; the metric names, ideal values and labels come from the registry in metrics.py."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from .. import plots
from ..errors import UserError
from ..filters import Filter, as_filter
from ..query import Query
from . import saved
from .metrics import BIAS_METRICS
from .position import CONFOUNDED, CONFOUNDED_CAVEAT

FilterLike = Filter | str | dict | None
AUDIT_BY = ("judge", "judge_template")
JUDGE_TABLES = ("matrix", "length_sample", "length_bins", "length_by_model")  # Audit.judge_tables
RUBRIC_TABLES = ("by_model", "by_judge", "correlation", "offsets")  # Rubrics.summary


class Audit:
    """`ws.audit(filter)` — every reliability metric per judge: judge, metric, value, ci_low, ci_high, n, note.
    by="judge_template" audits each judge and template (strategy) separately (docs/reliability.md)."""

    CACHE_SIZE = 16

    def __init__(self, q: Query, path: Path):
        self.q = q
        self.path = path
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def __call__(
        self, filter: FilterLike = None, by: str = "judge", family_map: dict[str, str] | None = None
    ) -> pl.DataFrame:
        """The audit of a selection, computed once per workspace state (imports, judge runs), selection, grouping,
        family map and alias file: every chart, flag and report of the same selection reads the same frame, in
        this process and, kept beside the workspace (saved.py), in every later one."""
        from ..identities import for_workspace

        if by not in AUDIT_BY:
            raise UserError(f"audit: by must be one of {', '.join(AUDIT_BY)}, not {by!r}")
        flt = as_filter(filter)
        aliases = saved.alias_digest(self.path)
        key = saved.key(self.q, flt.to_query(), by, family_map, aliases)
        frame = self._recall(key)
        if frame is not None:
            return frame
        frame = saved.load(self.path, key)
        if frame is None:
            from .audit import narrowed, run_audit  # scipy and the metrics: loaded only when something is computed

            identities = for_workspace(self.path)
            wider = self._kept_wider(flt, by, family_map, aliases)
            if wider is not None:
                frame = narrowed(self.q, flt, *wider, family_map=family_map, identities=identities)
            else:
                frame = run_audit(self.q, flt, by=by, family_map=family_map, identities=identities)
            saved.save(self.path, key, frame)
        return self._remember(key, frame)

    def _recall(self, key: str):
        """What this process kept under `key` (an audit frame, or judge_tables' dict), or None."""
        with self._lock:
            if key not in self._cache:
                return None
            self._cache.move_to_end(key)
            return self._cache[key]

    def _remember(self, key: str, value):
        """Keep `value` under `key`, the least recently used going first past CACHE_SIZE; returns it."""
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def _kept_wider(
        self, flt: Filter, by: str, family_map: dict[str, str] | None, aliases: str | None
    ) -> tuple[Filter, pl.DataFrame] | None:
        """A kept audit (here or on disk) of a selection holding `flt`'s, when auditing by judge: the same selection
        without its judge condition, else the whole workspace (which the dashboard prepares). audit.narrowed reads
        from it the rows of the judges `flt` leaves as they were. None when neither is kept: nothing is computed here."""
        if by != "judge":
            return None
        wider = [dataclasses.replace(flt, judge=())] if flt.judge else []
        for w in [*wider, Filter()]:
            if w == flt:
                continue
            key = saved.key(self.q, w.to_query(), by, family_map, aliases)
            frame = self._recall(key)
            frame = frame if frame is not None else saved.load(self.path, key)
            if frame is not None:
                return w, frame
        return None

    def context(self, filter: FilterLike = None, by: str = "judge"):
        from .context import AuditContext

        return AuditContext(self.q, as_filter(filter), by)

    def bias_heatmap(
        self, filter: FilterLike = None, audit: pl.DataFrame | None = None, by: str = "judge"
    ) -> go.Figure:
        """Judges × bias metrics, coloured by the deviation from an unbiased judge; a cell's keys are
        (judge, metric) for metrics.evidence()."""
        frame = audit if audit is not None else self(filter, by=by)
        return plots.bias_heatmap(frame, BIAS_METRICS, "Judge bias: deviation from an unbiased judge")

    def flags(self, filter: FilterLike = None, audit: pl.DataFrame | None = None) -> pl.DataFrame:
        """The bias findings: judge × bias metric cells whose 95% interval excludes the unbiased value, largest
        deviation first (judge, metric, label, value, ci_low, ci_high, ideal, deviation, n, caveat: what else the
        value may measure, e.g. that every pair was shown in one order, None when nothing)."""
        frame = audit if audit is not None else self(filter)
        rows = []
        for r in frame.filter(
            pl.col("metric").is_in(list(BIAS_METRICS)) & pl.col("value").is_not_null() & (pl.col("judge") != "(humans)")
        ).iter_rows(named=True):
            ideal, label = BIAS_METRICS[r["metric"]]
            lo, hi = r["ci_low"], r["ci_high"]
            if lo is None or hi is None or lo <= ideal <= hi:
                continue
            rows.append(
                {
                    **{k: r[k] for k in ("judge", "metric", "value", "ci_low", "ci_high", "n")},
                    "label": label,
                    "ideal": ideal,
                    "deviation": r["value"] - ideal,
                    "caveat": _caveat(r["note"]),
                }
            )
        if not rows:
            return pl.DataFrame(
                schema={
                    "judge": pl.String,
                    "metric": pl.String,
                    "value": pl.Float64,
                    "ci_low": pl.Float64,
                    "ci_high": pl.Float64,
                    "n": pl.Int64,
                    "label": pl.String,
                    "ideal": pl.Float64,
                    "deviation": pl.Float64,
                    "caveat": pl.String,
                }
            )
        return pl.DataFrame(rows).sort(pl.col("deviation").abs(), descending=True)

    # ---- agreement ------------------------------------------------------------------------------
    def agreement(
        self,
        judge: str | None = None,
        against: str = "human",
        filter: FilterLike = None,
        audit: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Agreement rows of the audit: against='human' (majority, each annotator, the human ceiling) or 'gold'."""
        frame = audit if audit is not None else self(filter)
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

    def agreement_chart(
        self, against: str = "human", filter: FilterLike = None, audit: pl.DataFrame | None = None
    ) -> go.Figure:
        """Bars of each judge's agreement with the human majority (or gold), with the human ceiling."""
        frame = self.agreement(against=against, filter=filter, audit=audit)
        metric = "agreement_human_majority" if against == "human" else "agreement_gold"
        bars = frame.filter((pl.col("metric") == metric) & pl.col("value").is_not_null())
        ceiling = frame.filter(pl.col("metric") == "agreement_human_human")["value"]
        who = "the human majority" if against == "human" else "the gold labels"
        labels = "human-labelled" if against == "human" else "gold-labelled"
        return plots.agreement_bars(bars, ceiling[0] if len(ceiling) else None, f"Agreement with {who}", labels)

    def judge_tables(self, filter: FilterLike = None) -> dict[str, pl.DataFrame]:
        """The tables of the judge comparisons beside the audit, from one copy of the selection: `matrix` (judge ×
        judge agreement), `length_sample` and `length_bins` (score against response length) and `length_by_model`
        (Spearman of score with length per model). Kept like the audit, in this process and beside the workspace
        (`judgescope dashboard` prepares the whole workspace's), so the Judges page reads them."""
        flt = as_filter(filter)
        # in this process under the files' own rule (data, selection, alias file, code), not a looser one
        mem = saved.key(self.q, flt.to_query(), "judges", None, saved.alias_digest(self.path))
        tables = self._recall(mem)
        if tables is None:
            tables = self._remember(
                mem,
                saved.tables(
                    self.q, self.path, flt.to_query(), "judges", JUDGE_TABLES, lambda: self._judge_tables(flt)
                ),
            )
        return tables

    def _judge_tables(self, flt: Filter) -> dict[str, pl.DataFrame]:
        from .agreement import agreement_matrix
        from .length import length_correlation, length_score_points

        with self.context(flt) as ctx:
            sample, bins = length_score_points(ctx)
            return {
                "matrix": agreement_matrix(ctx),
                "length_sample": sample,
                "length_bins": bins,
                "length_by_model": length_correlation(ctx, "model"),
            }

    def agreement_matrix(self, filter: FilterLike = None) -> pl.DataFrame:
        """Judge × judge agreement, one row per pair of judges and protocol: pairwise (the same pair in the same
        order: same verdict) and pointwise (the same response and criterion: the same normalised score)."""
        return self.judge_tables(filter)["matrix"]

    def agreement_heatmap(
        self, filter: FilterLike = None, protocol: str | None = None, matrix: pl.DataFrame | None = None
    ) -> go.Figure:
        """Judge × judge agreement for one protocol (default: the one with more comparisons); the other
        protocol's values never share a cell with it."""
        frame = matrix if matrix is not None else self.agreement_matrix(filter)
        protocols = agreement_protocols(frame)
        if protocol is None:
            protocol = protocols[0] if protocols else "pairwise"
        elif protocol not in ("pairwise", "pointwise"):
            raise UserError("protocol must be 'pairwise' or 'pointwise'")
        frame = frame.filter(pl.col("protocol") == protocol) if frame.height else frame
        what = (
            "same verdict on the same pair in the same order"
            if protocol == "pairwise"
            else "same normalised score on the same response and criterion"
        )
        return plots.matrix_heatmap(
            frame,
            "judge_a",
            "judge_b",
            "agreement",
            f"Judge × judge agreement, {protocol} ({what})",
            symmetric=True,
            value_label="agreement",
        )

    # ---- length ----------------------------------------------------------------------------------
    def length_score_chart(self, filter: FilterLike = None) -> go.Figure:
        """Score against response length: a sample of judgments plus each judge's mean by length decile."""
        tables = self.judge_tables(filter)
        return plots.length_scatter(tables["length_sample"], tables["length_bins"], "Score versus response length")

    def length_correlation(self, by: str = "model", filter: FilterLike = None) -> pl.DataFrame:
        """Spearman of score with response length per model (or judge), with Fisher-z intervals."""
        from .length import length_correlation

        if by not in ("model", "judge"):
            raise UserError("length_correlation: by must be 'model' or 'judge'")
        if by == "model":
            return self.judge_tables(filter)["length_by_model"]
        with self.context(filter) as ctx:
            return length_correlation(ctx, by)


def _caveat(note: str | None) -> str | None:
    """What a flagged value may measure besides the bias: said in its audit note."""
    return CONFOUNDED_CAVEAT if note and CONFOUNDED in note else None


def agreement_protocols(matrix: pl.DataFrame) -> list[str]:
    """The protocols a judge × judge matrix has, the one with more comparisons first."""
    if matrix.height == 0:
        return []
    counts = matrix.group_by("protocol").agg(pl.col("n").sum()).sort("n", "protocol", descending=[True, False])
    return counts["protocol"].to_list()


class Rubrics:
    """`ws.rubrics`: per-criterion scores by model and judge, criterion redundancy, judge-minus-human offsets."""

    def __init__(self, q: Query, path: Path):
        self.q = q
        self.path = path

    def _context(self, filter):
        from .context import AuditContext

        return AuditContext(self.q, as_filter(filter))

    def breakdown(self, by: str = "model", filter: FilterLike = None) -> pl.DataFrame:
        """Mean normalised score per criterion × model (or judge), with a normal 95% interval."""
        from .rubrics import criteria_breakdown

        if by not in ("model", "judge"):
            raise UserError("criteria_breakdown: by must be 'model' or 'judge'")
        with self._context(filter) as ctx:
            return criteria_breakdown(ctx, by)

    def summary(self, filter: FilterLike = None) -> dict[str, pl.DataFrame]:
        """Every per-criterion table from one copy of the selection (the Rubrics page reads this): `by_model` and
        `by_judge` (as `breakdown`), `correlation` and `offsets`. Each method alone copies the selection once.
        Kept beside the workspace like the audit (`judgescope dashboard` prepares the whole workspace's)."""
        flt = as_filter(filter)
        return saved.tables(self.q, self.path, flt.to_query(), "rubrics", RUBRIC_TABLES, lambda: self._summary(flt))

    def _summary(self, flt: Filter) -> dict[str, pl.DataFrame]:
        from .rubrics import criteria_breakdown, criterion_correlation, criterion_offsets

        with self._context(flt) as ctx:
            return {
                "by_model": criteria_breakdown(ctx, "model"),
                "by_judge": criteria_breakdown(ctx, "judge"),
                "correlation": criterion_correlation(ctx),
                "offsets": criterion_offsets(ctx),
            }

    def heatmap(self, by: str = "model", filter: FilterLike = None, breakdown: pl.DataFrame | None = None) -> go.Figure:
        frame = breakdown if breakdown is not None else self.breakdown(by, filter)
        return plots.matrix_heatmap(
            frame, "criterion", by, "mean_score", f"Mean normalised score: criterion × {by}", value_label="mean score"
        )

    def correlation(self, filter: FilterLike = None) -> pl.DataFrame:
        """Spearman between criteria over the same responses; `redundant` marks |rho| ≥ 0.9."""
        from .rubrics import criterion_correlation

        with self._context(filter) as ctx:
            return criterion_correlation(ctx)

    def correlation_heatmap(self, filter: FilterLike = None, correlation: pl.DataFrame | None = None) -> go.Figure:
        frame = correlation if correlation is not None else self.correlation(filter)
        return plots.matrix_heatmap(
            frame,
            "criterion_a",
            "criterion_b",
            "spearman",
            "Criterion × criterion Spearman",
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            symmetric=True,
            value_label="Spearman",
        )

    def offsets(self, filter: FilterLike = None) -> pl.DataFrame:
        """Per judge and criterion: mean judge score minus human score (normalised)."""
        from .rubrics import criterion_offsets

        with self._context(filter) as ctx:
            return criterion_offsets(ctx)
