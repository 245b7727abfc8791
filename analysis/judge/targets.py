"""What a judge run looks at, selected in DuckDB: responses (pointwise), pairs of responses (pairwise) and,
for probes, the judgments to perturb.

A Filter's response-level fields (model, dataset, category) select responses directly; any other field
(judge, template, score, issue, label, ...) selects the responses that appear in the judgments it matches."""

from __future__ import annotations

import json

import polars as pl

from ..errors import UserError
from ..filters import Filter
from ..verdicts import winner_sql

RESPONSE_FIELDS = {"model", "dataset", "category"}
_COLS = "r.response_id, r.item_id, r.model, r.text, r.n_chars, i.prompt, i.reference, i.dataset, i.category"


def _response_where(flt: Filter) -> tuple[str, list]:
    conds, params = ["TRUE"], []
    for name, col in (("model", "r.model"), ("dataset", "i.dataset"), ("category", "i.category")):
        values = getattr(flt, name)
        if values:
            conds.append(f"{col} IN ({', '.join('?' * len(values))})")
            params += list(values)
    rest = {k for k in flt.to_dict()} - RESPONSE_FIELDS
    if rest:
        where, p = flt.where("j")
        conds.append(
            f"r.response_id IN (SELECT unnest([j.response_id, j.response_a, j.response_b]) "
            f"FROM judgment_view j WHERE {where})"
        )
        params += p
    return " AND ".join(conds), params


def responses(con, flt: Filter, limit: int | None = None) -> pl.DataFrame:
    where, params = _response_where(flt)
    sql = (
        f"SELECT {_COLS} FROM responses r JOIN items i USING (item_id) WHERE {where} AND r.text IS NOT NULL "
        f"ORDER BY r.item_id, r.model, r.response_id" + (f" LIMIT {int(limit)}" if limit else "")
    )
    return con.sql(sql, params=params).pl()


def pairs(con, flt: Filter, mode: str = "auto", baseline: str | None = None, limit: int | None = None) -> pl.DataFrame:
    """Pairs to compare (response_a, response_b, with texts and models), canonical order a < b unless a baseline
    is given (then the baseline is a). mode: existing (pairs already judged pairwise in the selection),
    baseline (every selected response against `baseline`'s answer to the same item), all (every pair of selected
    responses of an item), auto (baseline if given, else existing if any, else all)."""
    if mode == "auto":
        if baseline:
            mode = "baseline"
        else:
            where, params = flt.where("j")
            n = con.execute(
                f"SELECT count(*) FROM judgment_view j WHERE {where} AND j.protocol = 'pairwise'", params
            ).fetchall()[0][0]
            mode = "existing" if n else "all"
    if mode == "existing":
        where, params = flt.where("j")
        sql = f"""SELECT DISTINCT j.item_id, least(j.response_a, j.response_b) AS response_a,
                         greatest(j.response_a, j.response_b) AS response_b
                  FROM judgment_view j WHERE {where} AND j.protocol = 'pairwise'
                    AND j.response_a IS NOT NULL AND j.response_b IS NOT NULL AND j.response_a <> j.response_b"""
    elif mode == "baseline":
        if not baseline:
            raise UserError("pairs=baseline needs a baseline model")
        where, params = _response_where(flt)
        sql = f"""SELECT r.item_id, b.response_id AS response_a, r.response_id AS response_b
                  FROM responses r JOIN items i USING (item_id)
                  JOIN responses b ON b.item_id = r.item_id AND b.model = ?
                  WHERE {where} AND r.model IS DISTINCT FROM ? AND r.text IS NOT NULL AND b.text IS NOT NULL"""
        params = [baseline] + params + [baseline]
        if not con.execute("SELECT count(*) FROM responses WHERE model = ?", [baseline]).fetchall()[0][0]:
            raise UserError(f"no response by the baseline model {baseline!r} in the workspace")
    elif mode == "all":
        where, params = _response_where(flt)
        sql = f"""WITH sel AS (SELECT r.response_id, r.item_id FROM responses r JOIN items i USING (item_id)
                               WHERE {where} AND r.text IS NOT NULL)
                  SELECT x.item_id, x.response_id AS response_a, y.response_id AS response_b
                  FROM sel x JOIN sel y ON x.item_id = y.item_id AND x.response_id < y.response_id"""
    else:
        raise UserError(f"pairs must be auto, existing, baseline or all, not {mode!r}")
    sql = f"""WITH p AS ({sql})
              SELECT p.item_id, p.response_a, p.response_b, a.model AS model_a, b.model AS model_b,
                     a.text AS text_a, b.text AS text_b, a.n_chars AS n_chars_a, b.n_chars AS n_chars_b,
                     i.prompt, i.reference, i.dataset, i.category
              FROM p JOIN responses a ON a.response_id = p.response_a JOIN responses b ON b.response_id = p.response_b
              JOIN items i ON i.item_id = p.item_id
              ORDER BY p.item_id, p.response_a, p.response_b""" + (f" LIMIT {int(limit)}" if limit else "")
    return con.sql(sql, params=params).pl()


def parents(con, flt: Filter, limit: int | None = None) -> pl.DataFrame:
    """Unprobed judgments to perturb, with what the judge saw and the pair's human/gold winner if labelled."""
    where, params = flt.where("j")
    sql = f"""
        WITH sel AS (SELECT * FROM judgment_view j WHERE {where} AND j.probe IS NULL AND j.parse_status = 'ok'),
        lab AS (SELECT item_id, least(response_a, response_b) AS lo, greatest(response_a, response_b) AS hi,
                       mode({winner_sql(tie="NULL")}) AS gold_winner
                FROM labels WHERE verdict IN ('a', 'b') AND item_id IN (SELECT item_id FROM sel) GROUP BY ALL)
        SELECT s.judgment_id, s.item_id, s.judge, s.protocol, s.criterion, s.response_id, s.response_a, s.response_b,
               coalesce(s.shown_first, 'a') AS shown_first, s.verdict, s.score_norm,
               s.model, s.model_a, s.model_b, s.n_chars, s.n_chars_a, s.n_chars_b,
               r.text, ra.text AS text_a, rb.text AS text_b, s.prompt, s.reference, s.dataset, s.category, lab.gold_winner
        FROM sel s
        LEFT JOIN responses r ON r.response_id = s.response_id
        LEFT JOIN responses ra ON ra.response_id = s.response_a
        LEFT JOIN responses rb ON rb.response_id = s.response_b
        LEFT JOIN lab ON lab.item_id = s.item_id AND lab.lo = least(s.response_a, s.response_b)
                     AND lab.hi = greatest(s.response_a, s.response_b)
        WHERE (s.protocol = 'pointwise' AND r.text IS NOT NULL)
           OR (s.protocol = 'pairwise' AND ra.text IS NOT NULL AND rb.text IS NOT NULL AND s.response_a <> s.response_b)
        ORDER BY s.judgment_id""" + (f" LIMIT {int(limit)}" if limit else "")
    return con.sql(sql, params=params).pl()


def criteria_info(con, names: list[str]) -> dict[str, tuple[str, dict]]:
    """Description and level descriptions of criteria known to the workspace (from imported rubrics)."""
    if not names:
        return {}
    rows = con.execute(
        "SELECT criterion, any_value(description), any_value(levels) FROM criteria "
        f"WHERE criterion IN ({', '.join('?' * len(names))}) GROUP BY criterion",
        names,
    ).fetchall()
    return {c: (d or "", json.loads(lv) if isinstance(lv, str) else (lv or {})) for c, d, lv in rows}
