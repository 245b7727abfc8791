"""IssueSet: a stored result of issue discovery, with its table, prevalence, examples, map and curation."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from .. import plots
from ..errors import UserError
from ..reliability.common import wilson

GROUPS = {"model": "j.model", "judge": "j.judge", "criterion": "coalesce(j.criterion, 'overall')",
          "template": "j.template", "dataset": "j.dataset", "category": "j.category"}


class IssueSet:
    def __init__(self, ws, issue_set_id: str):
        self.ws = ws
        rows = ws.con.execute("SELECT name, filter, params, stats, created_at FROM issue_sets WHERE issue_set_id = ?",
                              [issue_set_id]).fetchall()
        if not rows:
            raise UserError(f"no issue set {issue_set_id!r} in {ws.path}; `judgescope issues --list` shows them")
        self.id = issue_set_id
        self.name, self.filter, params, stats, self.created_at = rows[0]
        self.params = json.loads(params)
        self.stats = json.loads(stats) if stats else {}

    def __repr__(self) -> str:
        n = self.ws.con.execute("SELECT count(*) FROM issues WHERE issue_set_id = ? AND status = 'active'",
                                [self.id]).fetchall()[0][0]
        return (f"IssueSet({self.id}: {n} issues over {self.stats.get('n_judgments', 0):,} judgments, "
                f"coverage {self.stats.get('coverage', 0):.0%} of {self.stats.get('n_used', 0):,} problem segments)")

    # ---- queries ------------------------------------------------------------------------------
    def _sql(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        return self.ws._sql(sql, params)

    _HITS = """
        hits AS (
            SELECT DISTINCT s.judgment_id, si.issue_id
            FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id)
            JOIN issues i ON i.issue_set_id = si.issue_set_id AND i.issue_id = si.issue_id AND i.status = 'active'
            WHERE si.issue_set_id = $set
        )"""

    def table(self) -> pl.DataFrame:
        """One row per active issue: title, keywords, instances, segments, distinct items, the largest share of
        its instances from one item, severity (mean normalised score of affected instances), prevalence."""
        frame = self._sql(f"""
            WITH {self._HITS},
            segs AS (SELECT si.issue_id, count(*) AS n_segments FROM segment_issues si
                     WHERE si.issue_set_id = $set GROUP BY 1),
            per_item AS (SELECT h.issue_id, j.item_id, count(*) AS n FROM hits h JOIN judgments j USING (judgment_id)
                         GROUP BY 1, 2),
            items AS (SELECT issue_id, count(*) AS n_items, max(n) AS top_item FROM per_item GROUP BY 1),
            inst AS (SELECT h.issue_id, count(*) AS n_instances, avg(j.score_norm) AS severity
                     FROM hits h JOIN judgments j USING (judgment_id) GROUP BY 1),
            total AS (SELECT count(*) AS n FROM issue_set_members WHERE issue_set_id = $set)
            SELECT i.issue_id, i.title, i.keywords, i.description, i.origin,
                   coalesce(inst.n_instances, 0) AS n_instances, coalesce(segs.n_segments, 0) AS n_segments,
                   coalesce(items.n_items, 0) AS n_items,
                   CASE WHEN inst.n_instances > 0 THEN items.top_item / inst.n_instances END AS max_item_share,
                   inst.severity, coalesce(inst.n_instances, 0) / (SELECT n FROM total) AS prevalence
            FROM issues i LEFT JOIN inst USING (issue_id) LEFT JOIN segs USING (issue_id) LEFT JOIN items USING (issue_id)
            WHERE i.issue_set_id = $set AND i.status = 'active'
            ORDER BY n_instances DESC, i.issue_id""", {"set": self.id})
        cis = [wilson(k, n) for k, n in zip(frame["n_instances"], [self.n_instances()] * frame.height)]
        return frame.with_columns(pl.Series("prevalence_ci_low", [c[0] for c in cis], dtype=pl.Float64),
                                  pl.Series("prevalence_ci_high", [c[1] for c in cis], dtype=pl.Float64))

    def n_instances(self) -> int:
        return self.ws.con.execute("SELECT count(*) FROM issue_set_members WHERE issue_set_id = ?",
                                   [self.id]).fetchall()[0][0]

    def no_issue(self) -> int:
        """Instances (judgments) with no segment in any active issue."""
        return self.ws.con.execute(f"""
            WITH {self._HITS.replace('$set', '?')}
            SELECT count(*) FROM issue_set_members m WHERE m.issue_set_id = ?
              AND m.judgment_id NOT IN (SELECT judgment_id FROM hits)""", [self.id, self.id]).fetchall()[0][0]

    def prevalence(self, by: str = "model") -> pl.DataFrame:
        """Share of each group's instances with the issue, Wilson 95% interval, and severity.
        `by`: model, judge, criterion, template, dataset, category or meta.<facet>."""
        group, gparams = _group_sql(by)
        frame = self._sql(f"""
            WITH {self._HITS},
            m AS (SELECT j.judgment_id, j.score_norm, g.grp FROM issue_set_members mm
                  JOIN judgment_view j ON j.judgment_id = mm.judgment_id,
                  LATERAL (SELECT unnest({group}) AS grp) g
                  WHERE mm.issue_set_id = $set),
            totals AS (SELECT grp, count(DISTINCT judgment_id) AS n_group FROM m GROUP BY grp)
            SELECT i.issue_id, i.title, m.grp AS "{by}", count(DISTINCT m.judgment_id) AS n_with,
                   any_value(t.n_group) AS n_group, avg(m.score_norm) AS severity
            FROM hits h JOIN m USING (judgment_id) JOIN totals t USING (grp)
            JOIN issues i ON i.issue_set_id = $set AND i.issue_id = h.issue_id
            WHERE m.grp IS NOT NULL
            GROUP BY ALL ORDER BY i.issue_id, 3""", {"set": self.id, **gparams})
        if frame.height == 0:
            return frame
        cis = [wilson(k, n) for k, n in zip(frame["n_with"], frame["n_group"])]
        return frame.with_columns((pl.col("n_with") / pl.col("n_group")).alias("share"),
                                  pl.Series("ci_low", [c[0] for c in cis], dtype=pl.Float64),
                                  pl.Series("ci_high", [c[1] for c in cis], dtype=pl.Float64))

    def examples(self, issue_id: str | int, n: int = 5) -> pl.DataFrame:
        """The segments closest to the issue's centre, one per judgment, with the judgment around them."""
        return self._sql("""
            SELECT s.judgment_id, j.item_id, j.model, j.judge, j.score, s.text AS segment, si.similarity, si.how,
                   j.critique
            FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id)
            JOIN judgment_view j ON j.judgment_id = s.judgment_id
            WHERE si.issue_set_id = $set AND si.issue_id = $issue
            QUALIFY row_number() OVER (PARTITION BY s.judgment_id ORDER BY si.similarity DESC) = 1
            ORDER BY si.similarity DESC LIMIT $n""", {"set": self.id, "issue": str(issue_id), "n": int(n)})

    def assignments(self) -> pl.DataFrame:
        """One row per instance and issue: item_id, judgment_id, issue_id and the source's own record keys."""
        return self._sql(f"""
            WITH {self._HITS}
            SELECT j.item_id, h.judgment_id, h.issue_id, it.source_key AS item_source_key,
                   j.source_key AS judgment_source_key, j.source_line
            FROM hits h JOIN judgments j USING (judgment_id) JOIN items it USING (item_id)
            ORDER BY h.issue_id, h.judgment_id""", {"set": self.id})

    def cooccurrence(self) -> pl.DataFrame:
        """Pairs of issues found in the same instances: counts and lift (observed / expected if independent)."""
        return self._sql(f"""
            WITH {self._HITS},
            n AS (SELECT count(*) AS total FROM issue_set_members WHERE issue_set_id = $set),
            c AS (SELECT issue_id, count(*) AS k FROM hits GROUP BY 1)
            SELECT a.issue_id AS issue_a, b.issue_id AS issue_b, count(*) AS n_both,
                   count(*) * any_value(n.total) / (any_value(ca.k) * any_value(cb.k)) AS lift
            FROM hits a JOIN hits b ON a.judgment_id = b.judgment_id AND a.issue_id < b.issue_id
            JOIN c ca ON ca.issue_id = a.issue_id JOIN c cb ON cb.issue_id = b.issue_id, n
            GROUP BY 1, 2 ORDER BY n_both DESC""", {"set": self.id})

    def history(self) -> pl.DataFrame:
        return self._sql("SELECT seq, happened_at, action, detail FROM issue_events WHERE issue_set_id = $set "
                         "ORDER BY seq", {"set": self.id})

    # ---- figures ------------------------------------------------------------------------------
    def map(self, max_points: int = 20000) -> go.Figure:
        """The 2-D map of problem segments, coloured by issue; hover shows the segment (as text)."""
        frame = self._sql(f"""
            SELECT c.x, c.y, s.text, coalesce(i.title, '(no issue)') AS issue, si.issue_id
            FROM coords c JOIN segments s USING (issue_set_id, segment_id)
            LEFT JOIN segment_issues si USING (issue_set_id, segment_id)
            LEFT JOIN issues i ON i.issue_set_id = c.issue_set_id AND i.issue_id = si.issue_id AND i.status = 'active'
            WHERE c.issue_set_id = $set USING SAMPLE reservoir({int(max_points)} ROWS) REPEATABLE (0)""",
                          {"set": self.id})
        return plots.issue_map(frame, f"Problem segments by issue ({frame.height:,} shown)")

    def prevalence_chart(self, by: str = "model", top: int = 15) -> go.Figure:
        frame = self.prevalence(by)
        top_ids = self.table()["issue_id"].head(top).to_list()
        frame = frame.filter(pl.col("issue_id").is_in(top_ids)) if frame.height else frame
        return plots.prevalence_heatmap(frame, by, top_ids, f"Issue prevalence by {by} (share of instances)")

    # ---- curation (recorded in issue_events) --------------------------------------------------
    def _event(self, action: str, detail: dict) -> None:
        con = self.ws.con
        seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM issue_events WHERE issue_set_id = ?",
                          [self.id]).fetchall()[0][0]
        con.execute("INSERT INTO issue_events VALUES (?, ?, ?, ?, ?)",
                    [self.id, seq, datetime.now(timezone.utc).replace(tzinfo=None), action, json.dumps(detail)])

    def _active(self, issue_id) -> str:
        issue_id = str(issue_id)
        ok = self.ws.con.execute("SELECT count(*) FROM issues WHERE issue_set_id = ? AND issue_id = ? AND status = 'active'",
                                 [self.id, issue_id]).fetchall()[0][0]
        if not ok:
            raise UserError(f"issue {issue_id} is not an active issue of set {self.id}")
        return issue_id

    def _next_id(self) -> str:
        n = self.ws.con.execute("SELECT max(CAST(issue_id AS INTEGER)) FROM issues WHERE issue_set_id = ?",
                                [self.id]).fetchall()[0][0]
        return str((n or 0) + 1)

    def rename(self, issue_id, title: str, description: str | None = None) -> "IssueSet":
        issue_id = self._active(issue_id)
        con = self.ws.con
        old = con.execute("SELECT title FROM issues WHERE issue_set_id = ? AND issue_id = ?", [self.id, issue_id]).fetchall()[0][0]
        con.execute("UPDATE issues SET title = ?, description = coalesce(?, description) WHERE issue_set_id = ? "
                    "AND issue_id = ?", [title, description, self.id, issue_id])
        self._event("rename", {"issue": issue_id, "from": old, "to": title})
        return self

    def merge(self, issue_ids: list, title: str | None = None) -> str:
        """Merge issues into a new one (their segments move to it); returns the new issue id."""
        ids = [self._active(i) for i in issue_ids]
        if len(ids) < 2:
            raise UserError("merge needs at least two issues")
        con = self.ws.con
        new = self._next_id()
        titles = dict(con.execute("SELECT issue_id, title FROM issues WHERE issue_set_id = ? AND issue_id IN "
                                  f"({', '.join('?' for _ in ids)})", [self.id, *ids]).fetchall())
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("INSERT INTO issues SELECT issue_set_id, ?, ?, flatten(list(keywords))[:8], NULL, 'merge', 'active', "
                        "min(rank) FROM issues WHERE issue_set_id = ? AND issue_id IN "
                        f"({', '.join('?' for _ in ids)}) GROUP BY issue_set_id",
                        [new, title or titles[ids[0]], self.id, *ids])
            con.execute(f"UPDATE segment_issues SET issue_id = ? WHERE issue_set_id = ? AND issue_id IN "
                        f"({', '.join('?' for _ in ids)})", [new, self.id, *ids])
            con.execute(f"UPDATE issues SET status = 'merged' WHERE issue_set_id = ? AND issue_id IN "
                        f"({', '.join('?' for _ in ids)})", [self.id, *ids])
            self._event("merge", {"issues": ids, "into": new, "title": title or titles[ids[0]]})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return new

    def drop(self, issue_id) -> "IssueSet":
        """Drop an issue: its segments no longer count as any issue."""
        issue_id = self._active(issue_id)
        con = self.ws.con
        n = con.execute("SELECT count(*) FROM segment_issues WHERE issue_set_id = ? AND issue_id = ?",
                        [self.id, issue_id]).fetchall()[0][0]
        con.execute("UPDATE issues SET status = 'dropped' WHERE issue_set_id = ? AND issue_id = ?", [self.id, issue_id])
        self._event("drop", {"issue": issue_id, "segments": n})
        return self

    def split(self, issue_id, n: int = 2) -> list[str]:
        """Split an issue in n by k-means on its segments' embeddings (seeded); returns the new issue ids."""
        from sklearn.cluster import KMeans

        from .embed import embed
        from .naming import ctfidf_keywords, title_from_segments

        issue_id = self._active(issue_id)
        con = self.ws.con
        segs = con.execute("SELECT s.segment_id, s.masked FROM segment_issues si JOIN segments s USING "
                           "(issue_set_id, segment_id) WHERE si.issue_set_id = ? AND si.issue_id = ? ORDER BY 1",
                           [self.id, issue_id]).fetchall()
        if len(segs) < 2 * n:
            raise UserError(f"issue {issue_id} has {len(segs)} segments: too few to split in {n}")
        vectors, _ = embed(con, [s[1] for s in segs], self.params.get("embedding_model", "all-MiniLM-L6-v2"))
        labels = KMeans(n_clusters=n, n_init=10, random_state=int(self.params.get("seed", 0))).fit_predict(vectors)
        docs = {k: [segs[i][1] for i in np.flatnonzero(labels == k)] for k in range(n)}
        keywords = ctfidf_keywords(docs)
        new_ids = []
        con.execute("BEGIN TRANSACTION")
        try:
            for k in range(n):
                members = np.flatnonzero(labels == k)
                centre = vectors[members].mean(axis=0)
                sims = vectors[members] @ (centre / np.linalg.norm(centre))
                title = title_from_segments([segs[i][1].replace("X", "…") for i in members], sims, keywords[k])
                new = self._next_id()
                con.execute("INSERT INTO issues VALUES (?, ?, ?, ?, NULL, 'split', 'active', NULL)",
                            [self.id, new, title, keywords[k]])
                ids = [segs[i][0] for i in members]
                con.execute(f"UPDATE segment_issues SET issue_id = ? WHERE issue_set_id = ? AND segment_id IN "
                            f"({', '.join('?' for _ in ids)})", [new, self.id, *ids])
                new_ids.append(new)
            con.execute("UPDATE issues SET status = 'merged' WHERE issue_set_id = ? AND issue_id = ?", [self.id, issue_id])
            self._event("split", {"issue": issue_id, "into": new_ids})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return new_ids


def _group_sql(by: str) -> tuple[str, dict]:
    """A list-valued SQL expression for the group(s) an instance belongs to (pairs count for both models)."""
    if by == "model":
        return "list_distinct(list_filter([j.model, j.model_a, j.model_b], lambda x: x IS NOT NULL))", {}
    if by in GROUPS:
        return f"[{GROUPS[by]}]", {}
    if by.startswith("meta.") and len(by) > 5:
        path = '$."' + by[5:].replace('"', '\\"') + '"'
        return "[coalesce(json_extract_string(j.meta, $path), json_extract_string(j.item_meta, $path))]", {"path": path}
    raise UserError(f"cannot group by {by!r}; choose model, judge, criterion, template, dataset, category or meta.<name>")


def list_sets(ws) -> pl.DataFrame:
    return ws._sql("""
        SELECT s.issue_set_id, s.name, s.filter, s.created_at,
               (SELECT count(*) FROM issues i WHERE i.issue_set_id = s.issue_set_id AND i.status = 'active') AS issues,
               json_extract(s.stats, '$.n_judgments')::INT AS judgments,
               json_extract(s.stats, '$.coverage')::DOUBLE AS coverage
        FROM issue_sets s ORDER BY s.created_at DESC""")
