"""Pages of judgments for reading: text previews, the issues each judgment has in an issue set, sorted by any
column across the whole selection (in DuckDB, one page fetched at a time)."""

from __future__ import annotations

import polars as pl

from .errors import UserError
from .filters import Filter, as_filter
from .query import Query

IMPORT_ORDER = "j.run_id, j.source_line, j.judgment_id"  # the order judgments were imported in: ties end here
# sortable columns -> SQL over judgment_view j
SORTS = {
    "judge": "j.judge",
    "model": "coalesce(j.model, j.model_a)",
    "score": "j.score",
    "score_norm": "j.score_norm",
    "verdict": "j.verdict",
    "dataset": "j.dataset",
    "template": "j.template",
    "criterion": "j.criterion",
    "length": "coalesce(j.n_chars, j.n_chars_a + j.n_chars_b)",
    "status": "j.parse_status",
    "item": "j.item_id",
    "source": "j.source_line",
}
PREVIEW = 160


def page(
    q: Query,
    flt: Filter | str | dict | None = None,
    sort: str = "source",
    desc: bool = False,
    limit: int = 50,
    offset: int = 0,
    issue_set: str | None = None,
) -> pl.DataFrame:
    """One page of the selection's judgments: ids, who judged what, the outcome, prompt and critique previews,
    and the titles of the issues (of `issue_set`, default the newest) each judgment has."""
    if sort not in SORTS:
        raise UserError(f"cannot sort by {sort!r}; choose one of {', '.join(SORTS)}")
    if not (isinstance(limit, int) and 1 <= limit <= 10_000 and isinstance(offset, int) and offset >= 0):
        raise UserError("limit must be 1 to 10,000 and offset 0 or more")
    f = as_filter(flt)
    where, params = f.where("j")
    set_id = issue_set or f.issue_set
    order = f"{SORTS[sort]} {'DESC' if desc else 'ASC'} NULLS LAST, {IMPORT_ORDER}"
    issues = ""
    iparams: list = []
    if set_id:
        which, iparams = "?", [set_id]
    else:  # each judgment's issues in the newest issue set that holds it
        which, iparams = (
            "(SELECT m.issue_set_id FROM issue_set_members m JOIN issue_sets st USING (issue_set_id) "
            "WHERE m.judgment_id = p.judgment_id ORDER BY st.created_at DESC, m.issue_set_id LIMIT 1)",
            [],
        )
    if q.scalar("SELECT count(*) FROM issue_sets"):
        issues = f""", (SELECT string_agg(DISTINCT i.issue_id || '. ' || i.title, '; ' ORDER BY i.issue_id || '. ' || i.title)
                     FROM segments s JOIN segment_issues si USING (issue_set_id, segment_id)
                     JOIN issues i ON i.issue_set_id = si.issue_set_id AND i.issue_id = si.issue_id
                          AND i.status = 'active' AND i.kind = 'issue'
                     WHERE s.issue_set_id = {which} AND s.judgment_id = p.judgment_id) AS issues"""
    # the page's ids first (narrow: only the sort key), then the previews of those 50 rows
    return q.frame(
        f"""
        WITH ids AS (
            SELECT j.judgment_id, {SORTS[sort]} AS _sort, j.run_id AS _run, j.source_line AS _line
            FROM judgment_view j WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?),
        p AS (
            SELECT j.judgment_id, j.judge, j.protocol,
                   coalesce(j.model, coalesce(j.model_a, '?') || ' vs ' || coalesce(j.model_b, '?')) AS models,
                   CASE WHEN j.protocol = 'pairwise' THEN coalesce(
                            CASE j.verdict WHEN 'tie' THEN 'tie' WHEN 'a' THEN coalesce(j.model_a, 'response a') || ' better'
                                 WHEN 'b' THEN coalesce(j.model_b, 'response b') || ' better' END, j.parse_status)
                        ELSE coalesce(CAST(j.score AS VARCHAR) || ' / ' || CAST(j.scale_max AS VARCHAR), j.parse_status)
                   END AS outcome,
                   left(regexp_replace(coalesce(j.prompt, ''), '\\s+', ' ', 'g'), {PREVIEW}) AS prompt,
                   left(regexp_replace(coalesce(j.critique, ''), '\\s+', ' ', 'g'), {PREVIEW}) AS critique,
                   j.template, j.criterion, j.dataset, j.parse_status, j.item_id, ids._sort, ids._run, ids._line
            FROM ids JOIN judgment_view j USING (judgment_id))
        SELECT p.*{issues} FROM p
        ORDER BY _sort {"DESC" if desc else "ASC"} NULLS LAST, _run, _line, judgment_id""",
        [*params, limit, offset, *iparams],
    ).drop("_sort", "_run", "_line")


def selection_counts(q: Query, flt: Filter) -> dict[str, int]:
    """Judgments, items, models, judges and labels within a selection (one query)."""
    where, params = flt.where("j")
    row = q.rows(
        f"""
        WITH f AS (SELECT j.item_id, j.judge, j.model, j.model_a, j.model_b FROM judgment_view j WHERE {where})
        SELECT (SELECT count(*) FROM f), (SELECT count(DISTINCT item_id) FROM f),
               (SELECT count(DISTINCT m) FROM (SELECT unnest([model, model_a, model_b]) AS m FROM f)),
               (SELECT count(DISTINCT judge) FROM f),
               (SELECT count(*) FROM labels WHERE item_id IN (SELECT item_id FROM f))
        """,
        params,
    )[0]
    return dict(zip(("judgments", "items", "models", "judges", "labels"), row))


def judgment_ids(q: Query, flt: Filter, limit: int) -> list[str]:
    """The first `limit` judgments of a selection, in import order (the order of ws.judgments)."""
    where, params = flt.where("j")
    sql = f"SELECT j.judgment_id FROM judgment_view j WHERE {where} ORDER BY {IMPORT_ORDER} LIMIT ?"
    return [r[0] for r in q.rows(sql, [*params, int(limit)])]
