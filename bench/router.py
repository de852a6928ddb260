"""litellm's Router against the engine's own fleet balancing, on the same three servers (issue 15 §3).

    python bench/router.py                       # 3,000 prompts, 3 servers at 200 ms, 64 in flight each
    python bench/router.py --prompts 600 --latency 0.05

Three fake OpenAI-compatible servers (tests/support/fake_llm.py, each its own process on 127.0.0.1) serve one
model. The same prompts go (1) through `litellm.Router.acompletion` with the model_list and least-busy
routing (3 × 64 in flight, held by a semaphore: given `max_parallel_requests`, the Router refuses a request
when a deployment's slots are full instead of waiting for one), and (2) through the engine's fast path with the same
model_list read by `studio.engine.fleet.load_model_list`. Prints, for each: wall time, the ideal (every
server's slots always full), requests per second and the client's CPU seconds per 1,000 requests. This is
why the studio keeps litellm's file format and strategy names but balances on its own fast path
(README, "A fleet of endpoints"). Never fails on timing. Cleans up its servers and files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import temp_dir  # noqa: E402  (bench/scratch.py: temporary folders removed at exit)
from workloads import fake_server  # noqa: E402




def _messages(i: int) -> list[dict]:
    return [{"role": "user", "content": f"Explain concept r-{i} by comparing it with another in 3 sentences."}]


async def _router(model_list: list[dict], n: int, parallel: int) -> tuple[float, float, int]:
    """(wall s, client CPU s, answers) for n prompts through litellm.Router.acompletion."""
    import logging

    from litellm import Router

    logging.getLogger("LiteLLM Router").setLevel(logging.ERROR)   # its per-attempt warnings, not our figures
    router = Router(model_list=model_list, routing_strategy="least-busy", num_retries=0)
    sem = asyncio.Semaphore(parallel * len(model_list))
    ok = 0

    async def one(i: int) -> None:
        nonlocal ok
        async with sem:
            reply = await router.acompletion(model="bench", messages=_messages(i), max_tokens=64, seed=i)
            ok += bool(reply.choices[0].message.content)

    await one(-1)   # connections and lazy set-up, outside the timed span (as for the engine)
    ok = 0
    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - t0, time.process_time() - c0, ok


async def _engine(models: Path, n: int) -> tuple[float, float, int]:
    """(wall s, client CPU s, answers) for n prompts through the engine's fleet on the fast path."""
    from studio.engine import Engine, Request
    from studio.engine.fleet import load_model_list

    fleets, _ = load_model_list(models)
    engine = Engine(cache_dir=None, concurrency=64, timeout=30, fleets=fleets)

    def reqs(lo: int, hi: int):
        for i in range(lo, hi):
            yield Request(_messages(i), "bench", {"max_tokens": 64}, seed=i, meta=i)

    async for _ in engine.run(reqs(-1, 0)):   # routing and connections, outside the timed span
        pass
    ok = 0
    c0, t0 = time.process_time(), time.perf_counter()
    async for r in engine.run(reqs(0, n)):
        ok += bool(r.ok)
    return time.perf_counter() - t0, time.process_time() - c0, ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=3000)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--parallel", type=int, default=64, help="max_parallel_requests of each server")
    args = ap.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    ws = temp_dir("studio-router-")
    os.environ["STUDIO_HOME"] = str(ws)
    servers = [fake_server(args.latency) for _ in range(3)]
    try:
        model_list = [{"model_name": "bench", "litellm_params": {
            "model": "openai/fake", "api_base": f"http://127.0.0.1:{port}/v1", "api_key": "sk-local"}}
            for _, port in servers]   # no max_parallel_requests: the Router refuses (RateLimitError), not waits
        models = ws / "models.yaml"
        models.write_text("model_list:\n" + "".join(
            f"  - model_name: bench\n    litellm_params:\n      model: openai/fake\n"
            f"      api_base: http://127.0.0.1:{port}/v1\n      max_parallel_requests: {args.parallel}\n"
            for _, port in servers) + "router_settings:\n  routing_strategy: least-busy\n")
        ideal = args.prompts / (3 * args.parallel / args.latency)
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {args.prompts:,} prompts, 3 servers at "
              f"{args.latency * 1000:.0f} ms, {args.parallel} in flight each: ideal {ideal:.2f} s")
        for name, work in (("engine fleet (fast path)", lambda: _engine(models, args.prompts)),
                           ("litellm Router.acompletion", lambda: _router(model_list, args.prompts, args.parallel))):
            wall, cpu, ok = asyncio.run(work())
            print(f"{name:28} wall {wall:6.2f} s = {wall / ideal:5.2f} × ideal, {ok / wall:7.0f} answers/s, "
                  f"client CPU {cpu / max(ok, 1) * 1000:5.2f} ms per answer ({ok:,} of {args.prompts:,} answered)")
        return 0
    finally:
        for proc, _ in servers:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
