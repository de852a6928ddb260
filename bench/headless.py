"""A headless `studio run`, process wall time from spawn to exit, against a bare aiohttp client script (also a
process) on the same fake server (127.0.0.1) in the same bench run; then a fully cached re-run into a fresh
session (wall, and whether litellm was imported).

The timed run is on a route the workspace has run before (as every run after a person's first with a model
and server is): a one-prompt run without the cache goes first, in which litellm derives the route and the
studio remembers it (sessions/.cache/routes.json); its wall and the timed run's litellm import are printed.

    python bench/headless.py                   # N=2,000, C=64, 200 ms
    python bench/headless.py --big             # also N=100,000, C=256, 20 ms (a minute or more)

Prints figures (wall, and each process's CPU seconds, which a shared machine's load disturbs less); never
fails on timing.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from scratch import temp_dir  # bench/scratch.py: temporary folders removed at exit

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = """---
name: h
params: {temperature: 0.7, max_tokens: 200}
slots:
  i: {file: ../data/ids.txt}
combine:
  strategy: product
---
system:
You write training data.
user:
Explain concept {{ i }} by comparing it with another in 3 sentences.
"""

BARE = """
import asyncio, sys, aiohttp, orjson
async def main(n, c, url):
    sem = asyncio.Semaphore(c)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        async def one(i):
            async with sem:
                body = {"model": "fake", "temperature": 0.7, "max_tokens": 200, "seed": i, "messages": [
                    {"role": "system", "content": "You write training data."},
                    {"role": "user", "content": f"Explain concept bare-{i} by comparing it with another in 3 sentences."}]}
                async with s.post(url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}) as r:
                    orjson.loads(await r.read())
        await asyncio.gather(*(one(i) for i in range(n)))
asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
"""

PROBE = ("import atexit, sys; atexit.register(lambda: print('LITELLM' if 'litellm' in sys.modules else 'NO-LITELLM', "
         "file=sys.stderr)); from studio.cli.main import main; raise SystemExit(main(sys.argv[1:]))")


CPU: dict[str, float] = {}     # CPU seconds (user + system) of the last process `wall` ran


def wall(cmd: list[str], cwd: Path, env: dict) -> tuple[float, int, str]:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["last"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return took, p.returncode, p.stderr


def case(n: int, c: int, latency: float, root: Path, env: dict, tag: str) -> None:
    server = subprocess.Popen([sys.executable, str(ROOT / "tests/support/fake_llm.py"), "--latency", str(latency)],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().split()[1])
        base = f"http://127.0.0.1:{port}/v1"
        (root / "data/ids.txt").write_text("".join(f"{tag}-{i}\n" for i in range(n)))
        bare, rc, err = wall([sys.executable, "-c", BARE, str(n), str(c), f"{base}/chat/completions"], root, env)
        bare_cpu = CPU["last"]
        ideal = n / c * latency
        run = [sys.executable, "-c", PROBE, "run", "h", "--model", "openai/fake", "--api-base", base,
               "--concurrency", str(c), "--json"]
        first, rc0, err0 = wall(run + ["--session", f"{tag}-route", "-n", "1", "--no-cache"], root, env)
        print(f"N={n:,}: first run of the route (1 prompt; litellm derives it, the studio remembers it): "
              f"{first:.2f} s, {'litellm imported' if 'NO-LITELLM' not in err0 else 'no litellm imported'}"
              f"{'' if rc0 == 0 else f'  exit {rc0}: {err0[-300:]}'}", flush=True)
        studio, rc2, err2 = wall(run + ["--session", f"{tag}-a"], root, env)
        studio_cpu = CPU["last"]
        print(f"N={n:,} C={c} {latency * 1000:.0f} ms (ideal {ideal:.2f} s): bare aiohttp process {bare:.2f} s · "
              f"studio run process {studio:.2f} s = {studio / bare:.2f}x bare  (bar <= "
              f"{1.15 if n <= 10_000 else 1.5}x), "
              f"{'litellm imported' if 'NO-LITELLM' not in err2 else 'no litellm imported'}"
              f"{'' if rc == rc2 == 0 else f'  exits {rc} {rc2}: {err[-200:]}{err2[-200:]}'}", flush=True)
        print(f"  CPU (user + system, less sensitive to load than wall): bare {bare_cpu:.2f} s = "
              f"{bare_cpu / n * 1000:.3f} ms/request · studio {studio_cpu:.2f} s = {studio_cpu / n * 1000:.3f} ms/sample "
              f"= {studio_cpu / bare_cpu:.2f}x bare", flush=True)
        again, rc3, err3 = wall(run + ["--session", f"{tag}-b"], root, env)
        print(f"  fully cached re-run into a fresh session: {again:.2f} s, "
              f"{'litellm imported' if 'NO-LITELLM' not in err3 else 'no litellm imported'}"
              f"{' (bar <= 0.6 s, none)' if n <= 10_000 else ' (no bar at this size: the issue sets it at 2,000)'}"
              f"{'' if rc3 == 0 else f'  exit {rc3}: {err3[-300:]}'}", flush=True)
    finally:
        server.terminate()
        server.wait(5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", action="store_true", help="also N=100,000, C=256, 20 ms")
    args = ap.parse_args()
    root = temp_dir("studio-bench-headless-")
    (root / "templates").mkdir()
    (root / "data").mkdir()
    (root / "templates/h.prompt").write_text(TEMPLATE)
    env = {**os.environ, "STUDIO_HOME": str(root), "PYTHONPATH": str(ROOT)}
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}", flush=True)
    case(2000, 64, 0.2, root, env, "small")
    if args.big:
        case(100_000, 256, 0.02, root, env, "big")


if __name__ == "__main__":
    main()
