"""A local OpenAI-compatible chat-completions server for the judge tests and benchmark (127.0.0.1 only).

Its "judge" is deterministic and has planted biases, so tests know the right answers:
- pointwise: score = scale minimum + words // 10 (capped at the maximum), +2 when the answer cites a
  "Reviewed by Dr." credential, +1 for "Wait, let me think" reflections; a content-free answer (":", ".",
  "Thought process:") gets the maximum when a reference is shown (the one-token failure) — else the minimum;
- pairwise: the answer with more words wins ("A>B" or "B>A"); within 5 words the first shown wins (position
  bias); a "Reviewed by Dr." answer wins; "most human reviewers ... preferred Assistant X" makes X win.

JSON replies when asked for `response_format`, else text with "Rating: [[n]]" / "[[A>B]]"; token logprobs
when asked. Faults are chosen by a hash of the request, so they are the same on every run:
transient (first attempt only): 429 with Retry-After, 500, a hang past the client's timeout, a dropped
connection, a malformed JSON body; permanent: always 500 (the client must give up), content faults that must
end as unparsed judgments (wrong JSON schema, empty content, malformed JSON content); "400" (not in FAULTS:
enable it by name), a refused request, recorded without a retry; also by name only: "hostile_usage" (token counts
that are no numbers a reply could have) and "huge" (a reply of some 300,000 characters).

`echo=True` makes the server quote the bearer key back in every encoding of ECHOES (whole, in part,
URL-encoded, hex, base64 of it, of its header and inside a longer token at each byte offset): in the critique
and the model name of every 200 reply and in every error body, so tests can check none of it is kept.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import socket
import threading
import time
from base64 import b64encode, urlsafe_b64encode
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

FAULTS = ("429", "500", "hang", "drop", "bad_body", "always_500", "wrong_schema", "empty", "bad_json_content")
# fault -> (modulus, remainder) on the request hash
RULES = {"429": (7, 0), "500": (7, 1), "hang": (11, 2), "drop": (13, 3), "bad_body": (17, 4), "always_500": (31, 8),
         "wrong_schema": (19, 5), "empty": (23, 6), "bad_json_content": (29, 7), "400": (5, 2),
         "hostile_usage": (3, 0), "huge": (3, 1)}
TRANSIENT = {"429", "500", "hang", "drop", "bad_body"}
CONTENT_FREE = {":", ".", "Thought process:"}


def _b64(text: str, urlsafe: bool = False) -> str:
    return (urlsafe_b64encode if urlsafe else b64encode)(text.encode()).decode()


def _inside(key: str, offset: int) -> str:
    """A longer text (a token's payload) holding the key at byte `offset` modulo 3."""
    return '{"sub": "u' + "x" * offset + '", "key": "' + key + '", "exp": 1}'   # the key starts at 21 + offset


# how a server can quote the key back: name -> (key -> text)
ECHOES = {
    "exact": lambda k: k,
    "first 20": lambda k: k[:20],
    "last 10": lambda k: k[-10:],
    "quote": lambda k: quote(k),
    "quote safe=''": lambda k: quote(k, safe=""),
    "quote_plus": lambda k: quote_plus(k),
    "hex": lambda k: k.encode().hex(),
    "HEX": lambda k: k.encode().hex().upper(),
    "base64": lambda k: _b64(k),
    "base64url": lambda k: _b64(k, urlsafe=True),
    "base64 'Bearer key'": lambda k: _b64(f"Bearer {k}"),
    "base64 'Authorization: Bearer key'": lambda k: _b64(f"Authorization: Bearer {k}"),
    **{f"base64 inside at {a}": (lambda k, a=a: _b64(_inside(k, a))) for a in range(3)},
    **{f"base64url inside at {a}": (lambda k, a=a: _b64(_inside(k, a), urlsafe=True)) for a in range(3)},
}


def echo_text(key: str) -> str:
    """The key in every encoding of ECHOES, as one bracketed note."""
    return " [" + "; ".join(f"{name}: {enc(key)}" for name, enc in ECHOES.items()) + "]"


def request_hash(body: dict) -> int:
    return int(hashlib.md5(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest(), 16)


def fault_for(h: int, enabled: set[str]) -> str | None:
    for name, (m, r) in RULES.items():
        if name in enabled and h % m == r:
            return name
    return None


def _between(text: str, start: str, end: str) -> str | None:
    i = text.find(start)
    j = text.find(end, i + len(start))
    return text[i + len(start):j].strip("\n") if i >= 0 and j >= 0 else None


def _words(text: str) -> int:
    return len(text.split())


def point_score(answer: str, lo: int, hi: int, has_reference: bool) -> int:
    if answer.strip() in CONTENT_FREE:
        return hi if has_reference else lo
    s = lo + _words(answer) // 10
    if "Reviewed by Dr." in answer:
        s += 2
    if "Wait, let me think" in answer:
        s += 1
    return max(lo, min(hi, s))


def judge_reply(body: dict, note: str = "") -> tuple[str, int | None]:
    """(content, the score shown in it or None) for a request, as JSON or text; `note` ends each critique."""
    text = "\n".join(m.get("content") or "" for m in body.get("messages", []))
    as_json = (body.get("response_format") or {}).get("type") == "json_object"
    a = _between(text, "[The Start of Assistant A's Answer]\n", "\n[The End of Assistant A's Answer]")
    if a is not None:
        b = _between(text, "[The Start of Assistant B's Answer]\n", "\n[The End of Assistant B's Answer]") or ""
        m = re.search(r"most human reviewers who saw these two answers preferred Assistant ([AB])", text)
        if m:
            label = "A>B" if m.group(1) == "A" else "B>A"
        elif ("Reviewed by Dr." in a) != ("Reviewed by Dr." in b):
            label = "A>B" if "Reviewed by Dr." in a else "B>A"
        else:
            label = "A>B" if _words(a) - _words(b) >= -5 else "B>A"   # within 5 words: the first shown wins
        why = f"Assistant A wrote {_words(a)} words and Assistant B {_words(b)}.{note}"
        return (json.dumps({"critique": why, "verdict": label}) if as_json
                else f"{why}\n\nMy final verdict is [[{label}]]"), None
    lo, hi = (int(x) for x in (re.search(r"integer from (\d+) to (\d+)", text) or re.search(r"from (\d+) .*? to (\d+)", text)).groups())
    answer = _between(text, "[The Start of Answer]\n", "\n[The End of Answer]") or ""
    has_ref = "[The Start of Reference Answer]" in text
    if "Score each criterion separately" in text:
        names = re.findall(r"^- ([^:\n]+):", text, re.M)
        scores = {n: max(lo, min(hi, point_score(answer, lo, hi, has_ref) - k)) for k, n in enumerate(names)}
        if as_json:
            return json.dumps({"criteria": {n: {"critique": f"{n} is judged by length.{note}", "score": s}
                                            for n, s in scores.items()}}), None
        return "\n".join(f"{n}: Rating: [[{s}]]{note}" for n, s in scores.items()), None
    s = point_score(answer, lo, hi, has_ref)
    why = f"The answer has {_words(answer)} words.{note}"
    return (json.dumps({"critique": why, "score": s}) if as_json else f"{why}\nRating: [[{s}]]"), s


def _tokens(content: str, score: int | None, lo: int = 1, hi: int = 10, top: int = 5) -> list[dict]:
    """Content as tokens (the score's digits on their own) with top alternatives around the score."""
    out = []
    pieces = re.split(r"(\d+)", content)
    for p in pieces:
        if not p:
            continue
        if p.isdigit() and score is not None and int(p) == score:
            alts = [(score, 0.6), (score - 1, 0.3), (score + 1, 0.1)]
            tops = [{"token": str(v), "logprob": math.log(pr), "bytes": None} for v, pr in alts if lo <= v <= hi][:top]
            out.append({"token": p, "logprob": math.log(0.6), "bytes": None, "top_logprobs": tops})
        else:
            out.append({"token": p, "logprob": -0.01, "bytes": None, "top_logprobs": []})
    return out


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 512   # the default backlog of 5 drops connections at high concurrency
    def handle_error(self, request, client_address) -> None:  # clients that time out and hang up are expected
        pass


class FakeLLM:
    """Start with `with FakeLLM(faults={...}) as llm:`; `llm.base_url`, `llm.log` (hash, attempt, outcome)."""

    def __init__(self, faults: set[str] | None = None, delay: float = 0.0, hang: float = 3.0, port: int = 0,
                 reject_key: str | None = None, echo: bool = False, echo_tokens: bool = False):
        self.faults = set(faults or ())
        self.reject_key = reject_key
        self.echo = echo
        self.echo_tokens = echo_tokens   # the key spelled over the logprob tokens and their alternatives only
        self.delay, self.hang = delay, hang
        self.log: list[tuple[int, int, str, float]] = []   # request hash, attempt, outcome, time
        self.attempts: Counter = Counter()
        self.bodies: dict[int, dict] = {}   # the first request body seen per hash (to tell an unexpected one apart)
        self.auth_headers: list[str] = []
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "FakeLLM":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def served(self, outcome: str = "ok") -> Counter:
        """Per request hash: how many times it got `outcome`."""
        with self._lock:
            return Counter(h for h, _, o, _ in self.log if o == outcome)

    def _handler(self):
        llm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, payload: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                auth = self.headers.get("Authorization", "")
                llm.auth_headers.append(auth)
                note = echo_text(auth.removeprefix("Bearer ")) if llm.echo else ""
                if llm.reject_key and auth == f"Bearer {llm.reject_key}":
                    # like OpenAI's own message, which quotes (part of) the key back
                    msg = f"Incorrect API key provided: {llm.reject_key}{note}. You can find your API key at the dashboard."
                    return self._send(401, json.dumps({"error": {"message": msg, "type": "invalid_request_error"}}).encode())
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, b'{"error": {"message": "not found"}}')
                h = request_hash(body)
                with llm._lock:
                    llm.attempts[h] += 1
                    attempt = llm.attempts[h]
                    llm.bodies.setdefault(h, body)
                fault = fault_for(h, llm.faults)
                if fault in TRANSIENT and attempt > 1:
                    fault = None
                outcome = fault or "ok"
                if llm.delay:
                    time.sleep(llm.delay)
                with llm._lock:   # logged when the reply is about to go out
                    llm.log.append((h, attempt, outcome, time.monotonic()))
                if fault == "429":
                    hdr = {"Retry-After": "1"} if h % 2 else {"retry-after-ms": "300"}
                    return self._send(429, json.dumps({"error": {"message": f"rate limited{note}", "type": "rate_limit"}}).encode(), hdr)
                if fault in ("500", "always_500"):
                    return self._send(500, json.dumps({"error": {"message": f"internal error{note}"}}).encode())
                if fault == "400":
                    return self._send(400, json.dumps({"error": {"message": f"invalid request{note}"}}).encode())
                if fault == "hang":
                    time.sleep(llm.hang)
                    self.close_connection = True
                    return
                if fault == "drop":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault == "bad_body":
                    return self._send(200, b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assi')
                content, score = judge_reply(body, note)
                if fault == "wrong_schema":
                    content = json.dumps({"evaluation": "fine", "rating_value": "high"})
                elif fault == "empty":
                    content = ""
                elif fault == "bad_json_content":
                    content = '{"critique": "The answer is'
                elif fault == "huge":   # a reply far past any sane size
                    content = content + " " + "padding " * 40_000
                choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                if body.get("logprobs"):
                    scale = re.search(r"integer from (\d+) to (\d+)", "\n".join(m.get("content") or "" for m in body["messages"]))
                    lo, hi = (int(scale.group(1)), int(scale.group(2))) if scale else (1, 10)
                    choice["logprobs"] = {"content": _tokens(content, score, lo, hi, body.get("top_logprobs") or 5)}
                    if llm.echo_tokens:   # reply text clean; the key in 3-character tokens, reversed in the alternatives
                        key = auth.removeprefix("Bearer ")
                        for i in range(0, len(key), 3):
                            choice["logprobs"]["content"].append(
                                {"token": key[i:i + 3], "logprob": -0.1, "bytes": None,
                                 "top_logprobs": [{"token": key[::-1][i:i + 3], "logprob": -0.2, "bytes": None}]})
                prompt_chars = sum(len(m.get("content") or "") for m in body.get("messages", []))
                if fault == "hostile_usage":
                    usage = {"prompt_tokens": "lots", "completion_tokens": -5, "total_tokens": 10**30}
                else:
                    usage = {"prompt_tokens": prompt_chars // 4, "completion_tokens": len(content) // 4,
                             "total_tokens": prompt_chars // 4 + len(content) // 4}
                payload = {"id": f"chatcmpl-{h % 10**12}", "object": "chat.completion", "created": 0,
                           "model": body.get("model", "fake") + note, "choices": [choice], "usage": usage}
                return self._send(200, json.dumps(payload).encode())

        return Handler


if __name__ == "__main__":  # python tests/fake_llm.py [port]: a server for trying `judgescope judge` by hand
    import sys

    with FakeLLM(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8765) as llm:
        print(llm.base_url, flush=True)
        threading.Event().wait()
