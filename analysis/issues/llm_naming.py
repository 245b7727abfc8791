"""LLM titles and descriptions for issues through any OpenAI-compatible endpoint: JSON output,
temperature 0, one call per issue, cached in the workspace's llm_calls table by request hash."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from .pipeline import IssueRecord

PROMPT = """You name recurring {what} that an LLM judge wrote about model responses.
Below are the keywords and the most typical critique sentences of one group. Reply with JSON only:
{{"title": "<2 to 6 words: a noun phrase naming the kind of {kind}, not the topic>", "description": "<one sentence>",
  "category": "<one of: {categories}>"}}

Keywords: {keywords}
Sentences:
{examples}"""


def make_namer(
    con,
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = 60.0,
    categories: list[str] | None = None,
):
    """A callable(issues, examples) that sets each issue's title, description and category from the model. The
    calls go through the judge runner's client (analysis/judge/client.py): concurrent, retried, cached, key
    never kept."""
    from .lexicon import load

    categories = categories or sorted(load().categories)
    from ..judge.client import CallOptions, Caller, Endpoint, make_request

    endpoint = Endpoint(
        model=model,
        base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
        api_key=api_key or os.environ.get("OPENAI_API_KEY"),
    )
    opts = CallOptions(concurrency=4, timeout=timeout, max_tries=4, json_mode="on", max_tokens=200, progress=False)

    def name(issues: list[IssueRecord], examples: dict[int, list[str]]) -> None:
        todo = []
        for issue in issues:
            if issue.get("origin") == "taxonomy":
                continue
            ex = examples.get(issue["index"], [])
            strength = issue.get("kind") == "strength"
            messages = [
                {
                    "role": "user",
                    "content": PROMPT.format(
                        what="strengths" if strength else "problems",
                        kind="merit" if strength else "failure",
                        categories=", ".join(categories),
                        keywords=", ".join(issue.get("keywords") or []),
                        examples="\n".join(f"- {e[:300]}" for e in ex),
                    ),
                }
            ]
            todo.append((issue, make_request(endpoint, opts, messages)))
        caller = Caller(con, endpoint, opts, run_id="issue-naming")
        replies = caller.run([r for _, r in todo])
        if caller.stats.failed:
            raise UserError(
                f"naming issues with {model} at {endpoint.label()} failed for {caller.stats.failed} of "
                f"{len(todo)} issues ({', '.join(caller.stats.errors)}); re-run to retry"
            )
        for issue, req in todo:
            parsed = _parse((replies.get(req.key) or {}).get("content") or "")
            if parsed:
                issue["title"] = parsed["title"][:120]
                issue["description"] = parsed.get("description")
                issue["named_by"] = "llm"
                if parsed.get("category") in categories:
                    issue["category"] = parsed["category"]

    return name


def _parse(content: str) -> dict | None:
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").split("\n", 1)[-1]
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("title"), str) or not data["title"].strip():
        return None
    return {
        "title": " ".join(data["title"].split()),
        "description": str(data.get("description") or "").strip() or None,
        "category": str(data.get("category") or "").strip().lower() or None,
    }
