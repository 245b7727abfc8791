"""One instance (judgment) in full, as the judge saw it; and comparisons of two models or judges."""

from __future__ import annotations

import math

import json
import re
from typing import Any

import polars as pl

from .issues.pipeline import EACH_ORD
from .issues.subjects import aliases_of
from .errors import UserError
from .filters import Filter, as_filter
from .query import Query
from .verdicts import outcome_sql
from .reliability.common import wilson

SLOT_NAMES = ("A", "B")


def instance(q: Query, judgment_id: str, issue_set_id: str | None = None) -> dict[str, Any]:
    """Everything about one judgment: the judgment, its item, the response(s) — for a pairwise judgment in the
    order the judge saw them, with the names its critique uses for each — the judgment in the other order and
    its critique, human and gold labels with whether the judge agrees, every other judgment of the item, and
    the critique's segments with their issues."""
    j = q.frame("SELECT * FROM judgment_view WHERE judgment_id = ?", [judgment_id])
    if j.height == 0:
        raise UserError(f"no judgment {judgment_id!r} in {q.path}")
    row = j.row(0, named=True)
    responses = q.frame(
        "SELECT response_id, model, text, n_chars FROM responses WHERE response_id IN (?, ?, ?)",
        [row["response_id"], row["response_a"], row["response_b"]],
    )
    texts = {r["response_id"]: r for r in responses.iter_rows(named=True)}
    out: dict[str, Any] = {"judgment": row, "responses": responses, "slots": [], "swapped": None}
    if row["protocol"] == "pairwise":
        out["slots"] = _slots(row, texts)
        out["swapped"] = _swapped(q, row)
        out["critique_names"] = _critique_names(row, out["slots"])
        if out["swapped"]:  # the other order's "Output (a)" is the answer shown second here
            sw = out["swapped"]
            sw["critique_names"] = _critique_names(
                {**row, "critique": sw["critique"], "meta": None}, out["slots"][::-1]
            )
    out["labels"] = _labels(q, row)
    out["related"] = q.frame(
        """
        SELECT judgment_id, judge, protocol, template, criterion, model, model_a, model_b, shown_first, verdict,
               score, scale_max, parse_status, sample, left(critique, 200) AS critique
        FROM judgment_view WHERE item_id = ? AND judgment_id <> ?
        ORDER BY protocol, judge, template, criterion, model, shown_first LIMIT 500""",
        [row["item_id"], judgment_id],
    )
    set_id = issue_set_id or q.newest_issue_set()
    out["segments"] = pl.DataFrame()
    if set_id:
        out["segments"] = q.frame(
            """
            SELECT s.ord, s.text, s.kind, s.about, r.model AS about_model, si.issue_id, i.title AS issue, i.kind AS issue_kind
            FROM segments s LEFT JOIN segment_issues si USING (issue_set_id, segment_id)
            LEFT JOIN issues i ON i.issue_set_id = s.issue_set_id AND i.issue_id = si.issue_id AND i.status = 'active'
            LEFT JOIN responses r ON r.response_id = s.response_id
            WHERE s.issue_set_id = ? AND s.judgment_id = ? ORDER BY s.ord % ?, s.ord""",
            [set_id, judgment_id, EACH_ORD],  # a sentence about both responses: its two rows side by side
        )
    out["issue_set"] = set_id
    return out


def _slots(row: dict, texts: dict) -> list[dict]:
    """The two responses in the order shown: slot letter, response id, model, text, and whether it won."""
    first, second = (
        (row["response_b"], row["response_a"]) if row["shown_first"] == "b" else (row["response_a"], row["response_b"])
    )
    winner = {"a": row["response_a"], "b": row["response_b"]}.get(row["verdict"])
    out = []
    for letter, rid in zip(SLOT_NAMES, (first, second)):
        r = texts.get(rid, {})
        out.append(
            {
                "slot": letter,
                "response_id": rid,
                "model": r.get("model"),
                "text": r.get("text"),
                "n_chars": r.get("n_chars"),
                "won": winner == rid,
                "tie": row["verdict"] == "tie",
                "order_known": row["shown_first"] is not None,
            }
        )
    return out


_NAMES = [r"Output\s*\(({})\)", r"Assistant\s+({})\b", r"Response\s+({})\b", r"Answer\s+({})\b", r"Model\s+({})\b"]


def _critique_names(row: dict, slots: list[dict]) -> dict[str, str]:
    """What the critique calls each response ("Output (a)", "Assistant B", "Response 1", "Model 'm'") -> the
    model it stands for, so a reader can follow the critique."""
    text = row.get("critique") or ""
    names: dict[str, str] = {}
    for pos, letters in ((0, ("a", "A", "1")), (1, ("b", "B", "2"))):
        model = slots[pos]["model"] or f"response {slots[pos]['slot']}"  # the letter it has on this page
        for pattern in _NAMES:
            for letter in letters:
                for m in re.finditer(pattern.format(re.escape(letter)), text):
                    names[m.group(0)] = model
    meta = _json(row.get("meta"))
    aliases = aliases_of(meta.get("slot_aliases")) if isinstance(meta, dict) else None
    if aliases:
        by_side = {"a": row["response_a"], "b": row["response_b"]}
        model_of = {s["response_id"]: s["model"] for s in slots}
        for alias, side in aliases.items():  # quoted ("Model 'm'") or not ("Model M's answer")
            if (
                f"'{alias}'" in text
                or f'"{alias}"' in text
                or re.search(rf"\b[Mm]odel\s+{re.escape(alias)}(?![\w])", text)
            ):
                names[f"Model '{alias}'"] = model_of.get(by_side.get(side)) or side
    return names


def _swapped(q: Query, row: dict) -> dict | None:
    if not row["shown_first"]:
        return None
    s = q.frame(
        """
        SELECT judgment_id, shown_first, verdict, critique, parse_status FROM judgments
        WHERE item_id = ? AND judge = ? AND protocol = 'pairwise'
          AND template IS NOT DISTINCT FROM ? AND criterion IS NOT DISTINCT FROM ? AND sample = ?
          AND probe IS NULL AND least(response_a, response_b) = least(?, ?)
          AND greatest(response_a, response_b) = greatest(?, ?) AND shown_first <> ?
        ORDER BY judgment_id LIMIT 1""",
        [
            row["item_id"],
            row["judge"],
            row["template"],
            row["criterion"],
            row["sample"],
            row["response_a"],
            row["response_b"],
            row["response_a"],
            row["response_b"],
            row["shown_first"],
        ],
    )
    if not s.height:
        return None
    sw = s.row(0, named=True)
    winner = {"a": row["response_a"], "b": row["response_b"]}
    sw["same_verdict"] = winner.get(sw["verdict"], sw["verdict"]) == winner.get(row["verdict"], row["verdict"])
    return sw


def _labels(q: Query, row: dict) -> list[dict]:
    """Human and gold labels on this judgment's response (pointwise) or pair, each with whether the judge agrees."""
    frame = q.frame(
        """
        SELECT annotator, kind, criterion, score, scale_min, scale_max, score_norm, verdict, response_id, response_a,
               response_b FROM labels WHERE item_id = ? ORDER BY kind, annotator""",
        [row["item_id"]],
    )
    out = []
    for lab in frame.iter_rows(named=True):
        if row["protocol"] == "pairwise":
            if lab["response_a"] is None or {lab["response_a"], lab["response_b"]} != {
                row["response_a"],
                row["response_b"],
            }:
                continue
            names = {"a": lab["response_a"], "b": lab["response_b"], "tie": "tie"}
            says = names.get(lab["verdict"])
            judge = {"a": row["response_a"], "b": row["response_b"], "tie": "tie"}.get(row["verdict"])
            agrees = None if says is None or judge is None else says == judge
            lab["prefers"] = says
        else:
            if lab["response_id"] != row["response_id"] or lab["criterion"] != row["criterion"]:
                continue
            agrees = (
                None
                if lab["score_norm"] is None or row["score_norm"] is None
                else abs(lab["score_norm"] - row["score_norm"]) < 0.25
            )
        lab["judge_agrees"] = agrees
        out.append(lab)
    return out


def _json(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def compare_issues(iset, a: str, b: str, by: str = "model", filter: Filter | str | dict | None = None) -> pl.DataFrame:
    """Issue prevalence of group a versus group b (models or judges) within the filter: shares, their difference
    and a 95% interval for it (Newcombe's hybrid score interval from the two Wilson intervals), the two-sided
    p-value of a two-proportion z-test, and `significant`: that p-value below 0.05 after Holm's correction over
    every issue compared (p_holm). The largest differences come first, whichever side they favour."""
    prev = iset.prevalence(by, filter)
    if prev.height == 0:
        return prev
    table = iset.table(filter).select("issue_id", "title", "category_title")
    totals = {g: n for g, n in prev.select(by, "n_group").unique().iter_rows()}
    for g in (a, b):
        if g not in totals:
            raise UserError(f"{by} {g!r} has no instances in issue set {iset.id} within this selection")
    pa = prev.filter(pl.col(by) == a).select("issue_id", pl.col("n_with").alias("n_a"))
    pb = prev.filter(pl.col(by) == b).select("issue_id", pl.col("n_with").alias("n_b"))
    out = table.join(pa, on="issue_id", how="left").join(pb, on="issue_id", how="left").fill_null(0)
    rows = []
    na, nb = totals[a], totals[b]
    for r in out.iter_rows(named=True):
        p1, p2 = r["n_a"] / na, r["n_b"] / nb
        l1, u1 = wilson(r["n_a"], na)
        l2, u2 = wilson(r["n_b"], nb)
        d = p1 - p2
        lo = d - ((p1 - l1) ** 2 + (u2 - p2) ** 2) ** 0.5
        hi = d + ((u1 - p1) ** 2 + (p2 - l2) ** 2) ** 0.5
        pooled = (r["n_a"] + r["n_b"]) / (na + nb)
        se = (pooled * (1 - pooled) * (1 / na + 1 / nb)) ** 0.5
        p_value = math.erfc(abs(d) / se / 2**0.5) if se > 0 else 1.0
        rows.append(
            {**r, "share_a": p1, "share_b": p2, "difference": d, "ci_low": lo, "ci_high": hi, "p_value": p_value}
        )
    holm = _holm([x["p_value"] for x in rows])
    for x, h in zip(rows, holm):
        x["p_holm"] = h
        x["significant"] = h < 0.05
    frame = pl.DataFrame(rows)
    # the largest differences first, whichever side they favour
    return frame.with_columns(pl.lit(a).alias("a"), pl.lit(b).alias("b")).sort(
        pl.col("difference").abs(), "issue_id", descending=[True, False], nulls_last=True
    )


def _holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error over the issues compared)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    out = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        out[i] = running
    return out


def compare_instances(
    q: Query, a: str, b: str, by: str = "model", filter: Filter | str | dict | None = None, limit: int = 50
) -> pl.DataFrame:
    """Items both groups were judged on where their results differ most: the item, its prompt (160 characters), each
    side's mean result as judged (`raw_a`, `raw_b`) and on 0-1 (`score_a`, `score_b`), the difference, a judgment of
    each side, and `basis`: 'score' (pointwise: the mean score, normalised by its scale) or 'verdicts' (pairwise, by
    model: the share of the item's comparisons the model won, a tie as half; a pair of a model with itself is none)."""
    col = {"model": "model", "judge": "judge"}.get(by)
    if col is None:
        raise UserError("compare: by must be 'model' or 'judge'")
    where, params = as_filter(filter).where("j")
    pairwise, pairwise_params = "", []
    for side in ("a", "b") if by == "model" else ():
        pairwise += f"""
        UNION ALL
        SELECT j.item_id, j.model_{side} AS g, {outcome_sql("j.", side)}, NULL, j.judgment_id, 'verdicts'
        FROM judgment_view j WHERE {where} AND j.protocol = 'pairwise' AND j.verdict IS NOT NULL
             AND j.model_a IS DISTINCT FROM j.model_b AND j.model_{side} IN (?, ?)"""
        pairwise_params += [*params, a, b]
    return q.frame(
        f"""
        WITH u AS (SELECT j.item_id, j.{col} AS g, j.score_norm AS score, j.score AS raw, j.judgment_id,
                          'score' AS basis
                   FROM judgment_view j WHERE {where} AND j.score_norm IS NOT NULL AND j.{col} IN (?, ?){pairwise}),
        s AS (SELECT item_id, g, avg(score) AS score, coalesce(avg(raw), avg(score)) AS raw,
                     min(judgment_id) AS judgment_id, min(basis) AS basis
              FROM u GROUP BY 1, 2)
        SELECT x.item_id, left(it.prompt, 160) AS prompt, x.raw AS raw_a, y.raw AS raw_b, x.score AS score_a,
               y.score AS score_b, x.score - y.score AS difference, x.judgment_id AS judgment_a,
               y.judgment_id AS judgment_b, x.basis
        FROM s x JOIN s y ON x.item_id = y.item_id AND x.g = ? AND y.g = ?
        JOIN items it ON it.item_id = x.item_id
        ORDER BY abs(x.score - y.score) DESC, x.item_id LIMIT ?""",
        [*params, a, b, *pairwise_params, a, b, int(limit)],
    )
