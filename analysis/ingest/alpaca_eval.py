"""AlpacaEval annotations: instruction, output_1, generator_1, output_2, generator_2, annotator, preference,
raw_completion, referenced_models.

`preference` is 1 (output_1 preferred), 2 (output_2), 1.5 (a tie; AlpacaEval writes it without asking the
judge when both outputs are identical), 0 (older files' spelling of identical outputs, read as a tie), or a
number in between from the weighted annotators (1 + the probability that output_2 is better: below 1.5 is
output_1, above is output_2; kept in meta.p_output_2).

AlpacaEval shows the two outputs to the judge in a random order under the aliases 'm' (shown first) and 'M'.
`referenced_models` maps each alias to what it stood for, written either as an output key
({"m": "output_2", "M": "output_1"}, the real annotations files) or as a generator name ({"m": "alpaca-7b"}),
and may be a JSON or Python-literal string. From it come `shown_first` (the response 'm' stood for) and
meta.slot_aliases ({"m": "b", "M": "a"} in the response frame: 'a' = output_1, 'b' = output_2), so a critique's
"Model m" can be read as the response it names. Without referenced_models, a raw completion that ranks the
aliases (`ordered_models`, rank 1 = the preferred output) gives the same mapping, as AlpacaEval itself derives
it. When the judge ranked both aliases equal, AlpacaEval's referenced_models reuses another row's alias, so
the order is left unknown (meta.slot_aliases_from = "ranks_tied"). The critique is the completion's
concise_explanation (or explanation).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from .batch import JUDGMENT_SCHEMA, UNKNOWN_JUDGE, Reject, SourceBatch, clip_raw, to_json
from .jsonscan import loads_or
from .readers import flat_frame, read_records, text_value

KEYS = {"instruction", "output_1", "output_2", "preference"}
FIRST_ALIAS = "m"  # AlpacaEval's prompts show output 'm' first and 'M' second


def _obj(value: Any) -> Any:
    """A dict or list written as JSON or as a Python literal (AlpacaEval files hold both), else the value."""
    if isinstance(value, str) and value.strip()[:1] in "{[":
        text = value.strip()
        parsed = loads_or(text, None)
        if parsed is not None:
            return parsed
        try:
            return ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return value
    return value


def _preference(pref: Any) -> float | None:
    try:
        p = float(pref)
    except (TypeError, ValueError):
        return None
    return p if p == p else None  # NaN -> None


def _verdict(p: float | None) -> str | None:
    if p is None:
        return None
    if p == 0 or p == 1.5:
        return "tie"
    if 1 <= p < 1.5:
        return "a"
    if 1.5 < p <= 2:
        return "b"
    return None


def _slot(value: Any, g1: Any, g2: Any) -> str | None:
    """What a referenced_models value names, in the response frame: output_1 / generator_1 -> 'a'."""
    if value in ("output_1", 1, "1"):
        return "a"
    if value in ("output_2", 2, "2"):
        return "b"
    if value is not None and g1 != g2:
        if value == g1:
            return "a"
        if value == g2:
            return "b"
    return None


def _ranks(raw: Any) -> dict | None:
    """rank -> alias of a raw completion's `ordered_models`; {} when the ranking is not a strict 1, 2."""
    ranked = raw.get("ordered_models") if isinstance(raw, dict) else None
    if not isinstance(ranked, list):
        return None
    by_rank = {m.get("rank"): m.get("model") for m in ranked if isinstance(m, dict)}
    if (
        len(ranked) != 2
        or set(by_rank) != {1, 2}
        or not all(isinstance(v, str) for v in by_rank.values())
        or by_rank[1] == by_rank[2]
    ):
        return {}
    return by_rank


def slot_aliases(refs: Any, raw: Any, p: float | None, g1: Any, g2: Any) -> tuple[dict[str, str] | None, str | None]:
    """(alias -> 'a'/'b', where it came from) from referenced_models, else from a ranked raw completion.

    AlpacaEval derives referenced_models from the ranking and the preference; when the judge ranked both
    aliases equal that derivation reuses another row's alias, so neither is trusted then."""
    ranks = _ranks(raw)
    if ranks == {}:
        return None, "ranks_tied"
    if isinstance(refs, dict) and refs:
        slots = {str(k): _slot(v, g1, g2) for k, v in refs.items()}
        named = {k: slot for k, slot in slots.items() if slot}
        if len(named) == len(slots) and len(set(named.values())) == len(named):
            return named, "referenced_models"
        return None, None
    if ranks and p in (1.0, 2.0):
        win = "a" if p == 1.0 else "b"
        return {ranks[1]: win, ranks[2]: "b" if win == "a" else "a"}, "ordered_models"
    return None, None


def read(path: Path) -> list[SourceBatch]:
    recs = read_records(path)
    rows, rejects = [], list(recs.rejects)
    n_aliased = 0
    for line, r in zip(recs.lines, recs.rows):
        if r.get("instruction") is None or r.get("output_1") is None or r.get("output_2") is None:
            rejects.append(
                Reject(recs.source, line, "instruction", "expected instruction, output_1 and output_2", clip_raw(r))
            )
            continue
        g1, g2 = text_value(r.get("generator_1")), text_value(r.get("generator_2"))
        instruction, out1, out2 = (text_value(r[k]) for k in ("instruction", "output_1", "output_2"))
        assert instruction is not None  # checked above; text_value gives None only for None
        dataset = text_value(r.get("dataset"))
        refs = _obj(r.get("referenced_models"))
        raw = _obj(r.get("raw_completion"))
        pref = r.get("preference")
        p = _preference(pref)
        verdict = _verdict(p)
        aliases, aliases_from = slot_aliases(refs, raw, p, g1, g2)
        shown_first = aliases.get(FIRST_ALIAS) if aliases else None
        n_aliased += shown_first is not None
        critique = None
        if isinstance(raw, dict):
            critique = raw.get("concise_explanation") or raw.get("explanation")
        elif isinstance(raw, str) and raw.strip():
            critique = raw
        annotator = text_value(r.get("annotator") or UNKNOWN_JUDGE)
        identical = out1 == out2
        rows.append(
            {
                "item_key": dataset + "\x1f" + instruction if dataset else instruction,
                "prompt": instruction,
                "category": dataset,
                "item_meta": to_json({"dataset": dataset}),
                "protocol": "pairwise",
                "judge": annotator,
                "template": annotator,
                "model_a": g1,
                "response_a": out1,
                "model_b": g2,
                "response_b": out2,
                "shown_first": shown_first,
                "verdict": verdict,
                "critique": critique,
                "raw_output": raw
                if isinstance(raw, str)
                else (json.dumps(raw, ensure_ascii=False, default=str) if raw else None),
                "parse_status": "ok" if verdict else ("unparsed" if pref is not None or raw else "missing"),
                "judgment_key": "\x1f".join(str(x) for x in (instruction, g1, g2, annotator, out1, out2)),
                "source": recs.source,
                "source_line": line,
                "meta": to_json(
                    {
                        "preference": pref,
                        "referenced_models": refs if isinstance(refs, dict) else None,
                        "slot_aliases": aliases,
                        "slot_aliases_from": aliases_from,
                        "p_output_2": round(p - 1, 6) if p is not None and 1 < p < 2 and p != 1.5 else None,
                        "identical_outputs": True if identical else None,
                        "price_per_example": r.get("price_per_example"),
                        "time_per_example": r.get("time_per_example"),
                    }
                ),
            }
        )
    notes = list(recs.notes)
    if rows:
        notes.append(
            f"{Path(recs.source).name}: the order shown to the judge is known for {n_aliased:,} of "
            f"{len(rows):,} annotations (referenced_models or a ranked completion)"
        )
    return [
        SourceBatch(
            recs.source, recs.n_source_rows, judgments=flat_frame(rows, JUDGMENT_SCHEMA), rejects=rejects, notes=notes
        )
    ]
