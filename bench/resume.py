"""SIGKILL a `studio run` at random moments and run the same command again each time: does it resume?

    python bench/resume.py                          # 2,000 requests, 25 kills (about a minute)
    python bench/resume.py --requests 300 --kills 5 # the size tests/test_resume.py runs

The real `studio run` command runs as a child process against the fake OpenAI-compatible server
(127.0.0.1, in this process, so it can say when each answer left it). After each kill the session is
read (read-only) and everything it holds is remembered as acknowledged; the same command then runs
again. At the end it prints:

* answers paid twice: prompts the server answered more than once although the first answer left the
  server more than `--grace` seconds before the next kill (that answer reached the studio, so asking
  again means paying twice) - must be 0; answers re-sent because they were in flight at a kill are
  counted apart (at most --concurrency per kill);
* duplicate samples (two samples of one fill and seed) - must be 0; samples held vs --requests;
* acknowledged samples lost (seen after one kill, missing later or changed) - must be 0;
* runs marked interrupted by the next open, vs kills that landed after the run record existed.

Cleans up its temporary workspace. Never fails on timing; exits 1 only if a must-be-0 figure is not 0.
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workloads import two_slot_template  # noqa: E402  (bench/ is on the path: run as a script or imported)


def _workspace(requests: int, segment_samples: int | None = None) -> Path:
    ws = Path(tempfile.mkdtemp(prefix="studio-resume-"))
    (ws / "templates").mkdir()
    (ws / "sessions").mkdir()
    if segment_samples:                # small segments: every fold and open after a kill replaces several
        from studio.store import Store

        Store(ws / "sessions").create("resume", segment_samples=segment_samples).close()
    side = int(requests ** 0.5) + 2
    (ws / "templates" / "bench-resume.prompt").write_text(
        two_slot_template("bench-resume", [f"topic-{i}" for i in range(side)], [f"angle-{i}" for i in range(side + 1)]))
    return ws


def _identities(ws: Path) -> dict[int, tuple]:
    """id -> (fill_key, seed, answer, output) of every sample the session holds (read-only)."""
    from studio.store import Store

    store = Store(ws / "sessions")
    if not store.exists("resume"):
        return {}
    with store.open("resume", read_only=True) as s:
        return {d["id"]: (d.get("fill_key"), d.get("seed"), d.get("answer") or 0, d.get("output"))
                for d in s.iter_samples()}


def _runs(ws: Path) -> list[dict]:
    from studio.store import Store

    store = Store(ws / "sessions")
    if not store.exists("resume"):
        return []
    with store.open("resume", read_only=True) as s:
        return s.runs()


def run_kills(requests: int = 2000, kills: int = 25, *, concurrency: int = 16, latency: float = 0.25,
              seed: int | None = None, grace: float = 0.5, startup_kills: float = 0.2,
              verbose: bool = True, segment_samples: int | None = 100) -> dict:
    """Kill and re-run; the figures as a dict (see the module docstring)."""
    from tests.support.fake_llm import FakeLLM

    rng = random.Random(seed)
    ws = _workspace(requests, segment_samples)
    fake = FakeLLM(latency=latency, keep_bodies=False).start()
    cmd = [sys.executable, "-m", "studio", "run", "bench-resume", "-n", str(requests), "--model", fake.model,
           "--api-base", fake.base_url, "--session", "resume", "--concurrency", str(concurrency), "--json"]
    env = {**os.environ, "STUDIO_HOME": str(ws), "PYTHONPATH": str(ROOT)}
    kill_times: list[float] = []
    launch_times: list[float] = []     # kill_times[i] ended the process launched at launch_times[i]
    landed_in_run = 0          # kills after the run record was written (the next open must mark it)
    acked: dict[int, tuple] = {}
    lost = changed = 0
    log = print if verbose else (lambda *a, **k: None)
    t_start = time.monotonic()
    t_wall0 = time.time()
    proc: subprocess.Popen | None = None
    try:
        for k in range(kills):
            before_runs = len(_runs(ws))
            count0 = fake.count
            launch_times.append(time.time())
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started = time.monotonic()
            if rng.random() < startup_kills:       # a moment in start-up (imports, session open, run record)
                time.sleep(rng.uniform(0.05, 2.5))
            else:                                  # a moment while answers arrive
                while fake.count == count0 and proc.poll() is None and time.monotonic() - started < 60:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 1.5))
            if proc.poll() is not None:
                log(f"kill {k + 1}: the run had already finished (rc {proc.returncode})")
                launch_times.pop()
                break
            os.kill(proc.pid, signal.SIGKILL)
            kill_times.append(time.time())
            proc.wait()
            now = _identities(ws)
            for sid, ident in acked.items():
                if sid not in now:
                    lost += 1
                elif now[sid][:3] != ident[:3] or (ident[3] is not None and now[sid][3] != ident[3]):
                    changed += 1
            acked.update(now)
            in_run = len(_runs(ws)) > before_runs
            landed_in_run += in_run
            log(f"kill {k + 1:>2} at {kill_times[-1] - t_wall0:6.2f}s: after {time.monotonic() - started:4.2f}s, session holds {len(now):>5} "
                f"samples, server answered {fake.count - count0:>4} this time{'' if in_run else ' (in start-up)'}")
        launch_times.append(time.time())
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - t_start
        end = _identities(ws)
        for sid, ident in acked.items():
            if sid not in end:
                lost += 1
            elif end[sid][:3] != ident[:3] or (ident[3] is not None and end[sid][3] != ident[3]):
                changed += 1
        runs = _runs(ws)
        with fake._lock:
            answered = list(fake.answered)
    finally:
        if proc is not None and proc.poll() is None:   # interrupted (ctrl+c): leave no studio running
            proc.kill()
            proc.wait()
        fake.stop()
        shutil.rmtree(ws, ignore_errors=True)

    per_key: dict[str, list[float]] = defaultdict(list)
    for t, key in answered:
        per_key[key].append(t)
    resent = paid_twice = 0
    resent_per_kill: Counter = Counter()
    worst_gap = 0.0
    for times in per_key.values():
        times.sort()
        for earlier in times[:-1]:                     # every answer but the last was lost or paid again
            # the process that asked: the last launched at or before the answer left
            p = bisect.bisect_right(launch_times, earlier) - 1
            kill = kill_times[p] if 0 <= p < len(kill_times) else None
            if kill is not None and earlier >= kill:
                gap = 0.0                              # written after its asker was killed: never arrived
            else:
                gap = kill - earlier if kill is not None else float("inf")
            if gap > grace:
                paid_twice += 1
                log(f"  paid twice: answered at {earlier - t_wall0:.2f}s, its run killed at "
                    f"{'never' if kill is None else f'{kill - t_wall0:.2f}s'}; all answers at "
                    f"{[round(t - t_wall0, 2) for t in times]}")
            else:
                resent += 1
                resent_per_kill[p] += 1
                worst_gap = max(worst_gap, gap)
    idents = Counter(v[:3] for v in end.values())
    figures = {
        "requests": requests, "kills": len(kill_times), "kills_in_run": landed_in_run,
        "concurrency": concurrency, "latency": latency,
        "server_answers": len(answered), "distinct_answers": len(per_key),
        "paid_twice": paid_twice, "resent_in_flight": resent,
        "resent_max_per_kill": max(resent_per_kill.values(), default=0), "resent_worst_gap_s": round(worst_gap, 3),
        "samples": len(end), "duplicate_samples": sum(n - 1 for n in idents.values() if n > 1),
        "acknowledged": len(acked), "acknowledged_lost": lost, "acknowledged_changed": changed,
        "runs_interrupted": sum(r.get("status") == "interrupted" for r in runs),
        "runs_running": sum(r.get("status") == "running" for r in runs),
        "final_rc": final.returncode, "final_stderr": final.stderr[-500:] if final.returncode else "",
        "wall_s": round(wall, 1),
    }
    return figures


def bad(f: dict) -> list[str]:
    """The must-be-0 figures that are not."""
    out = [k for k in ("paid_twice", "duplicate_samples", "acknowledged_lost", "acknowledged_changed", "runs_running")
           if f[k]]
    if f["samples"] != f["requests"]:
        out.append("samples != requests")
    if f["final_rc"] != 0:
        out.append("final run failed")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--kills", type=int, default=25)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency", type=float, default=0.25, help="seconds the fake server takes per answer")
    ap.add_argument("--grace", type=float, default=0.5,
                    help="an answer that left the server this long before a kill had reached the studio")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--segment-samples", type=int, default=100,
                    help="sample ids per segment file of the session (small: kills land between segment writes)")
    args = ap.parse_args(argv)
    f = run_kills(args.requests, args.kills, concurrency=args.concurrency, latency=args.latency, seed=args.seed,
                  grace=args.grace, segment_samples=args.segment_samples)
    print()
    print(f"{f['requests']} requests, {f['kills']} SIGKILLs ({f['kills_in_run']} after the run had started), "
          f"concurrency {f['concurrency']}, server latency {f['latency']}s, {f['wall_s']}s in all")
    print(f"server answers              {f['server_answers']} for {f['distinct_answers']} distinct requests")
    print(f"answers paid twice          {f['paid_twice']}   (an answer that left the server > {args.grace}s "
          f"before the next kill, asked again)")
    print(f"re-sent, in flight at kill  {f['resent_in_flight']}   (at most {f['resent_max_per_kill']} per kill, "
          f"written <= {f['resent_worst_gap_s']}s before the kill, 0 = after it; concurrency {f['concurrency']})")
    print(f"samples in the session      {f['samples']} of {f['requests']}, duplicates {f['duplicate_samples']}")
    print(f"acknowledged samples        {f['acknowledged']} seen after kills, lost {f['acknowledged_lost']}, "
          f"changed {f['acknowledged_changed']}")
    print(f"runs marked interrupted     {f['runs_interrupted']} (still 'running': {f['runs_running']})")
    if f["final_rc"]:
        print(f"final run exit code {f['final_rc']}: {f['final_stderr']}")
    problems = bad(f)
    print("OK" if not problems else f"NOT OK: {', '.join(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
