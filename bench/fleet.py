"""One model on three servers, one of which dies halfway: does the run finish, once, near the ideal time?

    python bench/fleet.py                        # 6,000 prompts, 3 servers at 200 ms, 64 in flight each
    python bench/fleet.py --prompts 600 --kill-at 300

Three fake OpenAI-compatible servers (tests/support/fake_llm.py, each its own process on 127.0.0.1) serve
one model, given to the run as a litellm proxy config (model_list, max_parallel_requests 64 each). The run
(studio.runs.Run, the engine's fast path, a real session) is watched as it saves: when `--kill-at` prompts
are done, one server is SIGKILLed. Prints: done / failed, duplicate samples (two samples of one fill and
answer; must be 0), samples per server, wall time against the ideal (three servers for the first part, two
for the rest). Never fails on timing; exits 1 if a prompt is missing or saved twice. Cleans up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workloads import fake_server, two_slot_template  # noqa: E402  (bench/ is on the path: run as a script or imported)





async def _run(ws: Path, models: Path, n: int, kill_at: int, victim: subprocess.Popen) -> tuple[object, float, float]:
    from studio.engine.fleet import load_model_list
    from studio.runs.run import Run
    from studio.store import Store
    from studio.core.workspace import Workspace

    fleets, _ = load_model_list(models)
    workspace = Workspace(ws)
    session = Store(ws / "sessions").open("fleet", create=True)
    killed_at = [0.0]
    done = [0]

    def on_sample(_s) -> None:
        done[0] += 1
        if not killed_at[0] and done[0] >= kill_at:
            victim.send_signal(signal.SIGKILL)
            killed_at[0] = time.monotonic()

    run = Run(workspace, "bench-fleet", session=session, n=n, fleet=fleets["bench"], cache=False, concurrency=64)
    t0 = time.monotonic()
    summary = await run.execute(on_sample=on_sample)
    wall = time.monotonic() - t0 - (run.started - t0)    # from the first request (routing done) to the last save
    session.close()
    return summary, wall, (killed_at[0] - run.started) if killed_at[0] else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=6000)
    ap.add_argument("--kill-at", type=int, default=None, help="prompts done when a server is killed (default half)")
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--parallel", type=int, default=64, help="max_parallel_requests of each server")
    ap.add_argument("--strategy", default="least-busy")
    args = ap.parse_args()
    n, kill_at = args.prompts, args.kill_at or args.prompts // 2
    ws = Path(tempfile.mkdtemp(prefix="studio-fleet-"))
    servers = [fake_server(args.latency) for _ in range(3)]
    try:
        (ws / "templates").mkdir()
        (ws / "sessions").mkdir()
        side = int(n ** 0.5) + 2
        (ws / "templates" / "bench-fleet.prompt").write_text(
            two_slot_template("bench-fleet", [f"t{i}" for i in range(side)], [f"a{i}" for i in range(side + 1)]))
        models = ws / "models.yaml"
        models.write_text("model_list:\n" + "".join(
            f"  - model_name: bench\n    litellm_params:\n      model: openai/fake\n"
            f"      api_base: http://127.0.0.1:{port}/v1\n      max_parallel_requests: {args.parallel}\n"
            for _, port in servers) + f"router_settings:\n  routing_strategy: {args.strategy}\n")
        os.environ["STUDIO_HOME"] = str(ws)
        summary, wall, killed = asyncio.run(_run(ws, models, n, kill_at, servers[0][0]))
        from studio.store import Store

        with Store(ws / "sessions").open("fleet", read_only=True) as s:
            rows = [(x["fill_key"], x["answer"], x["status"], x["endpoint"]) for x in s.iter_samples()]
        ident = Counter((f, a) for f, a, _, _ in rows)
        dups = sum(c - 1 for c in ident.values() if c > 1)
        ok = sum(1 for r in rows if r[2] != "failed")
        per = Counter(r[3] for r in rows)
        rate = 1 / args.latency * args.parallel
        ideal = kill_at / (3 * rate) + (n - kill_at) / (2 * rate)
        print(f"prompts {n:,}, {len(rows):,} samples: {ok:,} done, {len(rows) - ok} failed, {dups} duplicates, "
              f"{n - len(ident)} missing")
        print("served: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(per.items())))
        print(f"server 1 killed at {killed:.2f} s (after {kill_at:,} done); wall {wall:.2f} s, ideal {ideal:.2f} s "
              f"(3 servers then 2, {args.parallel} in flight each at {args.latency * 1000:.0f} ms): "
              f"{wall / ideal:.3f} × ideal (bar 1.15)")
        return 0 if (ok == n and dups == 0 and len(ident) == n) else 1
    finally:
        for proc, _ in servers:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        shutil.rmtree(ws, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
