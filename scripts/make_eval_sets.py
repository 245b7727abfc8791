"""Draw the judgments of the annotated evaluation sets (data/eval/<set>/rows.jsonl).

For each set: the selection the demo (or a user) runs issue discovery on, a seeded sample stratified by model
(by judge where there is one model), each row with what a person needs to read it: the prompt, the response(s)
as the judge saw them, whether a reference was given, and the whole critique. Each row's half (`tune` or `test`)
comes from a hash of its judgment id, so it never depends on the sample's order.

    python scripts/make_eval_sets.py [--workspace /tmp/eval.duckdb]
    python scripts/make_eval_sets.py --extend 120 --sets arena,llmbar   # more held-out rows, appended
    python scripts/make_eval_sets.py --extend 120 --half tune           # more rows to tune on, appended

`--extend N` draws N more judgments of the `test` half (held out: never read while tuning), or of the `tune` half
with `--half tune`, that are not in the set yet, with the same stratification and another seed, and appends them
to rows.jsonl as the next rows (241, 242, ...; the rows already there, and their annotations, are kept as they
are).

The annotations themselves are written by people reading these rows (data/eval/README.md); this script
never looks at what the issue pipeline says about them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from analysis import Workspace  # noqa: E402

# name, filter, stratify by, sample size
SETS = [
    ("arena", "dataset=arena_bench_v1", "model", 240),
    ("llmbar", "dataset=llmbar&judge=GPT-4&template=Swap_CoT", "meta.subset", 240),
    ("pandalm", "dataset=pandalm", "judge", 240),
    ("prometheus", "dataset=prometheus", "model", 240),
    ("autoj", "dataset=autoj", "judge", 240),
    ("justeval", "dataset=justeval", "judge", 240),
    ("vicuna", "dataset=vicuna", "meta.pair", 240),
]
# sets fetched for evaluation only (not shipped as demo data): file under data/eval, its scale
FETCHED = {
    "autoj": ("eval/autoj/judgments.jsonl", "1-10"),
    "justeval": ("eval/justeval/judgments.jsonl", "1-5"),
    "vicuna": ("eval/vicuna/judgments.jsonl", "1-10"),  # scripts/fetch_vicuna_reviews.py
}
CLIP = 2500


def half(judgment_id: str) -> str:
    return "tune" if int(hashlib.sha256(judgment_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def clip(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) <= CLIP:
        return text
    return text[: CLIP - 400] + f"\n[... {len(text) - CLIP + 100} characters left out ...]\n" + text[-300:]


def _sample(frame: pl.DataFrame, col: str, n: int, seed: str) -> list[str]:
    """A seeded sample of n judgment ids, the same number from each value of `col` where they suffice."""
    groups: dict[str, list[str]] = {}
    for key, jid in zip(frame[col].to_list(), frame["judgment_id"].to_list()):
        groups.setdefault(str(key), []).append(jid)
    rng = random.Random(seed)
    keys = sorted(groups)
    per = max(1, n // len(keys))
    chosen: list[str] = []
    for k in keys:
        ids = sorted(groups[k])
        chosen += rng.sample(ids, min(per, len(ids)))
    rest = sorted(set(frame["judgment_id"].to_list()) - set(chosen))
    chosen += rng.sample(rest, min(len(rest), max(0, n - len(chosen))))
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", default="/tmp/judgescope-eval.duckdb")
    ap.add_argument("--sets", default=",".join(s[0] for s in SETS), help="which sets to draw (default: all)")
    ap.add_argument("--extend", type=int, default=0, help="append this many more rows of one half (--half)")
    ap.add_argument("--half", choices=("test", "tune"), default="test", help="the half --extend draws from")
    args = ap.parse_args()
    wanted = set(args.sets.split(","))
    ws = Workspace(args.workspace)
    if not ws.q.scalar("SELECT count(*) FROM judgments"):
        for name in ("llmbar", "arena_bench_v1", "prometheus", "pandalm"):
            ws.ingest(str(ROOT / "data" / "demo" / name))
    for name, (src, scale) in FETCHED.items():
        if not ws.q.scalar("SELECT count(*) FROM judgments WHERE dataset = ?", [name]):
            ws.ingest(str(ROOT / "data" / src), format="generic", mapping={"scale": scale}, dataset=name)
    for name, flt, by, n in SETS:
        if name not in wanted:
            continue
        frame = ws.judgments(flt)
        frame = frame.filter(frame["critique"].is_not_null())
        col = by.split(".", 1)[1] if by.startswith("meta.") else by
        if by.startswith("meta."):
            frame = frame.with_columns(pl.col("meta").str.json_path_match(f"$.{col}").alias(col))
        out = ROOT / "data" / "eval" / name
        have = []
        if args.extend:
            have = [json.loads(line) for line in open(out / "rows.jsonl", encoding="utf-8")]
            taken = {r["judgment_id"] for r in have}
            keep = [half(j) == args.half and j not in taken for j in frame["judgment_id"].to_list()]
            frame = frame.filter(pl.Series(keep))
            n, seed = args.extend, f"judgescope-eval-{name}-extend" + ("" if args.half == "test" else "-tune")
        else:
            seed = f"judgescope-eval-{name}"
        chosen = _sample(frame, col, n, seed)
        rows = ws.q.rows(
            """SELECT j.judgment_id, j.protocol, j.model, j.model_a, j.model_b, j.judge, j.score, j.scale_min,
                      j.scale_max, j.verdict, j.shown_first, j.critique, it.prompt, it.reference,
                      r.text, ra.text, rb.text
               FROM judgments j JOIN items it USING (item_id)
               LEFT JOIN responses r ON r.response_id = j.response_id
               LEFT JOIN responses ra ON ra.response_id = j.response_a
               LEFT JOIN responses rb ON rb.response_id = j.response_b
               WHERE j.judgment_id IN (SELECT unnest(?))""", [chosen])
        by_id = {r[0]: r for r in rows}
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "rows.jsonl", "a" if args.extend else "w", encoding="utf-8") as f:
            ordered = sorted(chosen, key=lambda j: hashlib.sha256(j.encode()).hexdigest())
            for k, jid in enumerate(ordered, start=len(have)):
                (_, protocol, model, model_a, model_b, judge, score, lo, hi, verdict, shown_first, critique,
                 prompt, reference, text, text_a, text_b) = by_id[jid]
                row = {"row": k + 1, "judgment_id": jid, "half": half(jid), "protocol": protocol, "judge": judge,
                       "prompt": clip(prompt), "has_reference": bool(reference and reference.strip())}
                if protocol == "pairwise":
                    first, second = ("b", "a") if shown_first == "b" else ("a", "b")
                    texts = {"a": text_a, "b": text_b}
                    row.update({"shown_first": clip(texts[first]), "shown_second": clip(texts[second]),
                                "chars_first": len(texts[first] or ""), "chars_second": len(texts[second] or ""),
                                "verdict": None if verdict is None else
                                ("tie" if verdict == "tie" else "first" if verdict == first else "second")})
                else:
                    row.update({"model": model, "response": clip(text), "response_chars": len(text or ""),
                                "score": score, "scale": [lo, hi]})
                row["critique"] = critique
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(name, len(chosen), "rows ->", out / "rows.jsonl", f"(rows {len(have) + 1}-{len(have) + len(chosen)})")


if __name__ == "__main__":
    main()
