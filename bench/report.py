"""Report benchmark: failure attribution over a 100,000-sample session; prints the figures issue 6 asks for.

    python bench/report.py [--samples 100000] [--dir DIR]

Bar (never enforced here): the analysis of a 100,000-sample session in under 1 s. The issue's figure is
`analyse_session` on an open session (counted from the store's in-memory index, as `studio report` and
the TUI do). For comparison: analyse() over records in memory and over whole samples streamed from the
store; then the whole `studio report --json` command in a fresh process (interpreter start and open included).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from scratch import temp_dir  # bench/scratch.py: temporary folders removed at exit
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("the customer reports that router keeps dropping connection after firmware update we apologise for "
         "trouble and have issued refund replacement shipped today please restart device").split()
PRODUCTS = ("router", "modem", "phone", "tablet", "e-bike", "thermostat")
AGES = ("teen", "20-29", "30-39", "40-59", "60+")
JOBS = ("nurse", "teacher", "engineer", "farmer", "student", "retired")


def make_samples(start: int, n: int, rng: random.Random) -> list[dict]:
    """~1 KB samples over 4 templates x 3 versions, with one planted cause (product e-bike, teens unsafe)."""
    out = []
    for i in range(start, start + n):
        text = " ".join(rng.choices(WORDS, k=120))[:700]
        product, age = rng.choice(PRODUCTS), rng.choice(AGES)
        r = rng.random()
        bad = 0.6 if product == "e-bike" else 0.15
        status = "rejected" if r < bad else "failed" if r > 0.97 else "accepted" if r < 0.9 else "pending"
        tags = []
        if status == "rejected":
            tags = ["unsafe"] if age == "teen" and rng.random() < 0.5 else [rng.choice(["wrong", "wordy", "tone"])]
        out.append({
            "template": f"support-{i % 4}", "template_version": f"{i % 3:012x}", "fill_key": f"{i % 20000:012x}",
            "slots": {"customer": f"customer {i % 500}", "product": product, "issue": f"issue {i % 50}"},
            "persona": {"text": f"a {age} {rng.choice(JOBS)}", "age_band": age, "occupation": rng.choice(JOBS)},
            "messages": [{"role": "user", "content": text[:200]}], "output": text, "mode": "generate",
            "model": "openai/gpt-4o-mini", "seed": i, "status": status, "tags": tags,
            "tokens_in": 60, "tokens_out": 200, "cost": 0.00012, "latency": 0.8,
        })
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--dir", default=None, help="workspace folder (default: a temporary one)")
    args = ap.parse_args()
    from studio.analysis.attribution import analyse, analyse_session
    from studio.store import Store

    root = Path(args.dir) if args.dir else temp_dir("bench-report-")
    rng = random.Random(0)
    records = []
    t = time.perf_counter()
    session = Store(root / "sessions").create("bench")
    for start in range(0, args.samples, 5000):
        batch = make_samples(start, min(5000, args.samples - start), rng)
        session.add_samples(batch)
        records.extend(batch)
    session.close()
    print(f"built a {args.samples:,}-sample session in {time.perf_counter() - t:.1f} s ({root})")

    runs = [_timed(partial(analyse, records)) for _ in range(3)]
    wall, cpu = min(r[0] for r in runs), min(r[2] for r in runs)
    report = runs[0][1]
    print(f"analysis of {args.samples:,} records in memory: {wall:.3f} s wall, {cpu:.3f} s CPU (best of 3; "
          f"{sum(t.tests for t in report.templates)} tests, {len(report.flags)} flag(s))")
    for f in report.flags[:4]:
        print(f"  flagged: {f.template}: {f.describe()}")
    del records

    session = Store(root / "sessions").open("bench", read_only=True)
    t_whole, whole, c_whole = _best(lambda: analyse(session.iter_samples()), n=1)
    runs = [_timed(lambda: analyse_session(session)) for _ in range(5)]
    t_index, report, c_index = min(runs, key=lambda r: r[0])
    t_med = sorted(r[0] for r in runs)[2]
    session.close()
    same = report.to_dict()["total"] == whole.to_dict()["total"] and len(report.flags) == len(whole.flags)
    print(f"analysis over whole samples streamed from the store (analyse(session.iter_samples())): "
          f"{t_whole:.3f} s wall, {c_whole:.3f} s CPU")
    print(f"ISSUE 6 FIGURE: analysis of the {args.samples:,}-sample open session (analyse_session, from the "
          f"store's index): {t_index:.3f} s wall best of 5 (median {t_med:.3f} s), {c_index:.3f} s CPU  "
          f"(bar: < 1 s; same totals and flags as over whole samples: {same})")

    env = {**os.environ, "STUDIO_HOME": str(root)}
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "studio", "report", "bench", "--json"], env=env,
                          capture_output=True, text=True)
    print(f"`studio report bench --json` end to end (fresh process, open + analysis + JSON): "
          f"{time.perf_counter() - t:.2f} s (exit {done.returncode})")


def _best(fn, n=3):
    """The run with the least wall time of n (the machine is shared)."""
    return min((_timed(fn) for _ in range(n)), key=lambda r: r[0])


def _timed(fn):
    """(wall seconds, value, CPU seconds): the machine is shared, so CPU time says what the code costs."""
    t, c = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - t, value, time.process_time() - c


if __name__ == "__main__":
    main()
