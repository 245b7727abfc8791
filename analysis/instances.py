"""One instance (judgment) in full, and comparisons of two models or judges."""

from __future__ import annotations

from typing import Any

import polars as pl

from .errors import UserError
from .filters import Filter
from .reliability.common import wilson


def instance(ws, judgment_id: str, issue_set_id: str | None = None) -> dict[str, Any]:
    """Everything about one judgment: the judgment, its item, the response(s), human labels, every other
    judgment of the same item, and the critique's segments with the issues they were assigned to."""
    j = ws._sql("SELECT * FROM judgment_view WHERE judgment_id = $id", {"id": judgment_id})
    if j.height == 0:
        raise UserError(f"no judgment {judgment_id!r} in {ws.path}")
    row = j.row(0, named=True)
    responses = ws._sql("SELECT response_id, model, text, n_chars FROM responses WHERE response_id IN "
                        "($a, $b, $c)", {"a": row["response_id"], "b": row["response_a"], "c": row["response_b"]})
    labels = ws._sql("""SELECT annotator, kind, criterion, score, scale_min, scale_max, verdict, response_id,
                               response_a, response_b FROM labels WHERE item_id = $item ORDER BY kind, annotator""",
                     {"item": row["item_id"]})
    related = ws._sql("""
        SELECT judgment_id, judge, protocol, template, criterion, model, model_a, model_b, shown_first, verdict,
               score, scale_max, parse_status, sample, critique
        FROM judgment_view WHERE item_id = $item AND judgment_id <> $id
        ORDER BY protocol, judge, template, criterion, model, shown_first LIMIT 500""",
                      {"item": row["item_id"], "id": judgment_id})
    swapped = None
    if row["protocol"] == "pairwise" and row["shown_first"]:
        s = ws._sql("""
            SELECT judgment_id, shown_first, verdict, critique FROM judgments
            WHERE item_id = $item AND judge = $judge AND protocol = 'pairwise'
              AND template IS NOT DISTINCT FROM $template AND criterion IS NOT DISTINCT FROM $criterion
              AND sample = $sample AND least(response_a, response_b) = least($a, $b)
              AND greatest(response_a, response_b) = greatest($a, $b) AND shown_first <> $shown LIMIT 1""",
                    {"item": row["item_id"], "judge": row["judge"], "template": row["template"],
                     "criterion": row["criterion"], "sample": row["sample"], "a": row["response_a"],
                     "b": row["response_b"], "shown": row["shown_first"]})
        swapped = s.row(0, named=True) if s.height else None
    segments = pl.DataFrame()
    set_id = issue_set_id or _newest_set(ws)
    if set_id:
        segments = ws._sql("""
            SELECT s.ord, s.text, s.kind, s.used, si.issue_id, i.title AS issue
            FROM segments s LEFT JOIN segment_issues si USING (issue_set_id, segment_id)
            LEFT JOIN issues i ON i.issue_set_id = s.issue_set_id AND i.issue_id = si.issue_id AND i.status = 'active'
            WHERE s.issue_set_id = $set AND s.judgment_id = $id ORDER BY s.ord""", {"set": set_id, "id": judgment_id})
    return {"judgment": row, "responses": responses, "labels": labels, "related": related, "swapped": swapped,
            "segments": segments, "issue_set": set_id}


def _newest_set(ws) -> str | None:
    rows = ws._rows("SELECT issue_set_id FROM issue_sets ORDER BY created_at DESC LIMIT 1")
    return rows[0][0] if rows else None


def compare_issues(ws, a: str, b: str, by: str = "model", issue_set_id: str | None = None,
                   filter: Filter | None = None) -> pl.DataFrame:
    """Issue prevalence of group a versus group b (models or judges): shares, their difference and a 95%
    interval for it (Newcombe's hybrid score interval from the two Wilson intervals)."""
    iset = ws.issue_set(issue_set_id)
    prev = iset.prevalence(by)
    if prev.height == 0:
        return prev
    table = iset.table().select("issue_id", "title")
    totals = {g: n for g, n in prev.select(by, "n_group").unique().iter_rows()}
    for g in (a, b):
        if g not in totals:
            raise UserError(f"{by} {g!r} has no instances in issue set {iset.id}")
    pa = prev.filter(pl.col(by) == a).select("issue_id", pl.col("n_with").alias("n_a"))
    pb = prev.filter(pl.col(by) == b).select("issue_id", pl.col("n_with").alias("n_b"))
    out = table.join(pa, on="issue_id", how="left").join(pb, on="issue_id", how="left").fill_null(0)
    rows = []
    for r in out.iter_rows(named=True):
        na, nb = totals[a], totals[b]
        p1, p2 = r["n_a"] / na, r["n_b"] / nb
        l1, u1 = wilson(r["n_a"], na)
        l2, u2 = wilson(r["n_b"], nb)
        d = p1 - p2
        lo = d - ((p1 - l1) ** 2 + (u2 - p2) ** 2) ** 0.5
        hi = d + ((u1 - p1) ** 2 + (p2 - l2) ** 2) ** 0.5
        rows.append({**r, "share_a": p1, "share_b": p2, "difference": d, "ci_low": lo, "ci_high": hi})
    frame = pl.DataFrame(rows)
    return frame.with_columns(pl.lit(a).alias("a"), pl.lit(b).alias("b")).sort("difference", descending=True,
                                                                           nulls_last=True)


def compare_instances(ws, a: str, b: str, by: str = "model", filter: Filter | None = None,
                      limit: int = 50) -> pl.DataFrame:
    """Items both groups were judged on where their mean normalised scores differ most."""
    col = {"model": "model", "judge": "judge"}.get(by)
    if col is None:
        raise UserError("compare: by must be 'model' or 'judge'")
    where, params = (filter or Filter()).where("j")
    return ws._sql(f"""
        WITH s AS (SELECT j.item_id, j.{col} AS g, avg(j.score_norm) AS score, count(*) AS n,
                          any_value(j.judgment_id) AS judgment_id
                   FROM judgment_view j WHERE {where} AND j.score_norm IS NOT NULL AND j.{col} IN (?, ?)
                   GROUP BY 1, 2)
        SELECT x.item_id, it.prompt, x.score AS score_a, y.score AS score_b, x.score - y.score AS difference,
               x.judgment_id AS judgment_a, y.judgment_id AS judgment_b
        FROM s x JOIN s y ON x.item_id = y.item_id AND x.g = ? AND y.g = ?
        JOIN items it ON it.item_id = x.item_id
        ORDER BY abs(x.score - y.score) DESC, x.item_id LIMIT {int(limit)}""", [*params, a, b, a, b])


