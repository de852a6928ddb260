"""Benchmark the generation engine against the fake OpenAI-compatible server (127.0.0.1 only).

    python bench/generate.py            # all figures
    python bench/generate.py --quick    # skip the slow litellm.acompletion comparison and the 20k run

The server runs in its own process so the client's CPU figures are the client's. Prints figures;
never fails on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
from scratch import temp_dir  # bench/scratch.py: temporary folders removed at exit
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studio.engine import Engine, Request  # noqa: E402


class Server:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests/support/fake_llm.py")],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def control(self, **settings) -> None:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/_control", data=json.dumps(settings).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req).read()

    def stats(self) -> dict:
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stats").read())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def requests(n: int, base_url: str, tag: str = "q"):
    for i in range(n):
        yield Request([{"role": "system", "content": "You write training data."},
                       {"role": "user", "content": f"Explain concept {tag}-{i} by comparing it with another in 3 sentences."}],
                      "openai/fake", {"temperature": 0.7, "max_tokens": 200}, seed=i, meta=i, api_base=base_url)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def drive(engine: Engine, reqs, *, checkpoints=(), keep=True) -> tuple[float, float, list, dict]:
    """Run to the end; returns (wall s, CPU s, results' (meta, ok, error) list, rss at checkpoints)."""
    c0, t0 = time.process_time(), time.perf_counter()
    seen, marks, count = [], {}, 0
    async for r in engine.run(reqs):
        count += 1
        if keep:
            seen.append((r.request.meta, r.ok, r.error))
        if count in checkpoints:
            marks[count] = rss_mb()
    return time.perf_counter() - t0, time.process_time() - c0, seen, marks


async def bare_aiohttp(n: int, base_url: str, concurrency: int, wall: bool = False) -> float:
    """CPU (or wall) seconds for the same requests with a bare aiohttp client (the floor for any client)."""
    import aiohttp
    import orjson

    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(i):
            async with sem:
                body = {"model": "fake", "messages": [{"role": "user", "content": f"bare {i}"}], "seed": i}
                async with session.post(f"{base_url}/chat/completions", data=orjson.dumps(body),
                                        headers={"Content-Type": "application/json"}) as resp:
                    orjson.loads(await resp.read())
        clock = time.perf_counter if wall else time.process_time
        c0 = clock()
        await asyncio.gather(*(one(i) for i in range(n)))
        return clock() - c0


def litellm_share(base_url: str, n: int = 2000) -> float:
    """CPU ms per request spent inside litellm on the fast path (param mapping, transform_request, cost)."""
    from studio.engine import llm
    from studio.engine.transport import resolve

    route = resolve("openai/fake", base_url)
    msgs = next(requests(1, base_url)).messages
    c0 = time.process_time()
    for i in range(n):
        opt, _ = route.optional_params({"temperature": 0.7, "max_tokens": 200}, None)
        opt = dict(opt, seed=i)
        route.config.transform_request(route.model_name, msgs, opt, route.litellm_params, {})
        llm.cost(route.model_name, route.provider, 20, 4)
    return (time.process_time() - c0) / n * 1000


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--only", default="",
                    help="comma-separated: throughput,cache,faults,shapes,ratelimit,tokenlimit,cpu,run,memory,compare")
    args = ap.parse_args()
    n, c = args.n, args.concurrency
    only = set(filter(None, args.only.split(",")))

    def want(part: str) -> bool:
        return (not only or part in only) and not (args.quick and part in ("memory", "compare") and not only)
    server = Server()
    tmp = temp_dir("bench-generate-")
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; fake server pid {server.proc.pid}")
    try:
        from studio.engine import llm
        t = time.perf_counter()
        llm.litellm()
        print(f"litellm import (lazy, once): {time.perf_counter() - t:.2f} s")

        ideal = math.ceil(n / c) * 0.2
        if want("throughput") or want("cache"):  # 1. throughput at 200 ms latency
            server.control(latency=0.2, reset=True, faults={})
            engine = Engine(cache_dir=tmp / "cache", concurrency=c, timeout=30)
            wall, cpu, seen, _ = await drive(engine, requests(n, server.base_url))
            st = server.stats()
            print(f"[throughput] N={n} c={c} latency=200ms: {wall:.2f} s = {wall / ideal:.3f} x ideal {ideal:.1f} s "
                  f"(bar 1.15 x); server saw {st['count']} requests; ok {sum(ok for _, ok, _ in seen)}; "
                  f"client CPU {cpu:.2f} s; load {os.getloadavg()[0]:.2f}")
            floor = await bare_aiohttp(n, server.base_url, c, wall=True)
            print(f"[throughput floor] the same with a bare aiohttp client, right after: {floor:.2f} s = "
                  f"{floor / ideal:.3f} x ideal (what this machine allows any Python client now)")

        if want("cache"):  # 2. second identical run: all from cache
            server.control(reset=True)
            engine2 = Engine(cache_dir=tmp / "cache", concurrency=c, timeout=30)
            wall2, _, seen2, _ = await drive(engine2, requests(n, server.base_url))
            print(f"[cache] second identical run: {wall2:.3f} s, server saw {server.stats()['count']} requests, "
                  f"{engine2.stats.cached} cached of {len(seen2)} (bar: 0 requests, < 1 s)")

        if want("faults"):  # 3. 20 % faults of every kind
            await faults(server, n, c)
        if want("shapes"):  # 3b. 20 % odd reply shapes
            await odd_shapes(server, n, c)
        if want("ratelimit"):  # 3c. a provider-style limit of 50 requests/s
            await rate_limited(server, c, rps=50)
            await rate_limited(server, c, rps=50, headers=False)
        if want("tokenlimit"):  # 3d. a provider-style limit of 6,000 tokens/s
            await rate_limited(server, c, tps=6000)
        if want("cpu"):  # 4. CPU per request at zero latency
            await cpu_per_request(server, c)
        if want("run"):  # 4b. a whole run: render + engine + cache + session writes, per sample
            await whole_run(server, c, tmp)
        if want("memory"):  # 5. memory over 20,000 requests
            await memory(server, c, tmp)
        if want("compare"):  # 6. the plain litellm.acompletion path for comparison
            await compare(server, n, c, ideal)
    finally:
        server.close()


async def faults(server: Server, n: int, c: int) -> None:
    server.control(latency=0.05, reset=True, retry_after=0.5,
                   faults={"429": 0.04, "500": 0.04, "hang": 0.03, "drop": 0.03, "malformed": 0.03,
                           "invalid_json": 0.03})
    engine3 = Engine(cache_dir=None, concurrency=c, timeout=1.0, max_tries=6)
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}

    def structured():
        for r in requests(n, server.base_url, tag="f"):
            r.schema = schema
            yield r
    wall3, _, seen3, _ = await drive(engine3, structured())
    st = server.stats()
    metas = [m for m, _, _ in seen3]
    failed = [(m, e) for m, ok, e in seen3 if not ok]
    print(f"[faults 20%] N={n}: {wall3:.1f} s; results {len(seen3)}, distinct prompts {len(set(metas))}, "
          f"duplicates {len(metas) - len(set(metas))}; done {len(seen3) - len(failed)}, failed {len(failed)} "
          f"(all with reason: {all(e for _, e in failed)}); server saw {st['count']} requests, faults "
          f"{st['by_fault']}; Retry-After violations {st['retry_after_violations']}")
    for m, e in failed[:3]:
        print(f"    failed #{m}: {e}")


ODD = {"cut_off": 0.03, "content_filter": 0.02, "empty": 0.02, "null": 0.02, "parts": 0.03, "reasoning_only": 0.03,
       "tool_calls": 0.02, "surrogate": 0.01, "bad_utf8": 0.01, "no_usage": 0.01}


async def odd_shapes(server: Server, n: int, c: int) -> None:
    """20 % of replies in shapes real providers send: every prompt ends clean, flagged or failed with its
    reason; deterministic shapes are not retried; every billed token is counted."""
    server.control(latency=0.05, reset=True, faults=ODD, limit_rps=None, limit_tps=None, pad_words=0)
    engine = Engine(cache_dir=None, concurrency=c, timeout=5.0)
    crashes = 0
    results = []
    t0 = time.perf_counter()
    try:
        async for r in engine.run(requests(n, server.base_url, tag="shape")):
            results.append(r)
    except Exception as exc:  # noqa: BLE001 - counted, reported
        crashes += 1
        print(f"    crash: {type(exc).__name__}: {exc}")
    wall = time.perf_counter() - t0
    st = server.stats()
    clean = sum(r.ok and not r.flag for r in results)
    flagged = sum(r.ok and bool(r.flag) for r in results)
    failed = [r for r in results if not r.ok]
    counted = engine.stats.tokens_in + engine.stats.tokens_out
    reported = st["billed"] - st["billed_unreported"]
    kinds: dict[str, int] = {}
    for r in failed:
        kinds[r.error.split(":")[0][:60]] = kinds.get(r.error.split(":")[0][:60], 0) + 1
    print(f"[shapes 20%] N={n} c={c}: {wall:.1f} s; {len(results)} results for {len({r.request.meta for r in results})} "
          f"prompts: {clean} clean, {flagged} flagged, {len(failed)} failed (all with a reason: "
          f"{all(r.error for r in failed)}); crashes {crashes}; requests {st['count']} = prompts + "
          f"{st['count'] - n} retries (bar 0: no shape here is worth a retry); tokens counted {counted:,} = billed "
          f"with usage {reported:,} ({'equal' if counted == reported else 'DIFFERENT'}; {st['billed_unreported']:,} "
          f"billed in replies that carried no usage); server's shapes {st['by_fault']}")
    for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"    failed x{v}: {k}")


async def rate_limited(server: Server, c: int, *, rps: float | None = None, tps: float | None = None,
                       n: int = 1000, headers: bool = True) -> None:
    """A real provider-style limit (token bucket holding 1 s, headers on every reply, 429 + Retry-After)."""
    pad = 85 if tps else 0  # ~120 tokens a request: 1,000 prompts = ~20 s at 6,000 tokens/s
    server.control(latency=0.2, reset=True, faults={}, limit_rps=rps, limit_tps=tps, pad_words=pad,
                   limit_headers=headers)
    engine = Engine(cache_dir=None, concurrency=c, timeout=30)
    wall, _, seen, _ = await drive(engine, requests(n, server.base_url, tag=f"rl{rps}-{tps}"))
    st = server.stats()
    server.control(limit_rps=None, limit_tps=None, pad_words=0, limit_headers=True)
    failed = sum(not ok for _, ok, _ in seen)
    if rps:
        ideal, what = n / rps, f"{rps:g} requests/s" + ("" if headers else " stated by no header (429s only)")
    else:
        ideal, what = st["billed"] / tps, f"{tps:g} tokens/s ({st['billed']:,} tokens billed)"
    share = st["limited"] / max(1, st["count"])
    print(f"[rate limit] {what}, N={n} c={c}, 200 ms: {wall:.2f} s = {wall / ideal:.3f} x the {ideal:.1f} s the "
          f"limit allows (bar 1.05 x); done {len(seen) - failed}, failed {failed} (bar 0); {st['count']} requests, "
          f"{st['limited']} 429s = {share:.1%} (bar 5%); Retry-After violations {st['retry_after_violations']}")


async def cpu_per_request(server: Server, c: int) -> None:
    m = 5000
    server.control(latency=0.0, reset=True, faults={})
    engine4 = Engine(cache_dir=None, concurrency=c, timeout=30)
    await drive(engine4, requests(200, server.base_url, tag="warm"))
    wall4, cpu4, _, _ = await drive(engine4, requests(m, server.base_url, tag="z"))
    bare = await bare_aiohttp(m, server.base_url, c)
    lite = litellm_share(server.base_url)
    per = cpu4 / m * 1000
    print(f"[cpu] zero latency, N={m}: engine {per:.3f} ms CPU/request ({m / wall4:.0f} req/s); "
          f"bare aiohttp client {bare / m * 1000:.3f} ms; litellm's share {lite:.3f} ms; "
          f"studio's own = engine - HTTP client - litellm = {per - bare / m * 1000 - lite:.3f} ms (bar < 0.5 ms)")


async def whole_run(server: Server, c: int, tmp: Path) -> None:
    from studio.runs.run import Run
    from studio.store import Store
    from studio.core.workspace import Workspace

    server.control(latency=0.0, reset=True, faults={})
    ws = Workspace.from_env(tmp / "ws").ensure()
    session = Store(ws.sessions_dir).open("bench", create=True)
    m = 2000
    run = Run(ws, "persona-iteration", session=session, model="openai/fake", api_base=server.base_url, n=m,
              concurrency=c)
    await Run(ws, "persona-iteration", session=session, model="openai/fake", api_base=server.base_url, n=50,
              seed=99, concurrency=c).execute()  # warm-up: route, connections
    c0, t0 = time.process_time(), time.perf_counter()
    summary = await run.execute()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    again = await Run(ws, "persona-iteration", session=session, model="openai/fake", api_base=server.base_url, n=m,
                      concurrency=c).execute()
    print(f"[run] persona-iteration N={summary.done} into a session at zero latency: {wall:.2f} s, "
          f"{cpu / m * 1000:.3f} ms CPU/sample (render + engine + cache + store); identical re-run "
          f"{time.perf_counter() - t1:.2f} s with {again.requests} requests, {again.held} already in the session "
          f"(not asked again), {again.cached} cached")
    session.close()


async def memory(server: Server, c: int, tmp: Path) -> None:
    big = 20000
    server.control(latency=0.0, reset=True, faults={}, keep_bodies=False)
    engine5 = Engine(cache_dir=tmp / "cache20k", concurrency=c, timeout=30)
    marks = (2000, 5000, 10000, 15000, 20000)
    wall5, _, seen5, rss = await drive(engine5, requests(big, server.base_url, tag="m"), checkpoints=marks,
                                         keep=False)
    print(f"[memory] N={big}: {wall5:.1f} s; RSS MB at " +
          ", ".join(f"{k}: {v:.1f}" for k, v in rss.items()) +
          f"; growth 2k->20k {rss[20000] - rss[2000]:+.1f} MB (results discarded by the consumer)")


async def compare(server: Server, n: int, c: int, ideal: float) -> None:
    server.control(latency=0.2, reset=True, faults={}, keep_bodies=True)
    engine6 = Engine(cache_dir=None, concurrency=c, timeout=30, fast=False)
    wall6, cpu6, _, _ = await drive(engine6, requests(n, server.base_url, tag="slow"))
    print(f"[compare] same N={n} c={c} through litellm.acompletion: {wall6:.2f} s = {wall6 / ideal:.2f} x "
          f"ideal, client CPU {cpu6:.2f} s ({cpu6 / n * 1000:.2f} ms/request); server saw "
          f"{server.stats()['count']}")


if __name__ == "__main__":
    asyncio.run(main())
