"""Export benchmark: a 100,000-sample session (built through the Store API) to JSONL and Parquet.

    python bench/export.py [--samples 100000] [--repeat 3] [--format openai-chat] [--one-process]

Issue 7's bars (never enforced here): JSONL under 3 s, Parquet under 5 s, for 100,000 samples.
The timed span is the whole export as `studio export` does it: open the session, then the pipeline's stages
(studio/export/plan.py): select (the store's indexes), clean (read each selected sample, check and format it,
MinHash it; a large selection is split with a forked child process where that is safe, see
studio/export/parallel.py; the benchmark says how many processes it used, and --one-process measures without
the child), dedup (exact and near duplicates over the clean stage's columns), finish (pair, redact, split,
statistics), write (files renamed into place, and the dataset card).
Prints the best and median of --repeat runs (the machine is shared), and the time per stage.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_SYL = "ba be bi bo ca co da de di do fa fe ga go ha he ka ke la le li lo ma me mi mo na ne no pa pe po ra re ri ro sa se si so ta te ti to va ve wa we ya yo za".split()
_rng = random.Random(1)
VOCAB = ["".join(_rng.choices(_SYL, k=_rng.choice((1, 2, 2, 3, 3, 4)))) for _ in range(5000)]   # ~5 letters


def make_samples(start: int, n: int, rng: random.Random) -> list[dict]:
    """~1 KB samples (30-word prompt, 120-word answer); 1% exact and 1% near duplicates, 10% rejected."""
    out = []
    for i in range(start, start + n):
        user = " ".join(rng.choices(VOCAB, k=30))
        output = " ".join(rng.choices(VOCAB, k=120))
        if i % 100 == 5 and out:
            user, output = out[-1]["messages"][1]["content"], out[-1]["output"]          # exact duplicate
        elif i % 100 == 6 and len(out) > 1:
            user, output = out[-2]["messages"][1]["content"], out[-2]["output"] + " Thanks!"  # near duplicate
        out.append({
            "template": f"support-{i % 4}", "template_version": f"{i % 3:012x}", "fill_key": f"{i:012x}",
            "slots": {"product": ("router", "modem", "phone")[i % 3], "issue": f"issue {i % 50}"},
            "persona": {"text": f"a {20 + i % 50}-year-old engineer"},
            "messages": [{"role": "system", "content": "You are a calm support agent."},
                         {"role": "user", "content": user}],
            "output": output, "model": "openai/gpt-4o-mini", "params": {"temperature": 0.7, "max_tokens": 300},
            "seed": i, "run_id": "bench", "status": "rejected" if i % 10 == 0 else "accepted",
            "tags": ["too-long"] if i % 10 == 0 else [], "cost": 0.0002, "tokens_in": 60, "tokens_out": 150,
        })
    return out


def build(sessions: Path, n: int):
    from studio.store import Store

    store = Store(sessions)
    s = store.create("bench")
    rng = random.Random(7)
    t = time.perf_counter()
    for start in range(1, n + 1, 5000):
        s.add_samples(make_samples(start, min(5000, n + 1 - start), rng))
    s.close()
    return store, time.perf_counter() - t


def timed_export(store, out: Path, fmt: str, parquet: bool) -> dict:
    """One export as `studio export` does it (plan_export + write_export), with per-stage times."""
    from studio.export import ExportOptions, clean, dedup, plan, select, write_export

    stages: dict[str, float] = {}
    real = {"select": (select, "from_session"), "clean": (clean, "run"), "dedup": (dedup, "run")}

    def timed(name):
        module, attr = real[name]
        fn = getattr(module, attr)

        def run(*a, **k):
            t = time.perf_counter()
            r = fn(*a, **k)
            stages[name] = time.perf_counter() - t
            return r
        return run

    saved = {name: getattr(module, attr) for name, (module, attr) in real.items()}
    for name, (module, attr) in real.items():
        setattr(module, attr, timed(name))
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        session = store.open("bench", read_only=True)
        t_open = time.perf_counter()
        p = plan.plan_export(session, ExportOptions(format=fmt, parquet=parquet))
        t1 = time.perf_counter()
        report = write_export(p, out, force=True)
        t2 = time.perf_counter()
        cpu = time.process_time() - c0
        session.close()
    finally:
        for name, (module, attr) in real.items():
            setattr(module, attr, saved[name])
    staged = stages["select"] + stages["clean"] + stages["dedup"]
    return {"total": t2 - t0, "cpu": cpu, "open": t_open - t0, "select": stages["select"], "clean": stages["clean"],
            "dedup": stages["dedup"], "finish": t1 - t_open - staged,
            "write": t2 - t1, "rows": sum(report.rows.values()), "removed": report.removed, "bytes": report.bytes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--format", default="openai-chat")
    ap.add_argument("--one-process", action="store_true", help="clean without the forked child")
    args = ap.parse_args()
    from studio.export import parallel

    if args.one_process:
        parallel.processes_for = lambda n: 1
    print(f"preparing with {parallel.processes_for(args.samples)} process(es) on "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} core(s)")
    with tempfile.TemporaryDirectory(prefix="studio-bench-export-") as tmp:
        store, build_s = build(Path(tmp) / "sessions", args.samples)
        print(f"built a {args.samples:,}-sample session through the Store API in {build_s:.1f} s")
        for parquet, bar in ((False, 3.0), (True, 5.0)):
            kind = "Parquet" if parquet else "JSONL"
            runs = [timed_export(store, Path(tmp) / f"out-{kind}", args.format, parquet) for _ in range(args.repeat)]
            totals = sorted(r["total"] for r in runs)
            best = min(runs, key=lambda r: r["total"])
            stages = ", ".join(f"{k} {best.get(k, 0.0):.2f}" for k in ("open", "select", "clean", "dedup", "finish", "write"))
            print(f"{kind:8s} {args.format}: best {totals[0]:.2f} s, median {statistics.median(totals):.2f} s "
                  f"(bar {bar:.0f} s) over {args.repeat} runs; {best['rows']:,} rows, "
                  f"{best['bytes'] / 2**20:.1f} MB; removed {best['removed']}")
            print(f"         best run: {best['cpu']:.2f} s of CPU time in this process; stages (s): {stages}")
        for parquet in (False, True) if not args.one_process else ():      # the command always may fork
            cmd = [sys.executable, "-m", "studio", "export", "bench", "--format", args.format,
                   "--out", str(Path(tmp) / "cli"), "--force"] + (["--parquet"] if parquet else [])
            env = {**os.environ, "STUDIO_HOME": tmp}
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                done = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                      cwd=Path(__file__).resolve().parents[1])
                if done.returncode:                   # say why instead of a traceback of the bench itself
                    print(f"`{' '.join(cmd[2:])}` failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
                    continue
                times.append(time.perf_counter() - t)
            if not times:
                continue
            print(f"`studio export bench --format {args.format}{' --parquet' if parquet else ''}` as a command "
                  f"(start-up and imports included): best {min(times):.2f} s, median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
