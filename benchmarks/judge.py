"""Judge-run speed against the local fake OpenAI-compatible server (tests/fake_llm.py, its own process so it
does not share the client's interpreter): requests per second and judgescope's overhead per call at
concurrency 1, 8, 32 and 128, next to a bare `openai` AsyncOpenAI loop sending the same requests; and the
cache-hit path (the same run again: no call).

Requests: pointwise `rubric` judgments of arena-bench v1 answers (real prompts and answers, about 2-4 KB each).

    python benchmarks/judge.py [-o FILE]   -> benchmarks/results/judge.json

`--smoke`: the same run on 20 requests at concurrency 8 only (a check that it runs, not a measure), written to -o
or a temporary file, never to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from machine import add_output_args, describe, output_path  # noqa: E402

from analysis import Workspace  # noqa: E402

N = 600
LEVELS = (1, 8, 32, 128)


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_llm.py"), "0"], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    return proc, url


async def bare(url: str, requests: list[list[dict]], concurrency: int) -> float:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="k", max_retries=0, timeout=60)
    sem = asyncio.Semaphore(concurrency)

    async def one(messages):
        async with sem:
            await client.chat.completions.create(model="bare", messages=messages, temperature=0, max_tokens=1024,
                                                 response_format={"type": "json_object"})

    t = time.perf_counter()
    await asyncio.gather(*(one(m) for m in requests))
    took = time.perf_counter() - t
    await client.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    add_output_args(parser, "judge", "20 requests at concurrency 8")
    args = parser.parse_args()
    out = output_path("judge", args.output, args.smoke)
    n, levels = (20, (8,)) if args.smoke else (N, LEVELS)
    proc, url = start_server()
    try:
        tmp = Path(tempfile.mkdtemp())
        ws = Workspace(tmp / "judge.duckdb")
        ws.ingest(ROOT / "data" / "demo" / "arena_bench_v1")
        flt = "dataset=arena_bench_v1"
        rows = []
        for c in levels:
            model = f"fake-c{c}"
            t = time.perf_counter()
            res = ws.judge(flt, model=model, base_url=url, api_key="k", limit=n, concurrency=c, progress=False)
            wall = time.perf_counter() - t
            assert res.stats.called == res.planned and res.written == n, res   # identical answers share a request
            msgs = [json.loads(r[0])["messages"] for r in ws.con.execute(
                "SELECT request FROM llm_calls WHERE model = ?", [model]).fetchall()]
            b = asyncio.run(bare(url, msgs, c))
            t = time.perf_counter()
            again = ws.judge(flt, model=model, base_url=url, api_key="k", limit=n, concurrency=c, progress=False)
            hit = time.perf_counter() - t
            assert again.stats.called == 0 and again.written == 0
            rows.append({"concurrency": c, "requests": n, "wall_seconds": round(wall, 2),
                         "calls_seconds": round(res.stats.seconds, 2),
                         "requests_per_s": round(n / wall, 1), "calls_per_s": round(n / res.stats.seconds, 1),
                         "bare_openai_seconds": round(b, 2), "bare_openai_per_s": round(n / b, 1),
                         "overhead_ms_per_call": round((wall - b) / n * 1000, 2),
                         "cache_hit_seconds": round(hit, 3), "cache_hit_ms_per_request": round(hit / n * 1000, 3)})
            print(rows[-1], flush=True)
        report = {"benchmark": "judge", "machine": describe(), **({"smoke": True} if args.smoke else {}),
                  "server": "tests/fake_llm.py in its own process, no faults, no delay (ThreadingHTTPServer)",
                  "levels": rows,
                  "notes": "wall = selecting, rendering, cache lookups, calls, committing every reply, parsing and "
                           "writing judgments; overhead = (wall - bare openai loop) / requests. Two cores serve "
                           "both the server and the client, so the rates are the machine's, not an endpoint's."}
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
        ws.close()
        shutil.rmtree(tmp, ignore_errors=True)  # nothing reads the workspace afterwards
        if args.smoke:
            print("->", out)
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
