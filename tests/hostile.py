"""A small workspace whose every user-facing string is hostile: markdown images and links, raw HTML,
`javascript:` URLs and spreadsheet formulas. Each URL points at http://127.0.0.1:<port>/leak-<field>...,
so a test can run a server on that port and prove nothing ever fetched from it.

    from tests.hostile import build_hostile
    ws, info = build_hostile(tmp_path / "hostile.duckdb", port)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


def payload(field_name: str, port: int, kind: str = "all") -> str:
    """A hostile string for one field. kind: mdimg, mdlink, img, script, a, js, formula, amp or all."""
    base = f"http://127.0.0.1:{port}/leak-{field_name}"
    kinds = {
        "mdimg": f"![{field_name}]({base}.png)",
        "mdlink": f"[{field_name}]({base}-link)",
        "img": f'<img src="{base}-img.png" onerror="alert(1)">',
        "script": f'<script src="{base}.js"></script>',
        "a": f'<a href="{base}-a">{field_name}</a>',
        "js": f"[{field_name}](javascript:alert('{field_name}'))",
        "formula": f'=HYPERLINK("{base}-csv","{field_name}")',
        "amp": f"&amp;{field_name}&lt;b&gt;",
        "css": f"<style>@import url({base}.css);</style>",
    }
    if kind == "all":
        return " ".join(kinds.values())
    return kinds[kind]


@dataclass
class Hostile:
    port: int
    path: Path
    models: list[str] = field(default_factory=list)
    judges: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    dataset_pointwise: str = ""
    dataset_pairwise: str = ""
    category: str = ""
    meta_key: str = ""
    meta_values: list[str] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)


def hostile_strings(port: int) -> Hostile:
    """The hostile names, one kind of attack per name so each widget sees each kind."""
    h = Hostile(port=port, path=Path())
    h.models = [payload("model", port, "mdimg"), payload("model", port, "a"), payload("model", port, "img"),
                "-" + payload("model", port, "formula")[1:] + " " + payload("model", port, "js")]
    h.judges = [payload("judge", port, "mdimg"), payload("judge", port, "img"),
                "@" + payload("judge", port, "a") + " " + payload("judge", port, "amp")]
    h.criteria = [payload("criterion", port, "mdimg"), payload("criterion", port, "a") + " +1"]
    h.templates = [payload("template", port, "mdimg") + " " + payload("template", port, "script"),
                   payload("template", port, "formula")]
    h.dataset_pointwise = payload("dataset", port, "mdimg") + " " + payload("dataset", port, "img")
    h.dataset_pairwise = payload("dataset-pair", port, "mdlink") + " " + payload("dataset-pair", port, "a")
    h.category = payload("category", port, "mdimg") + " " + payload("category", port, "css")
    h.meta_key = "k" + payload("metakey", port, "mdimg") + payload("metakey", port, "img")
    h.meta_values = [payload("metavalue", port, "mdimg"), "+" + payload("metavalue", port, "a"),
                     payload("metavalue", port, "formula")]
    h.annotators = [payload("annotator", port, "mdimg"), payload("annotator", port, "img")]
    return h


def write_files(directory: Path, port: int, n_items: int = 12) -> tuple[Hostile, Path, Path]:
    """Write pointwise.jsonl (long criteria, labels) and pairwise.jsonl (both orders, labels)."""
    h = hostile_strings(port)
    directory.mkdir(parents=True, exist_ok=True)
    point, pair = [], []
    for i in range(n_items):
        prompt = f"Question {i}: " + payload("prompt", port)
        ref = "Reference: " + payload("reference", port)
        meta_value = h.meta_values[i % len(h.meta_values)]
        for mi, model in enumerate(h.models):
            response = f"Answer {i} by model {mi} " + "padding " * (3 + 7 * ((i + mi) % 5)) + payload("response", port)
            for ji, judge in enumerate(h.judges):
                for ci, crit in enumerate(h.criteria):
                    score = 1 + (i + 2 * mi + ji + ci) % 10
                    row = {"item_id": f"item-{i}", "prompt": prompt, "reference": ref, "category": h.category,
                           "model": model, "response": response, "judge": judge, "criterion": crit,
                           "template": h.templates[(i + ji) % len(h.templates)], "score": score,
                           "critique": f"Critique {i}/{mi}/{ji}/{ci}: the response is wrong. " + payload("critique", port),
                           h.meta_key: meta_value}
                    if ji == 0:  # one human label per response and criterion, two annotators
                        row["annotator"] = h.annotators[(i + mi) % 2]
                        row["label_score"] = 1 + (i + 2 * mi + ci + 1) % 10
                    point.append(row)
        a, b = h.models[i % len(h.models)], h.models[(i + 1) % len(h.models)]
        ra, rb = f"Answer A {i} " + payload("response-a", port), f"Answer B {i} " + "longer " * 20 + payload("response-b", port)
        for ji, judge in enumerate(h.judges):
            for shown in ("a", "b"):
                verdict = ["a", "b", "tie"][(i + ji + (shown == "b")) % 3]
                row = {"item_id": f"pair-{i}", "prompt": prompt, "category": h.category, "model_a": a, "model_b": b,
                       "response_a": ra, "response_b": rb, "judge": judge, "verdict": verdict, "shown_first": shown,
                       "template": h.templates[ji % len(h.templates)],
                       "critique": f"Pair critique {i}/{ji}/{shown}: " + payload("critique-pair", port),
                       h.meta_key: meta_value}
                if ji == 0 and shown == "a":
                    row["annotator"] = h.annotators[i % 2]
                    row["label_verdict"] = ["a", "b"][i % 2]
                pair.append(row)
    p1, p2 = directory / "pointwise.jsonl", directory / "pairwise.jsonl"
    p1.write_text("".join(json.dumps(r) + "\n" for r in point), encoding="utf-8")
    p2.write_text("".join(json.dumps(r) + "\n" for r in pair), encoding="utf-8")
    return h, p1, p2


def build_hostile(path: Path, port: int, n_items: int = 12):
    """A Workspace at `path` holding the hostile files; returns (workspace, Hostile)."""
    from analysis import Workspace

    path = Path(path)
    h, p1, p2 = write_files(path.parent / "hostile-src", port, n_items)
    h.path = path
    ws = Workspace(path)
    ws.ingest(p1, mapping={"dataset": h.dataset_pointwise, "scale": [1, 10],
                           "columns": {"label_score": "label_score", "annotator": "annotator",
                                       "criterion": "criterion", "template": "template", "category": "category"}})
    ws.ingest(p2, mapping={"dataset": h.dataset_pairwise,
                           "columns": {"label_verdict": "label_verdict", "annotator": "annotator",
                                       "shown_first": "shown_first", "template": "template", "category": "category"}})
    return ws, h
