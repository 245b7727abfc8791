"""LLM titles and descriptions for issues through any OpenAI-compatible endpoint: JSON output,
temperature 0, one call per issue, cached in the workspace's llm_calls table by request hash."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime, timezone

from ..errors import UserError

PROMPT = """You name recurring problems that an LLM judge found in model responses.
Below are the keywords and the most typical critique sentences of one group. Reply with JSON only:
{{"title": "<3 to 8 words naming the kind of failure, not the topic>", "description": "<one sentence>"}}

Keywords: {keywords}
Sentences:
{examples}"""


def make_namer(con, model: str, base_url: str | None = None, api_key: str | None = None, timeout: float = 60.0):
    """A callable(issues, examples) that sets each issue's title and description from the model."""
    from openai import OpenAI

    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
    client = OpenAI(base_url=base_url, api_key=key, max_retries=3, timeout=timeout)

    def name(issues: list[dict], examples: dict[int, list[str]]) -> None:
        for issue in issues:
            if issue.get("origin") == "taxonomy":
                continue
            ex = examples.get(issue["index"], [])
            messages = [{"role": "user", "content": PROMPT.format(
                keywords=", ".join(issue.get("keywords") or []),
                examples="\n".join(f"- {e[:300]}" for e in ex))}]
            request = {"model": model, "messages": messages, "temperature": 0,
                       "response_format": {"type": "json_object"}, "base_url": str(client.base_url)}
            h = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
            row = con.execute("SELECT response FROM llm_calls WHERE request_hash = ?", [h]).fetchall()
            if row:
                reply = json.loads(row[0][0])
            else:
                t0 = time.perf_counter()
                try:
                    resp = client.chat.completions.create(model=model, messages=messages, temperature=0,
                                                          response_format={"type": "json_object"})
                except Exception as exc:  # the endpoint's fault, said in one line, naming no key
                    raise UserError(f"naming issues with {model} at {client.base_url} failed: "
                                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
                content = resp.choices[0].message.content or ""
                reply = {"content": content}
                usage = resp.usage
                request_stored = {k: v for k, v in request.items()}
                con.execute("INSERT INTO llm_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [h, model, json.dumps(request_stored), json.dumps(reply),
                             getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None),
                             time.perf_counter() - t0, datetime.now(timezone.utc).replace(tzinfo=None)])
            parsed = _parse(reply.get("content", ""))
            if parsed:
                issue["title"] = parsed["title"][:120]
                issue["description"] = parsed.get("description")
                issue["named_by"] = model

    return name


def _parse(content: str) -> dict | None:
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").split("\n", 1)[-1]
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("title"), str) or not data["title"].strip():
        return None
    return {"title": data["title"].strip(), "description": str(data.get("description") or "").strip() or None}
