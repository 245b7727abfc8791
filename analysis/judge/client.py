"""Calling an OpenAI-compatible chat endpoint many times, robustly, through the `openai` client.

- concurrency limited by a semaphore (asyncio, one event loop);
- retries with exponential backoff and full jitter on 429, 5xx, timeouts, dropped connections and
  unreadable bodies; `Retry-After` / `retry-after-ms` respected on 429; a per-request timeout; after
  `max_tries` the failure is recorded (`llm_failures`) and the run goes on;
- every reply is written to the workspace cache (`llm_calls`, keyed by a hash of endpoint, model,
  messages and parameters) before anything uses it: a re-run costs nothing, and a run killed at any point
  resumes by re-running it (replies are committed in small groups as they arrive);
- tokens and cost counted, a budget cap that stops launching requests, a progress line with rate and ETA;
- the API key is only handed to the client: it is never stored, logged or put in an error message, and a
  server's echo of it (in an error body or a reply, whole, in part, URL-encoded, hex or base64) is scrubbed
  before anything is stored (secrets.Scrubber);
- options are checked when CallOptions is made (`ws.judge`, `ws.judge.probe` and the CLI alike): one-line UserError.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import numbers
import random
import re
import sys
import time
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

from ..errors import UserError
from .. import store
from ..store import transaction
from .secrets import Scrubber

log = logging.getLogger(__name__)

FATAL_STATUS = {401: "authentication failed", 403: "permission denied", 404: "model or URL not found"}


@dataclass
class Endpoint:
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    scrubber: Scrubber = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # the key, and a password in the URL, in every encoding a server can echo them in
        try:
            password = urlsplit(self.base_url).password if self.base_url else None
        except ValueError as exc:
            raise UserError(f"base_url is not a valid URL ({exc})") from None
        self.scrubber = Scrubber(self.api_key, password)

    def label(self) -> str:
        """The base URL without credentials or query: safe to store and print."""
        if not self.base_url:
            return "https://api.openai.com/v1"
        p = urlsplit(self.base_url)
        host = p.hostname or ""
        if p.port:
            host += f":{p.port}"
        return urlunsplit((p.scheme, host, p.path.rstrip("/"), "", ""))

    def scrub(self, text: str) -> str:
        """An error message with the URL's credentials, the key (in any encoding) and anything that looks like a
        key taken out. (Replies get only `scrubber`: the pattern would mangle ordinary words like "key-value".)"""
        if self.base_url and self.base_url != self.label():
            text = text.replace(self.base_url, self.label())
        return re.sub(r"\b(sk-|key-|Bearer\s+)[A-Za-z0-9_\-*.]{4,}", r"\1***", self.scrubber(text))


def option(default, help: str, choices: tuple | None = None):
    """A dataclass field that is also a command-line option: its default, help and choices live here only
    (analysis/cli.py makes one flag per field, named like the field with dashes)."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass
class CallOptions:
    concurrency: int = option(8, "requests in flight at once")
    timeout: float = option(60.0, "seconds per attempt")
    max_tries: int = option(5, "attempts per request before it is recorded as failed")
    backoff: float = option(1.0, "seconds: the first retry waits up to this (full jitter), doubling each time")
    backoff_cap: float = option(60.0, "seconds: the longest wait between retries")
    max_retry_after: float = option(120.0, "seconds: a longer Retry-After is capped at this")
    temperature: float = option(0.0, "sampling temperature")
    max_tokens: int = option(1024, "completion tokens per reply")
    json_mode: str = option(
        "auto", "ask for JSON output (auto: falls back to text when the endpoint refuses)", ("auto", "on", "off")
    )
    logprobs: bool = option(False, "ask for token logprobs: an expected score beside the score")
    top_logprobs: int = option(5, "alternatives per token with --logprobs")
    price_in: float = option(0.0, "USD per million prompt tokens")
    price_out: float = option(0.0, "USD per million completion tokens")
    budget: float | None = option(None, "USD: send no new request once this much is spent")
    max_reply_chars: int = option(100_000, "characters: a longer reply is cut to this (and marked as cut)")
    max_failure_share: float = option(
        0.5, "stop the run when more than this share of the finished requests failed (checked from the 20th on)"
    )
    progress: bool = option(True, "show a progress line")

    def __post_init__(self):
        check_number(self, "concurrency", 1, integer=True)
        check_number(self, "timeout", 0, strict=True)
        check_number(self, "max_tries", 1, integer=True)
        for name in ("backoff", "backoff_cap", "max_retry_after", "temperature", "price_in", "price_out"):
            check_number(self, name, 0)
        check_number(self, "max_tokens", 1, integer=True)
        check_number(self, "top_logprobs", 0, 20, integer=True)
        check_number(self, "max_reply_chars", 1, integer=True)
        check_number(self, "max_failure_share", 0, 1)
        if self.budget is not None:
            check_number(self, "budget", 0)
        check_choice("json_mode", self.json_mode, _choices(CallOptions, "json_mode"))

    def logical_params(self) -> dict:
        """What makes two requests the same request (hashed with the messages)."""
        p = {"temperature": self.temperature, "max_tokens": self.max_tokens, "json_mode": self.json_mode}
        if self.logprobs:
            p.update(logprobs=True, top_logprobs=self.top_logprobs)
        return p


def check_number(
    obj, name: str, low: float, high: float | None = None, *, integer: bool = False, strict: bool = False
) -> None:
    """Refuse `obj.<name>` unless it is a (finite) number in [low, high] (above `low` when strict); store it
    as int or float. The message names the option as the keyword does: the CLI flag is the same with dashes."""
    value = getattr(obj, name)
    got = f"{value:g}" if isinstance(value, float) else repr(value)  # -1.0 from the CLI and -1 read alike
    if not _is_number(value, integer) or (not integer and not math.isfinite(value)):
        raise UserError(f"{name} must be {'an integer' if integer else 'a finite number'} (got {got})")
    if high is not None and not low <= value <= high:
        raise UserError(f"{name} must be between {low} and {high} (got {got})")
    if value < low or (strict and value == low):
        raise UserError(f"{name} must be {'greater than' if strict else 'at least'} {low} (got {got})")
    setattr(obj, name, int(value) if integer else float(value))


def _is_number(value: object, integer: bool) -> bool:
    """An int-like (or any real) number, bool excluded. A predicate rather than an inline isinstance: the
    `numbers` ABCs do not type their arithmetic and comparisons, so `value` is better left unnarrowed."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral if integer else numbers.Real)


def check_choice(name: str, value, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError(f"{name} must be one of {', '.join(choices)} (got {value!r})")


class FailureKind(StrEnum):
    """Why a request failed; CallStats.errors counts requests given up on by kind."""

    RATE_LIMITED = "rate_limited"  # HTTP 429
    HTTP_STATUS = "http_status"  # another error status: 5xx, 408/409/425 retried, the others not
    REFUSED_REQUEST = "refused_request"  # HTTP 400: the endpoint refuses this request; not retried
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, dropped, DNS, TLS
    BAD_RESPONSE = "bad_response"  # an unreadable body, a broken proxy


@dataclass(frozen=True)
class Failure:
    """One failed attempt, typed where it is caught: `text` is what llm_failures.error keeps (human-readable,
    scrubbed: "HTTP 500", "timeout after 5 s", "connection error: ...")."""

    kind: FailureKind
    text: str
    status: int | None = None

    @property
    def retryable(self) -> bool:
        if self.kind is FailureKind.HTTP_STATUS:
            assert self.status is not None  # an HTTP_STATUS failure is made with its status
            return self.status >= 500 or self.status in (408, 409, 425)
        return self.kind is not FailureKind.REFUSED_REQUEST


@dataclass
class Request:
    key: str
    messages: list[dict]
    params: dict


@dataclass
class CallStats:
    planned: int = 0
    cached: int = 0
    called: int = 0
    succeeded: int = 0
    failed: int = 0
    retries: int = 0
    skipped_budget: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    errors: dict[FailureKind, int] = field(default_factory=dict)  # requests given up on, by kind
    stopped: str | None = None


def request_key(endpoint: Endpoint, messages: list[dict], params: dict) -> str:
    body = json.dumps(
        {"endpoint": endpoint.label(), "model": endpoint.model, "messages": messages, "params": params},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


def make_request(endpoint: Endpoint, opts: CallOptions, messages: list[dict], sample: int = 0) -> Request:
    params = opts.logical_params()
    if sample:
        params["sample"] = sample
    return Request(request_key(endpoint, messages, params), messages, params)


def cached_replies(con, keys: list[str]) -> dict[str, dict]:
    """The cached replies among `keys` (one query)."""
    if not keys:
        return {}
    cur = con.cursor()
    try:
        cur.register("wanted_keys", pa.table({"request_hash": list(dict.fromkeys(keys))}))
        rows = cur.execute(
            "SELECT c.request_hash, any_value(c.response) FROM llm_calls c "
            "SEMI JOIN wanted_keys w ON w.request_hash = c.request_hash "
            "WHERE c.response IS NOT NULL GROUP BY c.request_hash"
        ).fetchall()
    finally:
        cur.close()
    return {k: json.loads(v) for k, v in rows}


class _Progress:
    def __init__(self, total: int, enabled: bool, label: str = "judge"):
        self.total, self.enabled, self.label = total, enabled and total > 0, label
        self.start = time.monotonic()
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def show(self, done: int, stats: CallStats, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < (0.5 if self.tty else 10.0):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        line = (
            f"{self.label}: {done:,}/{self.total:,} ({done / self.total:.0%}) {rate:.1f} req/s, "
            f"ETA {'-' if eta == float('inf') else f'{eta:.0f} s'}, retries {stats.retries}, "
            f"failed {stats.failed}, tokens {stats.tokens_in + stats.tokens_out:,}, ${stats.cost:.4f}"
        )
        sys.stderr.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        sys.stderr.flush()


class Caller:
    """Runs requests against one endpoint and model, writing each reply to `llm_calls` before returning."""

    def __init__(self, db, endpoint: Endpoint, opts: CallOptions, run_id: str):
        """db: a workspace's Query (the file is opened for each commit and let go of while the run waits for
        replies, so other processes can read it) or a connection held throughout."""
        self._query = db if hasattr(db, "path") and hasattr(db, "cursor") else None
        self._held = None if self._query is not None else db
        self.endpoint, self.opts, self.run_id = endpoint, opts, run_id
        self.stats = CallStats()
        self._json_ok = opts.json_mode != "off"
        self._pending: list[tuple] = []
        self._failures: list[tuple] = []
        self._waiting: list[asyncio.Future] = []
        self._fatal: str | None = None

    @property
    def con(self):
        """The connection to write through: the held one, or the workspace reopened (waiting up to WRITE_WAIT_S
        for a reader that holds the file, then a one-line error naming it)."""
        if self._held is not None:
            return self._held
        return store.connect(self._query.path, wait_s=WRITE_WAIT_S)

    def release(self) -> None:
        """Let go of the workspace file (when this caller opens it per commit and no lease keeps it open)."""
        if self._query is not None:
            store.release(self._query.path)

    # ---- public ------------------------------------------------------------------------------
    def run(self, requests: list[Request]) -> dict[str, dict]:
        """Replies for `requests` (cached or fetched now); missing keys failed or were not sent."""
        unique = list({r.key: r for r in requests}.values())
        self.stats.planned += len(unique)
        have = cached_replies(self.con, [r.key for r in unique])
        self.release()
        self.stats.cached += len(have)
        todo = [r for r in unique if r.key not in have]
        if todo:
            t = time.perf_counter()
            fresh = _run_sync(self._call_all(todo))
            self.stats.seconds += time.perf_counter() - t
            have.update(fresh)
        if self._fatal:
            raise UserError(self._fatal)
        return have

    # ---- internals ---------------------------------------------------------------------------
    def _client(self):
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            base_url=self.endpoint.base_url,
            api_key=self.endpoint.api_key or "not-needed",
            max_retries=0,
            timeout=self.opts.timeout,
        )

    async def _call_all(self, todo: list[Request]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        sem = asyncio.Semaphore(max(1, self.opts.concurrency))
        progress = _Progress(len(todo), self.opts.progress)
        done = 0
        client = self._client()
        flusher_stop = asyncio.Event()
        self._wake = asyncio.Event()

        async def flusher():
            # commit whatever arrived since the last commit as soon as anything arrives (group commit)
            while not (flusher_stop.is_set() and not self._pending and not self._failures):
                try:
                    await asyncio.wait_for(self._wake.wait(), IDLE_RELEASE_S)
                except asyncio.TimeoutError:
                    self.release()  # nothing arrived for a while: readers may open the file until the next reply
                    continue
                self._wake.clear()
                waiting, self._waiting = self._waiting, []
                try:
                    self._flush()
                except Exception as exc:  # noqa: BLE001 — stop the run; the caller raises it
                    self._fatal = f"cannot write replies to the workspace: {_message(exc, self.endpoint.scrub)}"
                    self._pending, self._failures = [], []
                for f in waiting:
                    if not f.done():
                        f.set_result(None)

        async def one(req: Request):
            nonlocal done
            async with sem:
                if self._fatal:
                    return
                if self.opts.budget is not None and self.stats.cost >= self.opts.budget:
                    self.stats.skipped_budget += 1
                    self.stats.stopped = "budget"
                    return
                reply = await self._call_one(client, req)
                # hold the slot until the reply is committed: at most `concurrency` calls are ever unsaved
                done_flag = asyncio.get_running_loop().create_future()
                self._waiting.append(done_flag)
                self._wake.set()
                await done_flag
            if reply is not None:
                out[req.key] = reply
            done += 1
            progress.show(done, self.stats)

        flush_task = asyncio.create_task(flusher())
        try:
            await asyncio.gather(*(one(r) for r in todo))
        finally:
            flusher_stop.set()
            self._wake.set()
            await flush_task
            self._flush()
            self.release()
            await client.close()
        progress.show(done, self.stats, final=True)
        return out

    async def _call_one(self, client, req: Request) -> dict | None:
        import openai

        opts = self.opts
        attempt = 0
        failure: Failure | None = None
        while attempt < opts.max_tries and not self._fatal:
            attempt += 1
            kwargs: dict = {
                "model": self.endpoint.model,
                "messages": req.messages,
                "temperature": opts.temperature,
                "max_tokens": opts.max_tokens,
            }
            if self._json_ok:
                kwargs["response_format"] = {"type": "json_object"}
            if opts.logprobs:
                kwargs.update(logprobs=True, top_logprobs=opts.top_logprobs)
            if req.params.get("sample"):
                kwargs["seed"] = int(req.params["sample"])
            t0 = time.perf_counter()
            wait = None
            self.stats.called += 1 if attempt == 1 else 0
            try:
                resp = await asyncio.wait_for(client.chat.completions.create(**kwargs), opts.timeout * 1.5 + 1)
                reply = self._reply(resp, attempt, time.perf_counter() - t0)
                self._pending.append((req, reply))
                self.stats.succeeded += 1
                return reply
            except openai.RateLimitError as exc:
                failure = Failure(FailureKind.RATE_LIMITED, "HTTP 429 rate limited", 429)
                wait = _retry_after(exc.response.headers if exc.response is not None else {}, opts.max_retry_after)
            except openai.BadRequestError as exc:
                if self._json_ok and opts.json_mode == "auto" and "response_format" in str(exc):
                    self._json_ok = False  # the endpoint has no JSON mode: ask in text from now on
                    attempt -= 1
                    continue
                failure = Failure(FailureKind.REFUSED_REQUEST, f"HTTP 400 {self._detail(exc)}", 400)
            except openai.APIStatusError as exc:
                status = exc.status_code
                failure = Failure(FailureKind.HTTP_STATUS, f"HTTP {status}", status)
                if status in FATAL_STATUS:
                    self._fatal = (
                        f"{self.endpoint.label()}: {FATAL_STATUS[status]} (HTTP {status}) for model "
                        f"{self.endpoint.model!r}" + ("; check OPENAI_API_KEY" if status in (401, 403) else "")
                    )
            except (openai.APITimeoutError, asyncio.TimeoutError):
                failure = Failure(FailureKind.TIMEOUT, f"timeout after {opts.timeout:g} s")
            except openai.APIConnectionError as exc:
                failure = Failure(FailureKind.CONNECTION, f"connection error: {self._detail(exc)}")
            except Exception as exc:  # noqa: BLE001 — an unreadable body, a broken proxy: retry, then record
                failure = Failure(FailureKind.BAD_RESPONSE, f"bad response: {self._detail(exc, with_type=True)}")
            if self._fatal or not failure.retryable:
                break
            if attempt < opts.max_tries:
                self.stats.retries += 1
                backoff = random.uniform(0, min(opts.backoff_cap, opts.backoff * 2 ** (attempt - 1)))
                log.info(
                    "%s: attempt %d failed (%s); retrying in %.1f s",
                    req.key[:12],
                    attempt,
                    failure.text,
                    max(wait or 0.0, backoff),
                )
                await asyncio.sleep(max(wait or 0.0, backoff))
        if failure is None:  # stopped by another request's fatal error before trying
            return None
        self.stats.failed += 1
        self.stats.errors[failure.kind] = self.stats.errors.get(failure.kind, 0) + 1
        self._failures.append((req.key, self.run_id, self.endpoint.model, failure, attempt))
        finished = self.stats.succeeded + self.stats.failed
        if not self._fatal and finished >= 20 and self.stats.failed > opts.max_failure_share * finished:
            self.stats.stopped = "failures"
            self._fatal = (
                f"stopped: {self.stats.failed} of {finished} requests failed (more than "
                f"{opts.max_failure_share:.0%}; the last: {failure.text}). The replies received are saved: fix the "
                f"endpoint and run the same command again to resume (or raise --max-failure-share)"
            )
        return None

    def _detail(self, exc: Exception, with_type: bool = False) -> str:
        """An exception's first line, scrubbed before it is cut (a cut could leave part of an echoed key)."""
        return _message(exc, self.endpoint.scrub, with_type)

    def _reply(self, resp, attempt: int, latency: float) -> dict:
        """The reply as cached, with any echo of the key scrubbed out of its text before anything stores it."""
        scrub = self.endpoint.scrubber
        choice = resp.choices[0] if resp.choices else None
        raw = choice.message.content if choice is not None and choice.message is not None else None
        if raw is not None and not isinstance(raw, str):
            raw = str(raw)
        content = scrub(raw)
        cut = None
        if content is not None and len(content) > self.opts.max_reply_chars:
            cut, content = len(content), content[: self.opts.max_reply_chars]
        logprobs = None
        # tokens that spelled out an echoed key are dropped with it (each token alone is too short to scrub)
        if (
            content == raw
            and choice is not None
            and getattr(choice, "logprobs", None) is not None
            and choice.logprobs.content
        ):
            logprobs = [
                {
                    "token": t.token,
                    "logprob": t.logprob,
                    "top_logprobs": [{"token": a.token, "logprob": a.logprob} for a in (t.top_logprobs or [])],
                }
                for t in choice.logprobs.content[: self.opts.max_tokens]
            ]
            if _spells_secret(logprobs, scrub):
                logprobs = None  # the tokens (or their alternatives) spell an echo the reply text did not show
        usage = resp.usage
        tin, tout = _tokens(getattr(usage, "prompt_tokens", 0)), _tokens(getattr(usage, "completion_tokens", 0))
        usage_valid = tin is not None and tout is not None
        tin, tout = tin or 0, tout or 0
        self.stats.tokens_in += tin
        self.stats.tokens_out += tout
        self.stats.cost += (tin * self.opts.price_in + tout * self.opts.price_out) / 1e6
        return {
            "content": content,
            "finish_reason": scrub(getattr(choice, "finish_reason", None)),
            "logprobs": logprobs,
            "model": scrub(getattr(resp, "model", None)),
            "tokens_in": tin,
            "tokens_out": tout,
            "attempts": attempt,
            "json_mode": self._json_ok,
            "latency_s": round(latency, 4),
            **({} if usage_valid else {"usage_invalid": True}),  # counted as 0 tokens
            **({} if cut is None else {"cut_from_chars": cut}),
        }

    def _flush(self) -> None:
        """Commit the replies received since the last flush (one transaction)."""
        pending, self._pending = self._pending, []
        failures, self._failures = self._failures, []
        if not pending and not failures:
            return
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        with transaction(self.con) as cur:
            if pending:
                cur.register(
                    "new_calls",
                    pa.table(
                        {
                            "request_hash": [r.key for r, _ in pending],
                            "model": [self.endpoint.model] * len(pending),
                            "request": [
                                json.dumps(
                                    {"endpoint": self.endpoint.label(), "messages": r.messages, "params": r.params},
                                    ensure_ascii=False,
                                )
                                for r, _ in pending
                            ],
                            "response": [json.dumps(x, ensure_ascii=False) for _, x in pending],
                            "tokens_in": pa.array([x["tokens_in"] for _, x in pending], pa.int32()),
                            "tokens_out": pa.array([x["tokens_out"] for _, x in pending], pa.int32()),
                            "latency_s": [x["latency_s"] for _, x in pending],
                        }
                    ),
                )
                cur.execute(
                    "INSERT INTO llm_calls SELECT n.*, ? FROM new_calls n ANTI JOIN llm_calls c "
                    "ON c.request_hash = n.request_hash AND c.response IS NOT NULL",
                    [now],
                )
                cur.unregister("new_calls")
            for key, run_id, model, failure, attempts in failures:
                cur.execute(
                    "INSERT INTO llm_failures VALUES (?, ?, ?, ?, ?, ?)",
                    [key, run_id, model, failure.text[:500], attempts, now],
                )


# a judge run opens the workspace to commit replies and lets go of it after IDLE_RELEASE_S without one; to write, it
# waits up to WRITE_WAIT_S for a reader (a notebook, `info`, a dashboard page) to let go of the file
IDLE_RELEASE_S = 0.25
WRITE_WAIT_S = 60.0


def _tokens(value) -> int | None:
    """A usage count as reported, or None when it is not a whole number of tokens a reply could have."""
    if isinstance(value, bool):
        return None
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < 10**9 else None


def _run_sync(coro):
    """asyncio.run, also from inside a running event loop (a Jupyter kernel): then in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _message(exc: Exception, scrub, with_type: bool = False) -> str:
    text = scrub((type(exc).__name__ + ": " if with_type else "") + str(exc))
    return (text.splitlines() or [""])[0][:300]


def _retry_after(headers, cap: float) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return min(cap, max(0.0, float(ms) / 1000))
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return min(cap, max(0.0, float(value)))
        except ValueError:
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
            return min(cap, max(0.0, (when - datetime.now(when.tzinfo)).total_seconds()))
    except (TypeError, ValueError):
        return None


def _choices(cls, name: str) -> tuple:
    return next(f.metadata["choices"] for f in fields(cls) if f.name == name)


def _spells_secret(logprobs: list[dict], scrub) -> bool:
    """Whether the chosen tokens, or the alternatives of any one rank, read in order, hold an echo of the key
    (each token alone is too short to scrub: a hostile server can spread the key over them)."""
    if not logprobs:
        return False
    lines = ["".join(str(t["token"]) for t in logprobs)]
    depth = max(len(t["top_logprobs"]) for t in logprobs)
    for r in range(depth):
        lines.append("".join(str(t["top_logprobs"][r]["token"]) for t in logprobs if len(t["top_logprobs"]) > r))
    lines.append("".join(str(a["token"]) for t in logprobs for a in t["top_logprobs"]))
    return any(scrub(line) != line for line in lines)
