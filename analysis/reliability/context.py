"""The selection an audit works on: the filtered judgments, copied once into a narrow temp table on
a private cursor, so every metric is a plain query and concurrent audits do not see each other."""

from __future__ import annotations

import dataclasses
from typing import Any

import polars as pl

from ..filters import Filter
from ..verdicts import shown_sql, winner_sql
from .common import AuditRow, judge_key, unavailable

COLUMNS = (
    "judgment_id, item_id, judge, protocol, criterion, template, sample, probe, parent_judgment_id, "
    "response_id, response_a, response_b, shown_first, verdict, score, score_norm, scale_min, scale_max, "
    "parse_status, model, model_a, model_b, n_chars, n_chars_a, n_chars_b"
)


class AuditContext:
    def __init__(self, q, flt: Filter, by: str = "judge"):
        """q: the workspace's Query (a private cursor is taken from its connection)."""
        self.by = by
        self.cur = q.con.cursor()
        where, params = self.where(flt)
        cols = ", ".join(f"j.{c.strip()}" for c in COLUMNS.split(","))
        self.cur.execute(
            f"CREATE OR REPLACE TEMP TABLE aj AS SELECT {judge_key(by)} AS jkey, {cols} "
            f"FROM judgment_view j WHERE {where}",
            params,
        )

    @staticmethod
    def where(flt: Filter) -> tuple[str, list[Any]]:
        """The selection's condition on judgment_view `j`: the audit compares probe variants with their baselines,
        so it takes both unless the filter names probes (plain metrics skip probes)."""
        return (flt if flt.probe else dataclasses.replace(flt, probe=("any",))).where("j")

    def close(self) -> None:
        self.cur.close()

    def __enter__(self) -> "AuditContext":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- queries ------------------------------------------------------------------------------
    def frame(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        return self.cur.sql(sql, params=params or None).pl()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return self.cur.execute(sql, params or []).fetchall()

    def judges(self, protocol: str | None = None) -> list[str]:
        cond = f"WHERE protocol = '{protocol}'" if protocol in ("pointwise", "pairwise") else ""
        return [r[0] for r in self.rows(f"SELECT DISTINCT jkey FROM aj {cond} ORDER BY 1")]

    def pairwise_judges(self) -> list[str]:
        return self.judges("pairwise")

    def pointwise_judges(self) -> list[str]:
        return self.judges("pointwise")

    def none(self, judge: str | None, metric: str, why: str) -> AuditRow:
        return unavailable(judge, metric, why)

    # ---- building blocks ------------------------------------------------------------------------
    @staticmethod
    def pairwise_sql() -> str:
        """Unprobed pairwise judgments with the pair as (r_lo, r_hi) and the first-shown and winning response ids.
        Pairs of two identical responses (same model and text) are left out: any verdict on them is arbitrary."""
        return f"""
            SELECT jkey, judgment_id, judge, item_id, template, criterion, sample, parse_status,
                   least(response_a, response_b) AS r_lo, greatest(response_a, response_b) AS r_hi,
                   {shown_sql("", "first", known_only=True)} AS first_rid, {winner_sql()} AS winner,
                   CASE WHEN n_chars_a IS NULL OR n_chars_b IS NULL OR n_chars_a = n_chars_b THEN NULL
                        WHEN n_chars_a > n_chars_b THEN response_a ELSE response_b END AS longer_rid,
                   model_a, model_b, response_a, response_b
            FROM aj WHERE protocol = 'pairwise' AND probe IS NULL
              AND response_a IS DISTINCT FROM response_b /* two identical responses are no comparison */"""

    @staticmethod
    def annotator_labels_sql(kind: str, of_selection: str = "AND item_id IN (SELECT item_id FROM aj)") -> str:
        """Every `kind` label on a pair of the selection (of_selection="": of the workspace): annotator, the pair
        as (r_lo, r_hi) and the winning response id (or 'tie')."""
        return f"""
            SELECT item_id, least(response_a, response_b) AS r_lo, greatest(response_a, response_b) AS r_hi,
                   annotator, {winner_sql()} AS ref
            FROM labels WHERE kind = '{kind}' AND verdict IS NOT NULL AND response_a IS NOT NULL {of_selection}"""

    @classmethod
    def pair_labels_sql(cls, kind: str) -> str:
        """Per labelled pair: the reference winner (strict majority of the annotators of `kind`, 'tie' allowed),
        the number of annotators, and whether they all agreed."""
        return f"""
            WITH votes AS (
                SELECT item_id, r_lo, r_hi, ref, count(*) AS v,
                       sum(count(*)) OVER (PARTITION BY item_id, r_lo, r_hi) AS total
                FROM ({cls.annotator_labels_sql(kind)}) GROUP BY item_id, r_lo, r_hi, ref
            )
            SELECT item_id, r_lo, r_hi, ref, total AS n_annotators FROM votes WHERE v * 2 > total"""
