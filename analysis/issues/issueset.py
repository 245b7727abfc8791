"""IssueSet: a stored result of issue discovery — its issues and strengths under their categories, prevalence
and lift, examples, map and curation. Every table can be narrowed by a Filter (the dashboard's selection)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from .. import plots
from ..errors import UserError
from ..formatting import count
from ..filters import Filter, as_filter
from ..query import Query
from ..reliability.common import wilson
from ..sql import placeholders
from ..verdicts import shown_sql, winner_sql
from .outcome import lift

if TYPE_CHECKING:
    from .update import UpdateSummary

KINDS = ("issue", "strength")


# what an issue's row says about the selection it is read on (IssueSet.table computes them per selection)
SELECTION_STATS = (
    "prevalence",
    "prevalence_ci_low",
    "prevalence_ci_high",
    "p_fail",
    "p_pass",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
)


# a CTE over _scope's: the selection's units (judgment, response) that have an issue (not only a strength)
_WITH_ISSUE = "iu AS (SELECT DISTINCT h.judgment_id, h.response_id FROM hits h WHERE h.kind = 'issue')"


class IssueSet:
    def __init__(self, q: Query, issue_set_id: str):
        self.q = q
        rows = q.rows(
            "SELECT name, filter, params, stats, created_at FROM issue_sets WHERE issue_set_id = ?", [issue_set_id]
        )
        if not rows:
            raise UserError(f"no issue set {issue_set_id!r} in {q.path}; `judgescope issues --list` shows them")
        self.id = issue_set_id
        self.name, self.filter, params, stats, self.created_at = rows[0]
        self.params = json.loads(params)
        self.stats = json.loads(stats) if stats else {}

    def __repr__(self) -> str:
        counts = dict(
            self.q.rows(
                "SELECT kind, count(*) FROM issues WHERE issue_set_id = ? AND status = 'active' GROUP BY kind",
                [self.id],
            )
        )
        return (
            f"IssueSet({self.id}: {count(counts.get('issue', 0), 'issue')} and "
            f"{count(counts.get('strength', 0), 'strength')} over "
            f"{self.stats.get('n_judgments', 0):,} judgments, outcome from {self.stats.get('signal', 'cues')}, "
            f"{self.stats.get('coverage', 0):.0%} of the {self.stats.get('n_used', 0):,} statements read are in an issue "
            "or a strength)"
        )

    @property
    def categories(self) -> dict[str, str]:
        """Category key -> title."""
        return dict(self.stats.get("categories") or {})

    @property
    def unmapped_names(self) -> dict[str, int]:
        """Names pairwise critiques give their responses that the data does not map ("Model 'M'" in a plain file
        without aliases) -> statements naming them, which count for neither response (formatting.unmapped_note)."""
        return dict(self.stats.get("unmapped_names") or {})

    @property
    def corrected(self) -> dict[str, int]:
        """Issue name -> judgments this set left out of it because readers had marked them "does not fit" (in an
        earlier set of the workspace; corrections.py). Empty when no mark applied or marks were off."""
        return dict(self.stats.get("corrected") or {})

    # ---- the selection an answer is about -----------------------------------------------------------------
    def _scope(self, flt: Filter | str | dict | None) -> tuple[str, list[Any]]:
        """CTEs: scope (the set's units in the selection), hits (unit × issue), jhits (judgment × issue)."""
        f = as_filter(flt)
        params: list[Any] = [self.id]
        cond = ""
        if not f.is_empty():
            where, fp = f.where("j")
            cond = f" AND u.judgment_id IN (SELECT j.judgment_id FROM judgment_view j WHERE {where})"
            params += fp
        mine = ""
        if f.model:
            # the chosen models' responses, not their pairwise opponents': "model X" counts X's issues
            cond += f" AND u.model IN ({placeholders(len(f.model))})"
            params += list(f.model)
            mine = " AND (h.judgment_id, h.response_id) IN (SELECT judgment_id, response_id FROM scope)"
        params += [self.id]
        sql = f"""
            scope AS (SELECT u.judgment_id, u.response_id, u.model, u.outcome, u.failing FROM issue_set_units u
                      WHERE u.issue_set_id = ?{cond}),
            seghits AS (SELECT DISTINCT s.judgment_id, s.response_id, si.issue_id, i.kind, i.category
                        FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id)
                        JOIN issues i ON i.issue_set_id = si.issue_set_id AND i.issue_id = si.issue_id
                             AND i.status = 'active'
                        WHERE si.issue_set_id = ?),
            hits AS (SELECT h.issue_id, h.kind, h.category, u.* FROM seghits h
                     JOIN scope u ON u.judgment_id = h.judgment_id AND u.response_id = h.response_id),
            jhits AS (SELECT DISTINCT h.issue_id, h.judgment_id FROM seghits h
                      WHERE h.judgment_id IN (SELECT judgment_id FROM scope){mine})"""
        return sql, params

    def n_instances(self, filter: Filter | str | dict | None = None) -> int:
        """Judgments in the set (and in the filter)."""
        sql, params = self._scope(filter)
        return self.q.scalar(f"WITH {sql} SELECT count(DISTINCT judgment_id) FROM scope", params)

    def n_units(self, filter: Filter | str | dict | None = None) -> int:
        sql, params = self._scope(filter)
        return self.q.scalar(f"WITH {sql} SELECT count(*) FROM scope", params)

    def no_issue(self, filter: Filter | str | dict | None = None) -> int:
        """Judgments with no segment in any active issue (strengths do not count)."""
        sql, params = self._scope(filter)
        return self.q.scalar(
            f"""WITH {sql}
            SELECT count(DISTINCT judgment_id) FROM scope WHERE judgment_id NOT IN (
                SELECT h.judgment_id FROM jhits h JOIN issues i ON i.issue_set_id = ? AND i.issue_id = h.issue_id
                WHERE i.kind = 'issue')""",
            [*params, self.id],
        )

    def unexplained(
        self, filter: Filter | str | dict | None = None, n: int = 50, sample: int | None = None
    ) -> pl.DataFrame:
        """Statements of failure (the cue rules' reading: `problem`) that no issue explains, about responses in the
        selection: judgment_id, model, failing, has_issue (the response has some other issue), text. Failing
        responses with no issue come first (what `explained()` counts as unexplained), then failing responses
        with other issues, then the rest; within each, in a fixed order, or drawn at random with `sample` (a seed:
        the same for the same seed). Precision first means these are shown, not pushed into the nearest name."""
        if not (isinstance(n, int) and 1 <= n <= 100_000):
            raise UserError("n must be a whole number from 1 to 100,000")
        if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int)):
            raise UserError(f"sample must be an integer seed, not {sample!r}")
        seed = "" if sample is None else str(sample)
        sql, params = self._scope(filter)
        return self.q.frame(
            f"""
            WITH {sql}, {_WITH_ISSUE}
            SELECT s.judgment_id, u.model, u.failing, iu.judgment_id IS NOT NULL AS has_issue, s.text
            FROM segments s JOIN scope u ON u.judgment_id = s.judgment_id AND u.response_id = s.response_id
            LEFT JOIN iu ON iu.judgment_id = s.judgment_id AND iu.response_id = s.response_id
            WHERE s.issue_set_id = ? AND s.kind = 'problem' AND NOT EXISTS (
                SELECT 1 FROM segment_issues si WHERE si.issue_set_id = s.issue_set_id AND si.segment_id = s.segment_id)
            ORDER BY u.failing DESC NULLS LAST, has_issue, hash(s.segment_id || '|' || ?), s.segment_id LIMIT ?""",
            [*params, self.id, seed, n],
        )

    def explained(self, filter: Filter | str | dict | None = None) -> dict:
        """How much of the selection the issues explain: failing responses (units) with and without an issue (and of
        those without, how many have no critical statement at all: a bare score or verdict, or praise only), and
        problem statements with and without one."""
        sql, params = self._scope(filter)
        row = self.q.rows(
            f"""
            WITH {sql}, {_WITH_ISSUE},
            ps AS (SELECT s.segment_id, EXISTS (SELECT 1 FROM segment_issues si WHERE si.issue_set_id = s.issue_set_id
                                                AND si.segment_id = s.segment_id) AS has
                   FROM segments s JOIN scope u ON u.judgment_id = s.judgment_id AND u.response_id = s.response_id
                   WHERE s.issue_set_id = ? AND s.kind = 'problem'),
            bare AS (SELECT u.judgment_id, u.response_id FROM scope u WHERE failing AND NOT EXISTS (
                         SELECT 1 FROM iu WHERE iu.judgment_id = u.judgment_id AND iu.response_id = u.response_id))
            SELECT (SELECT count(*) FROM scope WHERE failing), (SELECT count(*) FROM bare),
                   (SELECT count(*) FROM bare b WHERE NOT EXISTS (
                        SELECT 1 FROM segments s WHERE s.issue_set_id = ? AND s.kind = 'problem'
                        AND s.judgment_id = b.judgment_id AND s.response_id = b.response_id)),
                   (SELECT count(*) FROM ps), (SELECT count(*) FROM ps WHERE NOT has)""",
            [*params, self.id, self.id],
        )[0]
        failing, without, silent, statements, loose = (int(v or 0) for v in row)
        return {
            "failing_units": failing,
            "failing_without_issue": without,
            "failing_without_issue_share": without / failing if failing else None,
            "failing_without_statement": silent,
            "problem_statements": statements,
            "unexplained_statements": loose,
            "unexplained_share": loose / statements if statements else None,
        }

    # ---- tables ---------------------------------------------------------------------------------------
    def table(self, filter: Filter | str | dict | None = None, kind: str = "issue") -> pl.DataFrame:
        """One row per active issue (kind='issue', the default), strength ('strength') or both (None):
        issue_id, title, category, kind, description, keywords, n_instances (judgments), n_units (judged
        responses), prevalence over units with a Wilson interval, p_fail / p_pass (prevalence among failing and
        passing units), lift with a 95% interval, severity (mean outcome of the units with it: the normalised
        score, or the win rate) beside mean_outcome (of every unit in the selection), n_items and
        max_item_share (the largest share of its judgments from one item), origin (response: shown by the
        response text; stated: a lexicon failure the critique states; cluster: a group named by its own words),
        and the readers' checks: n_checked, n_fits, precision with a Wilson interval (see mark()). n_compared: the
        responses in it only through comparisons ("Output (a) is more detailed" is the reason against (b)); such a
        response lost by construction, so where they are most of n_units the lift says how the judge explains its
        preferences, not that the failure goes with losing."""
        if kind not in (*KINDS, None):
            raise UserError(f"kind must be issue, strength or None, not {kind!r}")
        sql, params = self._scope(filter)
        kinds = KINDS if kind is None else (kind,)
        frame = self.q.frame(
            f"""
            WITH {sql},
            -- means rounded to 12 decimals: DuckDB adds a parallel average's parts in any order, so its last bits
            -- differ between runs, and the report's JSON would too
            totals AS (SELECT count(*) AS n, count(*) FILTER (WHERE failing) AS n_fail,
                              count(*) FILTER (WHERE NOT failing) AS n_pass, round(avg(outcome), 12) AS mean_outcome FROM scope),
            u AS (SELECT issue_id, count(*) AS n_units, count(*) FILTER (WHERE failing) AS k_fail,
                         count(*) FILTER (WHERE NOT failing) AS k_pass, round(avg(outcome), 12) AS severity
                  FROM (SELECT DISTINCT issue_id, judgment_id, response_id, failing, outcome FROM hits) GROUP BY 1),
            jn AS (SELECT issue_id, count(*) AS n_instances FROM jhits GROUP BY 1),
            per_item AS (SELECT h.issue_id, j.item_id, count(*) AS n FROM jhits h JOIN judgments j USING (judgment_id)
                         GROUP BY 1, 2),
            items AS (SELECT issue_id, count(*) AS n_items, max(n) AS top FROM per_item GROUP BY 1),
            -- an issue's segments per response, read once: how many, and whether only comparisons put the response
            -- in it ("Output (a) is more detailed" counts for (b), the loser)
            cmp AS (SELECT si.issue_id, s.judgment_id, s.response_id, count(*) AS n,
                           bool_and(coalesce(s.about = 'contrast', false)) AS only_compared
                    FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id)
                    WHERE si.issue_set_id = ? AND s.judgment_id IN (SELECT judgment_id FROM scope) GROUP BY ALL),
            segs AS (SELECT issue_id, sum(n) AS n_segments FROM cmp GROUP BY 1),
            compared AS (SELECT c.issue_id, count(*) AS n_compared
                         FROM cmp c JOIN (SELECT DISTINCT issue_id, judgment_id, response_id FROM hits) h
                           ON h.issue_id = c.issue_id AND h.judgment_id = c.judgment_id
                          AND h.response_id IS NOT DISTINCT FROM c.response_id
                         WHERE c.only_compared GROUP BY 1)
            SELECT i.issue_id, i.title, coalesce(i.category, '') AS category, i.kind, i.description, i.keywords,
                   i.origin, i.named_by, coalesce(jn.n_instances, 0) AS n_instances, coalesce(u.n_units, 0) AS n_units,
                   coalesce(segs.n_segments, 0) AS n_segments, coalesce(compared.n_compared, 0) AS n_compared,
                   coalesce(items.n_items, 0) AS n_items,
                   CASE WHEN jn.n_instances > 0 THEN items.top / jn.n_instances END AS max_item_share,
                   coalesce(u.k_fail, 0) AS k_fail, coalesce(u.k_pass, 0) AS k_pass,
                   t.n AS n_units_total, t.n_fail, t.n_pass, u.severity, t.mean_outcome
            FROM issues i LEFT JOIN u USING (issue_id) LEFT JOIN jn USING (issue_id) LEFT JOIN items USING (issue_id)
            LEFT JOIN segs USING (issue_id) LEFT JOIN compared USING (issue_id), totals t
            WHERE i.issue_set_id = ? AND i.status = 'active' AND i.kind IN ({placeholders(len(kinds))})
            ORDER BY i.kind, n_units DESC, i.issue_id""",
            [*params, self.id, self.id, *kinds],
        )
        return self._derive(frame)

    def _derive(self, frame: pl.DataFrame) -> pl.DataFrame:
        rows = []
        for r in frame.iter_rows(named=True):
            n = r["n_units_total"] or 0
            lo, hi = wilson(r["n_units"], n)
            ratio, l_lo, l_hi = lift(r["k_fail"], r["n_fail"] or 0, r["k_pass"], r["n_pass"] or 0)
            rows.append(
                {
                    "prevalence": r["n_units"] / n if n else None,
                    "prevalence_ci_low": lo,
                    "prevalence_ci_high": hi,
                    "p_fail": r["k_fail"] / r["n_fail"] if r["n_fail"] else None,
                    "p_pass": r["k_pass"] / r["n_pass"] if r["n_pass"] else None,
                    "lift": ratio,
                    "lift_ci_low": l_lo,
                    "lift_ci_high": l_hi,
                }
            )
        extra = pl.DataFrame(
            rows,
            schema={k: pl.Float64 for k in SELECTION_STATS},
        )
        titles = self.categories
        out = pl.concat([frame, extra], how="horizontal").with_columns(
            pl.col("category").replace_strict(titles, default=pl.col("category")).alias("category_title")
        )
        checked = self.checked()
        out = out.join(checked, on="issue_id", how="left").with_columns(
            pl.col("n_checked").fill_null(0), pl.col("n_fits").fill_null(0)
        )
        return out.drop("n_units_total", "n_fail", "n_pass")

    def strengths(self, filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """What judges praise in the passing responses: the same columns as table(), lift below 1."""
        return self.table(filter, kind="strength")

    def tree(
        self, filter: Filter | str | dict | None = None, kind: str = "issue", by: str | None = "model"
    ) -> pl.DataFrame:
        """Categories with their issues under them, as rows: level ('category' or 'issue'), category, issue_id,
        title, n_units, prevalence, lift (issues), and one share column per `by` group (e.g. per model) at both
        levels. A category's prevalence is the share of units with any of its issues."""
        table = self.table(filter, kind=kind)
        cats = self._category_counts(filter, kind)
        groups = self.prevalence(by, filter, kind=kind) if by else None
        cat_groups = self.prevalence(by, filter, kind=kind, level="category") if by else None
        names = sorted(set(groups[by])) if by and groups is not None and groups.height else []
        rows = []
        for c in cats.iter_rows(named=True):
            row = {
                "level": "category",
                "category": c["category_title"],
                "issue_id": None,
                "title": c["category_title"],
                "n_units": c["n_units"],
                "prevalence": c["prevalence"],
                "lift": None,
            }
            row.update(_shares(cat_groups, by, names, "category", c["category"]))
            rows.append(row)
            for r in table.filter(pl.col("category") == c["category"]).iter_rows(named=True):
                row = {
                    "level": "issue",
                    "category": c["category_title"],
                    "issue_id": r["issue_id"],
                    "title": r["title"],
                    "n_units": r["n_units"],
                    "prevalence": r["prevalence"],
                    "lift": r["lift"],
                }
                row.update(_shares(groups, by, names, "issue_id", r["issue_id"]))
                rows.append(row)
        schema = {
            "level": pl.String,
            "category": pl.String,
            "issue_id": pl.String,
            "title": pl.String,
            "n_units": pl.Int64,
            "prevalence": pl.Float64,
            "lift": pl.Float64,
            **{g: pl.Float64 for g in names},
        }
        return pl.DataFrame(rows, schema=schema)

    def _category_counts(self, filter, kind: str) -> pl.DataFrame:
        sql, params = self._scope(filter)
        frame = self.q.frame(
            f"""
            WITH {sql}
            SELECT coalesce(category, '') AS category, count(DISTINCT (judgment_id, response_id)) AS n_units,
                   count(DISTINCT (judgment_id, response_id)) / (SELECT count(*) FROM scope) AS prevalence
            FROM hits WHERE kind = ? GROUP BY 1 ORDER BY n_units DESC, category""",
            [*params, kind],
        )
        titles = self.categories
        return frame.with_columns(
            pl.col("category").replace_strict(titles, default=pl.col("category")).alias("category_title")
        )

    def prevalence(
        self, by: str = "model", filter: Filter | str | dict | None = None, kind: str = "issue", level: str = "issue"
    ) -> pl.DataFrame:
        """Share of each group's units (judged responses) with the issue (level='issue') or with any issue of a
        category (level='category'), a Wilson 95% interval, and severity (mean outcome of those units).
        `by`: model, judge, criterion, template, dataset, category, run, protocol or meta.<key>."""
        g = self.q.group(by)
        key = "issue_id" if level == "issue" else "category"
        if level not in ("issue", "category"):
            raise UserError("level must be 'issue' or 'category'")
        labelled, params = self._labelled(by, filter)
        frame = self.q.frame(
            f"""
            WITH {labelled},
            totals AS (SELECT grp, count(*) AS n_group FROM labelled GROUP BY grp),
            hit AS (SELECT DISTINCT h.{key} AS k, l.judgment_id, l.response_id, l.grp, l.outcome
                    FROM hits h JOIN labelled l ON l.judgment_id = h.judgment_id AND l.response_id = h.response_id
                    WHERE h.kind = ?)
            SELECT hit.k AS {key}, hit.grp AS {g.alias}, count(*) AS n_with, any_value(t.n_group) AS n_group,
                   round(avg(hit.outcome), 12) AS severity
            FROM hit JOIN totals t USING (grp) WHERE hit.grp IS NOT NULL
            GROUP BY 1, 2 ORDER BY 1, 2""",
            [*params, kind],
        )
        if frame.height == 0:
            return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in ("share", "ci_low", "ci_high"))
        cis = [wilson(k, n) for k, n in zip(frame["n_with"], frame["n_group"])]
        if level == "issue":
            titles = dict(self.q.rows("SELECT issue_id, title FROM issues WHERE issue_set_id = ?", [self.id]))
            frame = frame.with_columns(pl.col("issue_id").replace_strict(titles, default=None).alias("title"))
        return frame.with_columns(
            (pl.col("n_with") / pl.col("n_group")).alias("share"),
            pl.Series("ci_low", [c[0] for c in cis], dtype=pl.Float64),
            pl.Series("ci_high", [c[1] for c in cis], dtype=pl.Float64),
        )

    def examples(
        self,
        issue_id: str | int,
        n: int = 5,
        filter: Filter | str | dict | None = None,
        sample: int | None = None,
    ) -> pl.DataFrame:
        """The segments closest to the issue's centre, one per judgment, with the judgment around them and the
        model of the response the segment is about; `outcome` says how that response fared ("score 3", and in a
        pairwise judgment "preferred", "not preferred", "tie" or "no verdict"), and `shown` which of the two the judge
        saw it as ("first", "second"; the judge's "Assistant A" is the first shown). With `sample` (a seed): n of its
        judgments drawn at random instead, the same for the same seed, for checking the issue (the most typical
        members would overstate its precision)."""
        if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int)):
            raise UserError(f"sample must be an integer seed, not {sample!r}")
        order = "si.similarity DESC, s.judgment_id" if sample is None else "hash(s.judgment_id || ?), s.judgment_id"
        sql, params = self._scope(filter)
        return self.q.frame(
            f"""
            WITH {sql}
            SELECT s.judgment_id, j.item_id, coalesce(r.model, j.model) AS model, j.judge, j.score, j.verdict,
                   CASE WHEN j.score IS NOT NULL THEN 'score ' || printf('%g', j.score)
                        WHEN j.protocol <> 'pairwise' THEN 'no score'
                        WHEN j.verdict = 'tie' THEN 'tie'
                        WHEN s.response_id = {winner_sql("j.")} THEN 'preferred'
                        WHEN j.verdict IN ('a', 'b') AND s.response_id IS NOT NULL THEN 'not preferred'
                        ELSE 'no verdict' END AS outcome,
                   CASE WHEN j.protocol <> 'pairwise' OR s.response_id IS NULL OR j.shown_first IS NULL THEN NULL
                        WHEN s.response_id = {shown_sql("j.", known_only=True)} THEN 'first' ELSE 'second' END AS shown,
                   s.text AS segment, si.similarity, si.how, j.critique, s.response_id
            FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id)
            JOIN judgment_view j ON j.judgment_id = s.judgment_id
            LEFT JOIN responses r ON r.response_id = s.response_id
            WHERE si.issue_set_id = ? AND si.issue_id = ? AND s.judgment_id IN (SELECT judgment_id FROM scope)
            QUALIFY row_number() OVER (PARTITION BY s.judgment_id ORDER BY si.similarity DESC, s.ord) = 1
            ORDER BY {order} LIMIT ?""",
            [*params, self.id, str(issue_id), *([] if sample is None else [str(sample)]), int(n)],
        )

    def assignments(self) -> pl.DataFrame:
        """One row per judgment and issue (or strength): item_id, judgment_id, issue_id, kind, the judged
        responses it counts for and their models (response_ids, models: in a pairwise judgment one side, both, or
        none when its statements name neither) and the source's own record keys."""
        sql, params = self._scope(None)
        return self.q.frame(
            f"""
            WITH {sql},
            sides AS (SELECT judgment_id, issue_id, list(response_id ORDER BY response_id) AS response_ids,
                             list(model ORDER BY response_id) AS models
                      FROM hits GROUP BY judgment_id, issue_id)
            SELECT j.item_id, h.judgment_id, h.issue_id, i.kind,
                   coalesce(sd.response_ids, []::VARCHAR[]) AS response_ids, coalesce(sd.models, []::VARCHAR[]) AS models,
                   it.source_key AS item_source_key, j.source_key AS judgment_source_key, j.source_line
            FROM jhits h JOIN judgments j USING (judgment_id) JOIN items it USING (item_id)
            JOIN issues i ON i.issue_set_id = ? AND i.issue_id = h.issue_id
            LEFT JOIN sides sd ON sd.judgment_id = h.judgment_id AND sd.issue_id = h.issue_id
            ORDER BY h.issue_id, h.judgment_id""",
            [*params, self.id],
        )

    def cooccurrence(self, filter: Filter | str | dict | None = None) -> pl.DataFrame:
        """Pairs of issues found in the same judgments: counts and lift (observed / expected if independent)."""
        sql, params = self._scope(filter)
        return self.q.frame(
            f"""
            WITH {sql},
            n AS (SELECT count(DISTINCT judgment_id) AS total FROM scope),
            ji AS (SELECT h.* FROM jhits h JOIN issues i ON i.issue_set_id = ? AND i.issue_id = h.issue_id
                   WHERE i.kind = 'issue'),
            c AS (SELECT issue_id, count(*) AS k FROM ji GROUP BY 1)
            SELECT a.issue_id AS issue_a, b.issue_id AS issue_b, count(*) AS n_both,
                   count(*) * any_value(n.total) / (any_value(ca.k) * any_value(cb.k)) AS lift
            FROM ji a JOIN ji b ON a.judgment_id = b.judgment_id AND a.issue_id < b.issue_id
            JOIN c ca ON ca.issue_id = a.issue_id JOIN c cb ON cb.issue_id = b.issue_id, n
            GROUP BY 1, 2 ORDER BY n_both DESC, 1, 2""",
            [*params, self.id],
        )

    def history(self) -> pl.DataFrame:
        return self.q.frame(
            "SELECT seq, happened_at, action, detail FROM issue_events WHERE issue_set_id = ? ORDER BY seq", [self.id]
        )

    # ---- figures ------------------------------------------------------------------------------------------
    def map_points(self, filter: Filter | str | dict | None = None, max_points: int = 20000) -> pl.DataFrame:
        """The clustered segments' 2-D coordinates within the selection (at most max_points, a fixed sample):
        x, y, text, judgment_id, issue, issue_id, kind."""
        if not (isinstance(max_points, int) and 1 <= max_points <= 1_000_000):
            raise UserError("max_points must be a whole number from 1 to 1,000,000")
        sql, params = self._scope(filter)
        return self.q.frame(
            f"""
            WITH {sql}
            SELECT c.x, c.y, s.text, s.judgment_id, coalesce(i.title, '(none)') AS issue, si.issue_id,
                   coalesce(i.kind, 'none') AS kind
            FROM coords c JOIN segments s USING (issue_set_id, segment_id)
            LEFT JOIN segment_issues si USING (issue_set_id, segment_id)
            LEFT JOIN issues i ON i.issue_set_id = c.issue_set_id AND i.issue_id = si.issue_id AND i.status = 'active'
            WHERE c.issue_set_id = ? AND s.judgment_id IN (SELECT judgment_id FROM scope)
            ORDER BY hash(c.segment_id), c.segment_id LIMIT ?""",
            [*params, self.id, max_points],
        )

    def map(self, filter: Filter | str | dict | None = None, max_points: int = 20000, top: int = 12) -> go.Figure:
        """The 2-D map of the selection's clustered segments: the `top` biggest issues in colour, other issues and
        strengths in grey shades; hover shows the segment (as text) and its issue; each point carries its
        judgment id (a click opens it)."""
        frame = self.map_points(filter, max_points)
        biggest = self.table(filter).filter(pl.col("n_units") > 0)["issue_id"].head(top).to_list()
        return plots.issue_map(frame, biggest, f"Critique segments by issue ({frame.height:,} shown)")

    def group_sizes(self, by: str = "model", filter: Filter | str | dict | None = None) -> dict:
        """Units (judged responses) per group in the selection: the denominators of prevalence(by), including
        the groups no issue reaches."""
        labelled, params = self._labelled(by, filter)
        rows = self.q.rows(f"WITH {labelled} SELECT grp, count(*) FROM labelled GROUP BY grp", params)
        return {k: n for k, n in rows if k is not None}

    def _labelled(self, by: str, filter) -> tuple[str, list]:
        """CTEs ending in `labelled`: the selection's units, each with its group `grp` under `by`. A unit's model
        is its own response's (a pairwise judgment has two); other groups are the judgment's."""
        g = self.q.group(by)
        sql, params = self._scope(filter)
        grp, gparams = ("x.model", []) if by == "model" else (g.scalar, list(g.params))
        return (
            f"{sql}, labelled AS (SELECT x.*, {grp} AS grp FROM scope x "
            f"JOIN judgment_view j ON j.judgment_id = x.judgment_id)",
            [*params, *gparams],
        )

    def prevalence_chart(
        self, by: str = "model", top: int = 15, filter: Filter | str | dict | None = None
    ) -> go.Figure:
        frame = self.prevalence(by, filter)
        top_ids = self.table(filter)["issue_id"].head(top).to_list()
        frame = frame.filter(pl.col("issue_id").is_in(top_ids)) if frame.height else frame
        return plots.prevalence_heatmap(
            frame, by, top_ids, f"Issue prevalence by {by} (share of judged responses)", self.group_sizes(by, filter)
        )

    # ---- curation (each change one transaction, recorded in issue_events) ---------------------------------
    def _event(self, cur, action: str, detail: dict) -> None:
        seq = cur.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM issue_events WHERE issue_set_id = ?", [self.id]
        ).fetchall()[0][0]
        cur.execute(
            "INSERT INTO issue_events VALUES (?, ?, ?, ?, ?)",
            [self.id, seq, datetime.now(timezone.utc).replace(tzinfo=None), action, json.dumps(detail)],
        )

    def _active(self, issue_id) -> str:
        issue_id = str(issue_id)
        ok = self.q.scalar(
            "SELECT count(*) FROM issues WHERE issue_set_id = ? AND issue_id = ? AND status = 'active'",
            [self.id, issue_id],
        )
        if not ok:
            raise UserError(f"issue {issue_id} is not an active issue of set {self.id}")
        return issue_id

    def _next_id(self, cur) -> str:
        n = cur.execute(
            "SELECT max(CAST(issue_id AS INTEGER)) FROM issues WHERE issue_set_id = ?", [self.id]
        ).fetchall()[0][0]
        return str((n or 0) + 1)

    def update(self) -> UpdateSummary:
        """Bring the set up to date with judgments imported since it was made (within its filter): their
        statements join the existing issues by the same rules (response facts, stated lexicon failures, the words
        of a discovered issue's name); nothing is embedded or re-clustered. Returns new_judgments, new_statements
        (critical ones), explained, unexplained, unexplained_share and suggest_discovery (True when more than 30%
        of the new critical statements fit no issue: run a new discovery)."""
        from .update import update

        out = update(self.q, self.id, self.filter, self.params)
        self.stats = json.loads(self.q.scalar("SELECT stats FROM issue_sets WHERE issue_set_id = ?", [self.id]) or "{}")
        return out

    # ---- a reader's checks ---------------------------------------------------------------------------------
    def mark(
        self, issue_id, judgment_id: str, fits: bool, who: str | None = None, note: str | None = None
    ) -> "IssueSet":
        """Record whether one judgment really has the issue (a reader read it): `fits` True or False, by `who`
        (default: the user's login name), with an optional note. The newest mark per reader and judgment counts."""
        issue_id = self._active(issue_id)
        if not isinstance(fits, bool):
            raise UserError(f"fits must be true or false, not {fits!r}")
        who = " ".join(str(who or _login()).split())[:100] or "anonymous"
        known = self.q.scalar(
            "SELECT count(*) FROM issue_set_members WHERE issue_set_id = ? AND judgment_id = ?",
            [self.id, str(judgment_id)],
        )
        if not known:
            raise UserError(f"judgment {judgment_id!r} is not in issue set {self.id}")
        with self.q.transaction() as cur:
            cur.execute(
                "INSERT INTO issue_marks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    self.id,
                    issue_id,
                    str(judgment_id),
                    fits,
                    who,
                    datetime.now(timezone.utc).replace(tzinfo=None),
                    None if note is None else str(note)[:2000],
                ],
            )
        return self

    def marks(self, issue_id=None) -> pl.DataFrame:
        """Every mark (issue_id, judgment_id, fits, who, marked_at, note), oldest first; `current` is True on the
        mark that counts (each reader's newest for an issue and judgment)."""
        cond, params = ("", [self.id]) if issue_id is None else (" AND issue_id = ?", [self.id, str(issue_id)])
        return self.q.frame(
            f"""
            SELECT issue_id, judgment_id, fits, who, marked_at, note,
                   row_number() OVER (PARTITION BY issue_id, judgment_id, who ORDER BY marked_at DESC) = 1 AS current
            FROM issue_marks WHERE issue_set_id = ?{cond} ORDER BY marked_at, issue_id, judgment_id""",
            params,
        )

    def checked(self) -> pl.DataFrame:
        """Per issue with marks: n_checked (judgments marked), n_fits, precision (the share that fit) with a Wilson
        95% interval. A judgment marked by several readers counts once, by their majority (a tie: does not fit)."""
        frame = self.q.frame(
            """
            WITH cur AS (SELECT issue_id, judgment_id, fits FROM issue_marks WHERE issue_set_id = ?
                         QUALIFY row_number() OVER (PARTITION BY issue_id, judgment_id, who ORDER BY marked_at DESC) = 1),
            per AS (SELECT issue_id, judgment_id, avg(fits::INT) > 0.5 AS fits FROM cur GROUP BY 1, 2)
            SELECT issue_id, count(*) AS n_checked, count(*) FILTER (WHERE fits) AS n_fits FROM per
            GROUP BY 1 ORDER BY 1""",
            [self.id],
        )
        rows = [wilson(k, n) for k, n in zip(frame["n_fits"], frame["n_checked"])]
        return frame.with_columns(
            (pl.col("n_fits") / pl.col("n_checked")).alias("precision"),
            pl.Series("precision_ci_low", [r[0] for r in rows], dtype=pl.Float64),
            pl.Series("precision_ci_high", [r[1] for r in rows], dtype=pl.Float64),
        )

    def rename(self, issue_id, title: str, description: str | None = None, category: str | None = None) -> "IssueSet":
        """A new title (and description, category); the old ones are kept in the history."""
        issue_id = self._active(issue_id)
        title = " ".join(str(title or "").split())
        if not title:
            raise UserError("an issue needs a non-empty title")
        if category is not None and category not in self.categories:
            raise UserError(f"unknown category {category!r}; categories: {', '.join(self.categories)}")
        with self.q.transaction() as cur:
            old = cur.execute(
                "SELECT title, category FROM issues WHERE issue_set_id = ? AND issue_id = ?", [self.id, issue_id]
            ).fetchall()[0]
            cur.execute(
                "UPDATE issues SET title = ?, description = coalesce(?, description), "
                "category = coalesce(?, category), named_by = 'user' WHERE issue_set_id = ? AND issue_id = ?",
                [title, description, category, self.id, issue_id],
            )
            self._event(cur, "rename", {"issue": issue_id, "from": old[0], "to": title, "category": category})
        return self

    def merge(self, issue_ids: list, title: str | None = None) -> str:
        """Merge issues of one kind into a new one (their segments move to it); returns the new issue id."""
        ids = [self._active(i) for i in dict.fromkeys(str(i) for i in issue_ids)]
        if len(ids) < 2:
            raise UserError("merge needs at least two different issues")
        marks = placeholders(len(ids))
        with self.q.transaction() as cur:
            rows = cur.execute(
                f"SELECT issue_id, title, kind, category FROM issues WHERE issue_set_id = ? "
                f"AND issue_id IN ({marks}) ORDER BY rank, issue_id",
                [self.id, *ids],
            ).fetchall()
            if len({r[2] for r in rows}) > 1:
                raise UserError("cannot merge an issue with a strength")
            new = self._next_id(cur)
            first = rows[0]
            cur.execute(
                f"""INSERT INTO issues (issue_set_id, issue_id, title, keywords, description, origin, status, rank,
                                                kind, category, named_by)
                            SELECT issue_set_id, ?, ?, flatten(list(keywords))[:8], NULL, 'merge', 'active', min(rank),
                                   ?, ?, ? FROM issues WHERE issue_set_id = ? AND issue_id IN ({marks})
                            GROUP BY issue_set_id""",
                [new, title or first[1], first[2], first[3], "user" if title else "merge", self.id, *ids],
            )
            cur.execute(
                f"UPDATE segment_issues SET issue_id = ? WHERE issue_set_id = ? AND issue_id IN ({marks})",
                [new, self.id, *ids],
            )
            cur.execute(
                f"UPDATE issues SET status = 'merged' WHERE issue_set_id = ? AND issue_id IN ({marks})", [self.id, *ids]
            )
            self._event(cur, "merge", {"issues": ids, "into": new, "title": title or first[1]})
        return new

    def drop(self, issue_id) -> "IssueSet":
        """Drop an issue: its segments no longer count as any issue."""
        issue_id = self._active(issue_id)
        with self.q.transaction() as cur:
            n = cur.execute(
                "SELECT count(*) FROM segment_issues WHERE issue_set_id = ? AND issue_id = ?", [self.id, issue_id]
            ).fetchall()[0][0]
            cur.execute(
                "UPDATE issues SET status = 'dropped' WHERE issue_set_id = ? AND issue_id = ?", [self.id, issue_id]
            )
            self._event(cur, "drop", {"issue": issue_id, "segments": n})
        return self

    def split(self, issue_id, n: int = 2) -> list[str]:
        """Split an issue in n by k-means on its segments' vectors (seeded); returns the new issue ids."""
        from . import cluster as cl
        from .embed import DEFAULT_MODEL, embed, store_vectors
        from .naming import ctfidf_keywords

        if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= 20:
            raise UserError(f"an issue splits into 2 to 20 parts, not {n!r}")
        issue_id = self._active(issue_id)
        segs = self.q.rows(
            "SELECT s.segment_id, s.masked, s.text FROM segment_issues si JOIN segments s USING "
            "(issue_set_id, segment_id) WHERE si.issue_set_id = ? AND si.issue_id = ? ORDER BY 1",
            [self.id, issue_id],
        )
        if len(segs) < 2 * n:
            raise UserError(f"issue {issue_id} has {len(segs)} segments: too few to split in {n}")
        model = (self.params.get("embedder") or {}).get("model", DEFAULT_MODEL)
        with self.q.cursor() as cur:  # a cursor of its own: dashboard sessions share the connection
            new_vectors: list = []
            vectors, _ = embed(cur, [s[1] for s in segs], model, new_vectors)
        labels, cents = cl.KMeans(n, seed=int(self.params.get("seed", 0))).fit(vectors)
        keywords = ctfidf_keywords({k: [segs[i][1] for i in np.flatnonzero(labels == k)] for k in range(n)})
        old = self.q.rows(
            "SELECT title, kind, category FROM issues WHERE issue_set_id = ? AND issue_id = ?", [self.id, issue_id]
        )[0]
        new_ids = []
        with self.q.transaction() as cur:
            for rows in new_vectors:
                store_vectors(cur, rows)
            for k in range(n):
                members = np.flatnonzero(labels == k)
                if not len(members):
                    continue
                new = self._next_id(cur)
                words = ", ".join(keywords.get(k, [])[:3])
                cur.execute(
                    "INSERT INTO issues (issue_set_id, issue_id, title, keywords, description, origin, status, "
                    "rank, kind, category, named_by) VALUES (?, ?, ?, ?, NULL, 'split', 'active', NULL, ?, ?, 'split')",
                    [self.id, new, f"{old[0]} ({words or k + 1})", keywords.get(k, []), old[1], old[2]],
                )
                ids = [segs[i][0] for i in members]
                cur.register("_split_ids", pl.DataFrame({"segment_id": ids}).to_arrow())
                cur.execute(
                    "UPDATE segment_issues SET issue_id = ? WHERE issue_set_id = ? "
                    "AND segment_id IN (SELECT segment_id FROM _split_ids)",
                    [new, self.id],
                )
                cur.unregister("_split_ids")
                new_ids.append(new)
            cur.execute(
                "UPDATE issues SET status = 'merged' WHERE issue_set_id = ? AND issue_id = ?", [self.id, issue_id]
            )
            self._event(cur, "split", {"issue": issue_id, "into": new_ids})
        return new_ids


def list_sets(q: Query) -> pl.DataFrame:
    return q.frame("""
        SELECT s.issue_set_id, s.name, s.filter, s.created_at,
               (SELECT count(*) FROM issues i WHERE i.issue_set_id = s.issue_set_id AND i.status = 'active'
                  AND i.kind = 'issue') AS issues,
               (SELECT count(*) FROM issues i WHERE i.issue_set_id = s.issue_set_id AND i.status = 'active'
                  AND i.kind = 'strength') AS strengths,
               json_extract(s.stats, '$.n_judgments')::INT AS judgments,
               json_extract(s.stats, '$.coverage')::DOUBLE AS coverage,
               json_extract_string(s.stats, '$.signal') AS signal
        FROM issue_sets s ORDER BY s.created_at DESC, s.issue_set_id""")


def _shares(frame: pl.DataFrame | None, by: str | None, names: list[str], key: str, value: object) -> dict[str, float]:
    """Per group in `names`, the share in `frame` (IssueSet.prevalence by `by`) of the row with `key` = value; 0.0
    where there is none. Nothing without `by`: then tree() has no groups (`names` is empty)."""
    if frame is None or by is None:
        return {}
    out: dict[str, float] = {}
    for g in names:
        hit = frame.filter((pl.col(key) == value) & (pl.col(by) == g))
        out[g] = hit["share"][0] if hit.height else 0.0
    return out


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in this environment
        return "anonymous"
