"""Self-preference: does a judge favour responses from its own model family?"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import polars as pl

from ..identities import DEFAULT as DEFAULT_IDENTITIES
from ..identities import Identities
from .common import AuditRow, bootstrap_ratio, bootstrap_stat, row, unavailable
from .context import AuditContext

# (family, name patterns), first match wins; more specific names first. Override with family_map=.
DEFAULT_FAMILIES: list[tuple[str, list[str]]] = [
    ("cerebras", ["cerebras"]),
    ("eleutherai", ["pythia", "gpt-j", "gpt-neo"]),
    ("pandalm", ["pandalm"]),
    ("lmsys", ["vicuna"]),
    ("microsoft", ["wizardlm", "wizard", "phi-", "orca"]),
    ("openai", ["gpt", "chatgpt", "chat_gpt", "o1", "o3", "o4", "davinci"]),
    ("anthropic", ["claude"]),
    ("google", ["gemini", "gemma", "palm", "bison", "bard"]),
    ("meta", ["llama", "opt-"]),
    ("mistral", ["mistral", "mixtral"]),
    ("alibaba", ["qwen"]),
    ("deepseek", ["deepseek"]),
    ("tii", ["falcon"]),
    ("bigscience", ["bloom"]),
    ("01-ai", ["yi-"]),
    ("cohere", ["command"]),
    ("openchat", ["openchat"]),
    ("nexusflow", ["starling"]),
]


def family_of(
    name: str | None, families: list[tuple[str, list[str]]] | None = None, identities: Identities | None = None
) -> str | None:
    """The model family a model or judge name belongs to, by the first matching pattern, matched on the name's
    identity (analysis/identities.py: your aliases, then the built-in rewrites such as 'openai:gpt-4o' ->
    'gpt-4o'), then on the raw name."""
    if not name:
        return None
    fams = tuple((f, tuple(p)) for f, p in (families or DEFAULT_FAMILIES))
    canonical = (identities or DEFAULT_IDENTITIES).canonical(name)
    return _family(canonical, fams) or (_family(name, fams) if canonical != name else None)


@lru_cache(maxsize=65536)
def _family(name: str, families: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    text = name.lower()
    for family, patterns in families:
        for p in patterns:
            if re.search(r"(^|[/_\-\s.])" + re.escape(p), text) or text.startswith(p):
                return family
    return None


def _families(family_map: dict[str, str] | None) -> list[tuple[str, list[str]]]:
    if not family_map:
        return DEFAULT_FAMILIES
    extra: dict[str, list[str]] = {}
    for pattern, family in family_map.items():
        extra.setdefault(family, []).append(pattern.lower())
    return list(extra.items()) + DEFAULT_FAMILIES


def self_preference_metrics(
    ctx: AuditContext, family_map: dict[str, str] | None = None, identities: Identities | None = None
) -> list[AuditRow]:
    ids = identities or DEFAULT_IDENTITIES
    fams = _families(ids.family_map(family_map))

    def fam_of(name):
        return family_of(name, fams, ids)

    judge_family = {
        j: fam_of(ctx.rows("SELECT any_value(judge) FROM aj WHERE jkey = ?", [j])[0][0]) for j in ctx.judges()
    }
    return _pointwise_offsets(ctx, judge_family, fam_of) + _pairwise_win_rates(ctx, judge_family, fam_of)


def _pointwise_offsets(ctx: AuditContext, judge_family: dict, fam_of) -> list[AuditRow]:
    """self_preference_offset per pointwise judge: its own family's score minus the others' (against the human
    score where there is one)."""
    out: list[AuditRow] = []
    # pointwise: own family's mean normalised score minus the others'
    point = ctx.frame("""
        SELECT jkey, item_id, model, score_norm,
               (SELECT avg(l.score_norm) FROM labels l WHERE l.kind = 'human' AND l.response_id = aj.response_id
                  AND l.criterion IS NOT DISTINCT FROM aj.criterion) AS human
        FROM aj WHERE protocol = 'pointwise' AND probe IS NULL AND score_norm IS NOT NULL AND model IS NOT NULL
        ORDER BY jkey, judgment_id  -- the means below sum in this order: the same value in every run""")
    for j in ctx.pointwise_judges():
        fam = judge_family.get(j)
        g = point.filter(pl.col("jkey") == j)
        if fam is None:
            out.append(
                unavailable(j, "self_preference_offset", "the judge's model family is unknown (pass family_map)")
            )
            continue
        own = np.array([fam_of(m) == fam for m in g["model"]])
        if own.all() or not own.any():
            out.append(
                unavailable(j, "self_preference_offset", f"no responses from both its own family ({fam}) and others")
            )
            continue
        s = g["score_norm"].to_numpy()
        h = g["human"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        has_h = ~np.isnan(h)
        items = g["item_id"].to_numpy()
        if has_h[own].any() and has_h[~own].any():
            d = s - h
            value = d[own & has_h].mean() - d[~own & has_h].mean()
            note = (
                f"family {fam}: (judge − human) on its own family's responses minus the same on others'; "
                "0 = no self-preference; 95% CI: bootstrap over items"
            )
            arrays = [d[has_h], own[has_h], items[has_h]]
        else:
            value = s[own].mean() - s[~own].mean()
            note = (
                f"family {fam}: mean normalised score of its own family's responses minus others'; no human "
                "labels, so this mixes self-preference with real quality differences; 95% CI: bootstrap over items"
            )
            arrays = [s, own, items]
        ci = _boot_gap(*arrays)
        out.append(row(j, "self_preference_offset", float(value), ci, int(own.sum()), note))
    return out


def _pairwise_win_rates(ctx: AuditContext, judge_family: dict, fam_of) -> list[AuditRow]:
    """self_preference_win_rate per pairwise judge, and its offset against the reference on labelled pairs."""
    out: list[AuditRow] = []
    # pairwise: how often the judge picks its own family's response, against how often the reference does
    pair = ctx.frame(f"""
        WITH pw AS ({ctx.pairwise_sql()}), ref AS ({ctx.pair_labels_sql("human")}),
        g AS ({ctx.pair_labels_sql("gold")})
        SELECT pw.jkey, pw.item_id, pw.model_a, pw.model_b, pw.response_a, pw.response_b, pw.winner,
               coalesce(g.ref, ref.ref) AS ref
        FROM pw LEFT JOIN ref USING (item_id, r_lo, r_hi) LEFT JOIN g USING (item_id, r_lo, r_hi)
        WHERE pw.winner IS NOT NULL AND pw.winner <> 'tie'""")
    for j in ctx.pairwise_judges():
        fam = judge_family.get(j)
        g = pair.filter(pl.col("jkey") == j)
        if fam is None:
            out.append(
                unavailable(j, "self_preference_win_rate", "the judge's model family is unknown (pass family_map)")
            )
            continue
        fa = np.array([fam_of(m) == fam for m in g["model_a"]], dtype=bool)
        fb = np.array([fam_of(m) == fam for m in g["model_b"]], dtype=bool)
        mixed = fa ^ fb
        if not mixed.any():
            out.append(
                unavailable(j, "self_preference_win_rate", f"no pair with exactly one response from its family ({fam})")
            )
            continue
        own_rid = np.where(fa, g["response_a"].to_numpy(), g["response_b"].to_numpy())
        picked_own = (g["winner"].to_numpy() == own_rid)[mixed]
        items = g["item_id"].to_numpy()[mixed]
        per = (
            pl.DataFrame({"item": items, "k": picked_own.astype(float)})
            .group_by("item")
            .agg(k=pl.col("k").sum(), n=pl.len())
        )
        out.append(
            row(
                j,
                "self_preference_win_rate",
                float(picked_own.mean()),
                bootstrap_ratio(per["k"].to_numpy(), per["n"].to_numpy(), clip=(0.0, 1.0)),
                int(mixed.sum()),
                f"family {fam}: share of mixed pairs where it picked its own family's response; "
                "0.5 = neutral, but quality differences count too; 95% CI: bootstrap over items",
            )
        )
        ref = g["ref"].to_numpy()[mixed]
        has_ref = np.array([r is not None and r != "tie" for r in ref])
        if has_ref.any():
            ref_own = ref[has_ref] == own_rid[mixed][has_ref]
            diff = picked_own[has_ref].astype(float) - ref_own.astype(float)
            ci = _boot_mean(diff, items[has_ref])
            out.append(
                row(
                    j,
                    "self_preference_offset",
                    float(diff.mean()),
                    ci,
                    int(has_ref.sum()),
                    f"family {fam}: P(judge picks own family) minus P(reference picks it) on labelled mixed "
                    "pairs; 0 = no self-preference; 95% CI: bootstrap over items",
                )
            )
    return out


def _in_order(values: np.ndarray, own: np.ndarray, items: np.ndarray):
    """The rows sorted by item, ownership and value: each item's float sums add up in the same order whatever
    order the query returned the rows in (else the last digits, and so the resampling, could differ)."""
    order = np.lexsort((values, own, items))
    return values[order], own[order], items[order]


def _boot_gap(values: np.ndarray, own: np.ndarray, items: np.ndarray):
    values, own, items = _in_order(values, own, items)
    uniq, inv = np.unique(items, return_inverse=True)
    s_own = np.bincount(inv, weights=values * own, minlength=len(uniq))
    n_own = np.bincount(inv, weights=own.astype(float), minlength=len(uniq))
    s_oth = np.bincount(inv, weights=values * ~own, minlength=len(uniq))
    n_oth = np.bincount(inv, weights=(~own).astype(float), minlength=len(uniq))

    def stat(a):
        so, no, sx, nx = a
        return so.sum() / no.sum() - sx.sum() / nx.sum() if no.sum() and nx.sum() else None

    return bootstrap_stat([s_own, n_own, s_oth, n_oth], stat)


def _boot_mean(values: np.ndarray, items: np.ndarray):
    values, _, items = _in_order(values, np.zeros(len(values), dtype=bool), items)
    uniq, inv = np.unique(items, return_inverse=True)
    s = np.bincount(inv, weights=values, minlength=len(uniq))
    n = np.bincount(inv, minlength=len(uniq)).astype(float)
    return bootstrap_ratio(s, n)
