"""Write data/eval/vicuna/judgments.jsonl from FastChat's old Vicuna-80 evaluation (GPT-4 reviewing two answers).

    python scripts/fetch_vicuna_reviews.py PATH/TO/FastChat.git

The tables were removed from lm-sys/FastChat in a0ba8c97 ("Deprecate old evaluation package"); they are read from
the commit before it. Each review compares two answers to one of 80 questions, the answer called "Assistant 1"
shown first; its text opens with the two scores ("8 9") and goes on as a paragraph, or, for the coding questions,
as "Assistant 1:\\nStrengths: ... Weaknesses: ..." sections. The GPT-4 reviews of the nine pairs are kept (not the
gpt-3.5-turbo ones): each vicuna model against alpaca-13b, bard, gpt-3.5 and llama-13b, and llama-13b against
alpaca-13b. One row per review: the pair's models and answers, each answer's score (the verdict follows from
them: score_a / score_b), the critique without its score line, the whole reply as raw_output, and `pair` (the file
it came from). FastChat is Apache-2.0 licensed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "eval" / "vicuna" / "judgments.jsonl"
COMMIT = "a0ba8c97^"
TABLE = "fastchat/eval/table/"
PAIRS = [
    *(f"vicuna-13b_20230322-clean-lang/review_{m}_vicuna-13b.jsonl" for m in ("alpaca-13b", "bard", "gpt35", "llama-13b")),
    *(f"vicuna-7b_20230322-fp16/review_{m}_vicuna-7b.jsonl" for m in ("alpaca-13b", "bard", "gpt35", "llama")),
    "others/review_llama_alpaca-13b.jsonl",
]
SCORES = re.compile(r"\s*(\d+(?:\.\d+)?)[\s,]+(\d+(?:\.\d+)?)\s*")


def show(git_dir: str, path: str) -> list[dict]:
    text = subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{COMMIT}:{TABLE}{path}"], check=True, capture_output=True, text=True
    ).stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main() -> None:
    git_dir = sys.argv[1]
    questions = {q["question_id"]: q for q in show(git_dir, "question.jsonl")}
    models = {m["model_id"]: m for m in show(git_dir, "model.jsonl")}
    # a review names its reviewer by id, or (older files) by the reviewer's prompt number
    reviewers = {}
    for r in show(git_dir, "reviewer.jsonl"):
        reviewers[r["reviewer_id"]] = reviewers[r["prompt_id"]] = r["reviewer_id"]
    answers = {}
    listing = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "--name-only", COMMIT, TABLE + "answer/"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    for path in listing:
        for a in show(git_dir, path.removeprefix(TABLE)):
            answers[a["answer_id"]] = a

    def model(model_id: str) -> str:
        m = models.get(model_id)
        if m is None:
            return model_id
        return m["model_name"] + (f"-{m['model_version']}" if m["model_name"].startswith("vicuna") else "")

    rows = []
    for pair in PAIRS:
        for r in show(git_dir, "review/" + pair):
            a, b = answers[r["answer1_id"]], answers[r["answer2_id"]]
            first, _, rest = r["text"].partition("\n")
            critique = rest if SCORES.fullmatch(first) else r["text"]
            q = questions[r["question_id"]]
            rows.append({
                "judgment_id": r["review_id"],
                "question_id": r["question_id"],
                "prompt": q["text"],
                "category": q["category"],
                "model_a": model(a["model_id"]),
                "response_a": a["text"],
                "model_b": model(b["model_id"]),
                "response_b": b["text"],
                "shown_first": "a",
                "score_a": r["score"][0],
                "score_b": r["score"][1],
                "judge": "gpt-4",
                "template": reviewers.get(r["reviewer_id"], str(r["reviewer_id"])),
                "critique": critique.strip(),
                "raw_output": r["text"],
                "pair": Path(pair).stem.removeprefix("review_"),
            })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} reviews -> {OUT}")


if __name__ == "__main__":
    main()
