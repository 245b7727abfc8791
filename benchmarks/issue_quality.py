"""Issue quality against people's reading: purity, best-match F1 and coverage on the annotated sets.

For each set in data/eval (rows.jsonl + annotations.*.jsonl, see data/eval/README.md) the issue pipeline runs on
the whole selection the set was drawn from (its judgments are a sample of it), then the issues' member judgments
are compared with the failure types people marked, separately on the `tune` and the `test` half:

- purity: for each of the 10 largest issues (by judgments in the whole selection) with at least 3 annotated
  members in the half, the share of those members that have the type the issue matches best (the type with the
  highest F1 against its members); the mean over issues. (Also stored: the same share over the issues' members
  pooled, `purity_by_member`, which a tenth issue with three annotated members moves less; and the share of the type
  most members have, which a type every critique states, such as "lacks detail" on Auto-J, inflates);
- best-match F1: for each type with at least 10 annotated judgments in the half, the best F1 between the type's
  judgments and one issue's members (and, as a second figure, one issue or one category's members);
- coverage: the share of annotated judgments with a stated failure that belong to at least one issue;
  and the share of annotated judgments with no stated failure that do (false alarms).

    python benchmarks/issue_quality.py [--sets arena,autoj] [--root PATH] [--label NAME] [--embedder M] [-o FILE]

`--root` runs another checkout's pipeline on the same annotations (the before/after in the closing notes).
Results: benchmarks/results/issue_quality.json (one entry per label). `--smoke`: PandaLM only (the default unless
--sets), in a temporary folder; a check that it runs, written to -o or a temporary file (never benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
SETS = {   # name: (filter, source to ingest, format, dataset, scale of a generic file)
    "arena": ("dataset=arena_bench_v1", "demo/arena_bench_v1", "fastchat", None, None),
    "llmbar": ("dataset=llmbar&judge=GPT-4&template=Swap_CoT", "demo/llmbar", "llmbar", None, None),
    "pandalm": ("dataset=pandalm", "demo/pandalm", "pandalm", None, None),
    "prometheus": ("dataset=prometheus", "demo/prometheus", "prometheus", None, None),
    "autoj": ("dataset=autoj", "eval/autoj/judgments.jsonl", "generic", "autoj", "1-10"),
    "justeval": ("dataset=justeval", "eval/justeval/judgments.jsonl", "generic", "justeval", "1-5"),
    "vicuna": ("dataset=vicuna", "eval/vicuna/judgments.jsonl", "generic", "vicuna", "1-10"),
}
TOP = 10
MIN_MEMBERS = 3
MIN_TYPE = 10


def load_annotations(name: str, files: str = "annotations*.jsonl") -> dict[str, dict]:
    """judgment_id -> {"half", "types"} for every annotated row of a set (`files`: second.*.jsonl for the
    second reader's)."""
    folder = DATA / "eval" / name
    rows = {json.loads(line)["row"]: json.loads(line) for line in open(folder / "rows.jsonl", encoding="utf-8")}
    out = {}
    for part in sorted(folder.glob(files)):
        for line in open(part, encoding="utf-8"):
            if not line.strip():
                continue
            a = json.loads(line)
            row = rows.get(a.get("row"))
            if row is None or row["judgment_id"] != a.get("judgment_id"):
                continue
            types = {t for t in a.get("types", []) if t != "none"}
            out[row["judgment_id"]] = {"half": row["half"], "types": types}
    return out


def f1(a: set, b: set) -> float:
    inter = len(a & b)
    return 0.0 if not inter else 2 * inter / (len(a) + len(b))


def score(members: dict[str, set[str]], sizes: dict[str, int], titles: dict[str, str], cats: dict[str, str],
          ann: dict[str, dict], half: str) -> dict:
    """Quality of one issue set's members (issue_id -> judgment ids) against one half's annotations."""
    judged = {j: a["types"] for j, a in ann.items() if a["half"] == half}
    all_types = Counter(t for ts in judged.values() for t in ts)  # a type scored where the half has 10 of it
    top = sorted(members, key=lambda i: (-sizes.get(i, 0), i))[:TOP]
    issues = []
    for i in top:
        mem = [j for j in members[i] if j in judged]
        row = {"issue_id": i, "title": titles[i], "category": cats.get(i), "n_judgments": sizes.get(i, 0),
               "n_annotated": len(mem)}
        if len(mem) >= MIN_MEMBERS:
            # the type the issue matches best (F1 over the half), and the share of its members that have it
            counts = Counter(t for j in mem for t in judged[j])
            fits = {t: f1({j for j, ts in judged.items() if t in ts}, set(mem)) for t in counts}
            best = max(sorted(fits), key=lambda t: fits[t]) if fits else None
            majority, k = counts.most_common(1)[0] if counts else (None, 0)
            row.update({"best_type": best, "purity": counts.get(best, 0) / len(mem), "majority_type": majority,
                        "majority_share": k / len(mem)})
        issues.append(row)
    scored = [r["purity"] for r in issues if "purity" in r]
    by_cat: dict[str, set[str]] = {}
    for i, js in members.items():
        if cats.get(i):
            by_cat.setdefault(cats[i], set()).update(js)
    types = {}
    for t, n in sorted(all_types.items()):
        if n < MIN_TYPE:
            continue
        have = {j for j, ts in judged.items() if t in ts}
        if not have:
            continue
        best_issue = max(((f1(have, members[i] & judged.keys()), i) for i in members), default=(0.0, None))
        best_any = max([best_issue] + [(f1(have, js & judged.keys()), "category:" + c) for c, js in by_cat.items()])
        types[t] = {"n": len(have), "f1": round(best_issue[0], 3),
                    "issue": titles.get(best_issue[1]) if best_issue[1] else None,
                    "f1_with_categories": round(best_any[0], 3), "best": titles.get(best_any[1], best_any[1])}
    lo_hi = intervals(members, top, judged, list(types))
    any_member = set().union(*members.values()) if members else set()
    failing = [j for j, ts in judged.items() if ts]
    clean = [j for j, ts in judged.items() if not ts]
    return {
        "n_annotated": len(judged),
        "purity": round(sum(scored) / len(scored), 3) if scored else None,
        "n_issues_scored": len(scored),
        # the same members counted once each, not once per issue: a tenth issue with 3 annotated members weighs 3,
        # not a tenth (a second figure; the aim is stated on the mean over issues)
        "purity_by_member": (round(sum(r["purity"] * r["n_annotated"] for r in issues if "purity" in r)
                                   / sum(r["n_annotated"] for r in issues if "purity" in r), 3) if scored else None),
        "purity_ci": lo_hi["purity"],
        "best_match_f1": round(sum(v["f1"] for v in types.values()) / len(types), 3) if types else None,
        "best_match_f1_ci": lo_hi["best_match_f1"],
        "best_match_f1_with_categories": (round(sum(v["f1_with_categories"] for v in types.values()) / len(types), 3)
                                          if types else None),
        "coverage": round(sum(j in any_member for j in failing) / len(failing), 3) if failing else None,
        "false_alarm": round(sum(j in any_member for j in clean) / len(clean), 3) if clean else None,
        "top_issues": issues,
        "types": types,
    }


def intervals(members: dict[str, set[str]], top: list[str], judged: dict[str, set[str]], types: list[str],
              n_boot: int = 2000, seed: int = 0) -> dict[str, list[float] | None]:
    """95% bootstrap intervals of purity and best-match F1 over the half's annotated judgments (resampled with
    replacement; the issues, the scored types and the matching between them fixed at the full half's). With 220-250
    judgments per half and 3-40 annotated members per issue, this is how far a figure moves with the sample alone:
    the size of a change worth believing."""
    import numpy as np

    ids = sorted(judged)
    if not ids:
        return {"purity": None, "best_match_f1": None}
    pos = {j: k for k, j in enumerate(ids)}
    issue_ids = sorted(members)
    m = np.zeros((len(ids), len(issue_ids)))
    for c, i in enumerate(issue_ids):
        for j in members[i]:
            if j in pos:
                m[pos[j], c] = 1.0
    all_types = sorted({t for ts in judged.values() for t in ts})
    a = np.array([[t in judged[j] for t in all_types] for j in ids], dtype=float).reshape(len(ids), len(all_types))
    top_cols = [issue_ids.index(i) for i in top]
    type_cols = [all_types.index(t) for t in types]

    def fits(w):
        inter = m.T @ (a * w[:, None])  # issues x types: weighted members that have the type
        size_i, size_t = m.T @ w, a.T @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            return inter, size_i, np.where(inter > 0, 2 * inter / (size_i[:, None] + size_t[None, :]), 0.0)

    # the matching (each issue's best type, each type's best issue, the issues scored) is the full half's
    inter, size_i, fit = fits(np.ones(len(ids)))
    scored = [(c, int(np.argmax(fit[c])) if fit[c].max() > 0 else None) for c in top_cols if size_i[c] >= MIN_MEMBERS]
    matched = [(int(np.argmax(fit[:, c])), c) for c in type_cols if a[:, c].any()]
    rng = np.random.default_rng(seed)
    purity, best_f1 = [], []
    for _ in range(n_boot):
        inter, size_i, fit = fits(rng.multinomial(len(ids), np.full(len(ids), 1 / len(ids))).astype(float))
        pur = [inter[c, t] / size_i[c] if t is not None else 0.0 for c, t in scored if size_i[c] > 0]
        if pur:
            purity.append(float(np.mean(pur)))
        if matched:
            best_f1.append(float(np.mean([fit[i, t] for i, t in matched])))

    def ci(x: list[float]) -> list[float] | None:
        return [round(float(np.percentile(x, 2.5)), 3), round(float(np.percentile(x, 97.5)), 3)] if x else None

    return {"purity": ci(purity), "best_match_f1": ci(best_f1)}


def second_reader(name: str) -> dict | None:
    """The human ceiling: a second person's reading of the same judgments, scored as if each of their types were
    an issue (its members: the judgments they marked with it) against the first reader's — the same purity and
    best-match F1 the pipeline gets. None where no second reader read the set."""
    second = load_annotations(name, "second.*.jsonl")
    if not second:
        return None
    first = {j: a for j, a in load_annotations(name).items() if j in second}
    members: dict[str, set[str]] = {}
    for j, a in second.items():
        for t in a["types"]:
            members.setdefault(t, set()).add(j)
    sizes = {t: len(js) for t, js in members.items()}
    agree = sum(first[j]["types"] == second[j]["types"] for j in first)
    out = score(members, sizes, {t: t for t in members}, {}, first, "test")
    out["same_types"] = round(agree / max(len(first), 1), 3)
    return out


def run_set(name: str, workdir: Path, embedder: str | None = None) -> dict:
    from analysis import Workspace
    from analysis.demo import CACHE, load_embedding_cache

    flt, src, fmt, dataset, scale = SETS[name]
    path = workdir / f"{name}.duckdb"
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    ws = Workspace(path)
    if fmt == "generic":
        ws.ingest(DATA / src, format=fmt, mapping={"scale": scale}, dataset=dataset)
    else:
        ws.ingest(DATA / src, format=fmt)
    load_embedding_cache(ws, DATA / "demo" / CACHE)
    t = time.perf_counter()
    iset = ws.issues.discover(flt, embedding_model=embedder)
    seconds = time.perf_counter() - t
    table = iset.table()
    sizes = dict(zip(table["issue_id"], table["n_instances"]))
    titles = dict(zip(table["issue_id"], table["title"]))
    cats = dict(zip(table["issue_id"], table["category"]))
    members: dict[str, set[str]] = {i: set() for i in titles}
    for i, j, kind in iset.assignments().select("issue_id", "judgment_id", "kind").iter_rows():
        if kind == "issue" and i in members:
            members[i].add(j)
    ann = load_annotations(name)
    n_judgments = iset.n_instances()
    with_issue = len(set().union(*members.values())) if members else 0
    out = {"filter": flt, "n_judgments": n_judgments, "n_issues": len(titles), "seconds": round(seconds, 1),
           "judgments_with_issue": round(with_issue / max(n_judgments, 1), 3),
           "tune": score(members, sizes, titles, cats, ann, "tune"),
           "test": score(members, sizes, titles, cats, ann, "test")}
    ceiling = second_reader(name)
    if ceiling:
        out["second_reader"] = ceiling
    ws.close()
    return out


def main() -> None:
    sys.path.insert(0, str(HERE))
    from machine import add_output_args, describe, output_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default=None)   # default: every set; a set without annotations yet is skipped
    ap.add_argument("--root", default=None, help="a checkout whose `analysis` package to run (default: this one)")
    ap.add_argument("--label", default=None)
    ap.add_argument("--embedder", default=None, help="the embedding model (default: the pipeline's)")
    add_output_args(ap, "issue_quality", "PandaLM in a temporary folder")
    args = ap.parse_args()
    root = Path(args.root).resolve() if args.root else HERE.parent
    sys.path.insert(0, str(root))
    out = output_path("issue_quality", args.output, args.smoke)
    args.sets = args.sets or ("pandalm" if args.smoke else ",".join(SETS))

    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "analysis"], capture_output=True,
                           text=True).stdout.strip()
    label = args.label or commit + ("+changes" if dirty else "")
    workdir = Path(tempfile.mkdtemp(prefix="bench-issue_quality-")) if args.smoke else HERE / "work" / "issue_quality"
    workdir.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.sets.split(","):
        if not list((DATA / "eval" / name).glob("annotations*.jsonl")):
            print(f"{name}: no annotations yet, skipped")
            continue
        results[name] = run_set(name, workdir, args.embedder)
        r = results[name]
        print(f"{name:11s} issues {r['n_issues']:3d}  judgments with an issue {r['judgments_with_issue']:.2f}  "
              + "  ".join(f"{h}: purity {r[h]['purity']} {r[h]['purity_ci']} (by member {r[h]['purity_by_member']}) F1 {r[h]['best_match_f1']} {r[h]['best_match_f1_ci']} "
                          f"(with categories {r[h]['best_match_f1_with_categories']}) coverage {r[h]['coverage']} "
                          f"false alarms {r[h]['false_alarm']}" for h in ("tune", "test")), flush=True)
        if "second_reader" in r:
            c = r["second_reader"]
            print(f"{'':11s} a second reader on {c['n_annotated']} test rows: purity {c['purity']} F1 "
                  f"{c['best_match_f1']} coverage {c['coverage']}; the same types on {c['same_types']:.0%}", flush=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous.setdefault("runs", {})[label] = {"commit": commit, "root": str(root), "machine": describe(),
                                              "sets": results, **({"smoke": True} if args.smoke else {})}
    out.write_text(json.dumps(previous, indent=1, default=str) + "\n")
    if args.smoke:
        shutil.rmtree(workdir, ignore_errors=True)
    print("->", out)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
