"""Strength names against people's reading: does a strength's name say what its members praise?

From each run of the pipeline on the six annotated selections (those of benchmarks/issue_quality.py), 20 strength
members per selection were drawn at random and read by a person who saw only the sentence and the merit list
(data/eval/strengths/: draws.jsonl, sentences.jsonl, annotations.jsonl; how in its README). A member fits when the
reader marked the merit its strength is named after. Reported per run, pooled and per selection: the share that
fits (with its 95% Wilson interval over the drawn members) and the share the reader found to be only a failure ("does
not save the results to a file, as specified", filed under a strength).

    python benchmarks/strength_names.py [-o FILE]                  the runs in draws.jsonl, scored
    python benchmarks/strength_names.py --draw RUN [--root PATH]   this checkout's (or PATH's) pipeline: draw 20
                                                                   members per selection into draws.jsonl as RUN;
                                                                   sentences nobody has read yet are listed (read
                                                                   them as the README says, then score)

Results: benchmarks/results/strength_names.json. `--smoke`: a draw from PandaLM into a temporary copy of the files,
scored, written to -o or a temporary file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVAL = HERE.parent / "data" / "eval" / "strengths"
# the lexicon's strengths (analysis/issues/lexicon.toml) -> the merit codes of data/eval/strengths/TYPES.md
CODE = {
    "Accurate, correct answer": "accurate", "Correct calculations": "calculations",
    "Matches the reference answer": "matches_reference", "Sound reasoning": "reasoning",
    "Thorough and detailed": "thorough", "Helpful examples": "examples", "Follows the instructions": "follows_instructions",
    "Working code": "working_code", "Explains the code": "explains_code", "Clear and well organised": "clear",
    "Concise and focused": "concise", "Simplifies complex ideas": "simplifies", "Specific, actionable advice": "actionable",
    "Relevant to the question": "relevant", "Safe and responsible": "safe", "Creative and engaging": "creative",
    "Empathetic and personal": "empathetic",
}


def load(folder: Path) -> tuple[dict[str, int], dict[int, dict], list[dict]]:
    """(sentence -> id, id -> reading, draws)."""
    ids = {json.loads(line)["sentence"]: json.loads(line)["id"] for line in open(folder / "sentences.jsonl")}
    read = {}
    for line in open(folder / "annotations.jsonl"):
        a = json.loads(line)
        read[a["id"]] = {"merits": set(a["merits"]), "failure": bool(a["failure"])}
    draws = [json.loads(line) for line in open(folder / "draws.jsonl")] if (folder / "draws.jsonl").exists() else []
    return ids, read, draws


def interval(xs: list[bool]) -> list[float] | None:
    """The share's 95% Wilson interval, as the dashboard gives a prevalence's (imported here, not at the top: with
    --root the `analysis` package must come from that checkout)."""
    from analysis.reliability.common import wilson

    lo, hi = wilson(sum(xs), len(xs))
    return None if lo is None or hi is None else [round(lo, 3), round(hi, 3)]


def score(draws: list[dict], read: dict[int, dict]) -> dict:
    scored = [(d, read[d["id"]]) for d in draws if d.get("id") in read]
    fits = [CODE.get(d["strength"]) in r["merits"] for d, r in scored]
    only_failure = [r["failure"] and not r["merits"] for _, r in scored]
    return {"drawn": len(draws), "read": len(scored),
            "name_fits": round(sum(fits) / len(fits), 3) if fits else None, "name_fits_ci": interval(fits),
            "failure_only": round(sum(only_failure) / len(only_failure), 3) if only_failure else None}


def scores(draws: list[dict], read: dict[int, dict]) -> dict:
    out = {}
    for run in dict.fromkeys(d["run"] for d in draws):
        mine = [d for d in draws if d["run"] == run]
        out[run] = {**score(mine, read),
                    "by_set": {s: score([d for d in mine if d["set"] == s], read)["name_fits"]
                               for s in sorted({d["set"] for d in mine})}}
    return out


def members_of(path: Path) -> list[tuple[str, str]]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        (set_id,) = con.execute("SELECT issue_set_id FROM issue_sets ORDER BY created_at DESC LIMIT 1").fetchone()
        return con.execute(
            "SELECT i.title, s.text FROM segment_issues si JOIN segments s USING (issue_set_id, segment_id) "
            "JOIN issues i ON i.issue_set_id = si.issue_set_id AND i.issue_id = si.issue_id "
            "WHERE si.issue_set_id = ? AND i.kind = 'strength' AND i.status = 'active' "
            "ORDER BY s.judgment_id, s.ord, i.title", [set_id]).fetchall()
    finally:
        con.close()


def draw(run: str, folder: Path, sets: list[str], per_set: int = 20) -> list[str]:
    """Discover each selection with the `analysis` package on sys.path, draw `per_set` strength members (seeded),
    append them to draws.jsonl as `run`; returns the drawn sentences nobody has read yet (also written to
    unread.jsonl with new ids)."""
    import issue_quality

    ids, read, drawn = load(folder)
    if any(d["run"] == run for d in drawn):
        raise SystemExit(f"{run!r} is already drawn in {folder / 'draws.jsonl'}: name the new run otherwise")
    if (folder / "unread.jsonl").exists():   # sentences drawn before and not read yet keep their ids
        for line in open(folder / "unread.jsonl"):
            x = json.loads(line)
            ids.setdefault(x["sentence"], x["id"])
    work = Path(tempfile.mkdtemp(prefix="bench-strength_names-"))
    rng = random.Random(11)
    new: list[dict] = []
    unread: list[str] = []
    for name in sets:
        issue_quality.run_set(name, work)
        members = members_of(work / f"{name}.duckdb")
        for title, text in rng.sample(members, min(per_set, len(members))):
            if text not in ids:   # a new id after every id given so far, read or not
                ids[text] = max(ids.values(), default=0) + 1
                unread.append(text)
            new.append({"run": run, "set": name, "strength": title, "id": ids[text]})
        print(name, len(members), "strength members", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    with open(folder / "draws.jsonl", "a") as f:
        f.writelines(json.dumps(d) + "\n" for d in new)
    with open(folder / "unread.jsonl", "a") as f:
        f.writelines(json.dumps({"id": ids[t], "sentence": t}, ensure_ascii=False) + "\n" for t in unread)
    return unread


def main() -> None:
    sys.path.insert(0, str(HERE))
    from machine import add_output_args, describe, output_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draw", default=None, metavar="RUN", help="draw from this checkout's (or --root's) pipeline")
    ap.add_argument("--root", default=None, help="a checkout whose `analysis` package to run (default: this one)")
    add_output_args(ap, "strength_names", "a PandaLM draw into a temporary copy")
    args = ap.parse_args()
    out = output_path("strength_names", args.output, args.smoke)
    folder = EVAL
    if args.smoke:
        folder = Path(tempfile.mkdtemp(prefix="bench-strength_names-smoke-"))
        for f in ("sentences.jsonl", "annotations.jsonl", "draws.jsonl"):
            shutil.copy(EVAL / f, folder / f)
        args.draw = args.draw or "smoke"
    if args.draw:
        root = Path(args.root).resolve() if args.root else HERE.parent
        sys.path.insert(0, str(root))
        unread = draw(args.draw, folder, ["pandalm"] if args.smoke else list(_sets()))
        if unread:
            print(f"{len(unread)} drawn sentences are unread: {folder / 'unread.jsonl'}")
    _, read, draws = load(folder)
    result = {"machine": describe(), "runs": scores(draws, read), **({"smoke": True} if args.smoke else {})}
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps(result["runs"], indent=1))
    if args.smoke:
        shutil.rmtree(folder, ignore_errors=True)
    print("->", out)


def _sets() -> list[str]:
    import issue_quality

    return list(issue_quality.SETS)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
