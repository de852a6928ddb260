"""Session store benchmark: 100,000 samples of ~1 KB text; prints the figures issue 4 asks for.

    python bench/store.py [--samples 100000] [--dir DIR]

Bars (never enforced here): open <= 1.0 s, accept/tag durable <= 5 ms p99, 2,000-sample batch
<= 0.5 s, resident memory < 400 MB. Open, review and queries run in a fresh child process so
its peak RSS is the one a studio opening the session would have.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
from scratch import temp_dir  # bench/scratch.py: temporary folders removed at exit
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ("the customer reports that router keeps dropping connection after firmware update we "
         "apologise for trouble and have issued refund replacement shipped today please restart "
         "device check cables contact support again if problem persists thank you patience").split()


def make_samples(start: int, n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(start, start + n):
        text = " ".join(rng.choices(WORDS, k=140))[:800]
        out.append({
            "template": f"support-{i % 4}", "template_version": f"{i % 7:012x}", "fill_key": f"{i:012x}",
            "slots": {"customer": f"customer {i % 500}", "product": ("router", "modem", "phone")[i % 3],
                      "issue": f"issue {i % 50}"},
            "persona": {"text": f"a {20 + i % 50}-year-old engineer", "age_band": "30-39"},
            "messages": [{"role": "system", "content": "You are a support agent."},
                         {"role": "user", "content": text[:200]}],
            "output": text, "mode": "generate", "model": "openai/gpt-4o-mini",
            "params": {"temperature": 0.7}, "seed": i, "run_id": "bench",
            "tokens_in": 60, "tokens_out": 200, "cost": 0.00012, "latency": 0.8,
        })
    return out


def rss_mb(field: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of this process, from /proc."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def child(folder: str, name: str) -> None:
    """Open the session, review, query; print JSON figures."""
    from studio.store import Store
    t = time.perf_counter()
    s = Store(folder).open(name)
    open_s = time.perf_counter() - t
    rss_open = rss_mb("VmRSS")
    rng = random.Random(1)
    n = len(s)
    disk = []                                 # the floor: a bare 2 KB append + fdatasync on this disk
    probe = Path(folder) / ".fsync-probe"
    fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_APPEND)
    for _ in range(500):
        t = time.perf_counter()
        os.write(fd, b"x" * 2000)
        os.fdatasync(fd)
        disk.append(time.perf_counter() - t)
    os.close(fd)
    probe.unlink()
    lat = []
    for k in range(2000):
        sid = rng.randint(1, n)
        t = time.perf_counter()
        if k % 2:
            s.accept(sid)
        else:
            s.toggle_tag(sid, "too-long")
        lat.append(time.perf_counter() - t)
    q = {}
    for label, fn in [
        ("ids(status=pending)", lambda: s.ids(status="pending")),
        ("count(status=pending)", lambda: s.count(status="pending")),
        ("counts()", lambda: s.counts()),
        ("ids(tag, version)", lambda: s.ids(tag="too-long", version=f"{3:012x}")),
        ("query(pending, order=created desc, 100)", lambda: s.query(status="pending", order="created", desc=True, limit=100)),
        ("get(id)", lambda: s.get(rng.randint(1, n))),
        ("ids(text='refund replacement')", lambda: s.ids(text="refund replacement")),
    ]:
        t = time.perf_counter()
        reps = 0
        while True:
            fn()
            reps += 1
            if time.perf_counter() - t > 0.3:
                break
        q[label] = (time.perf_counter() - t) / reps
    t = time.perf_counter()
    s.close()
    close_s = time.perf_counter() - t
    print(json.dumps({"samples": n, "open_s": open_s, "rss_after_open_mb": rss_open,
                      "review_p50_ms": pct(lat, 50) * 1e3, "review_p99_ms": pct(lat, 99) * 1e3,
                      "review_max_ms": max(lat) * 1e3, "disk_p50_ms": pct(disk, 50) * 1e3,
                      "disk_p99_ms": pct(disk, 99) * 1e3, "queries_ms": {k: v * 1e3 for k, v in q.items()},
                      "close_s": close_s,
                      "peak_rss_mb": rss_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--dir")
    ap.add_argument("--keep", action="store_true", help="keep the session (default: delete it)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    from studio.store import Store
    folder = (Path(args.dir) if args.dir else temp_dir("studio-bench-", keep=args.keep)) / "sessions"
    store = Store(folder)
    name = f"bench-{os.getpid()}"
    s = store.create(name)
    rng = random.Random(0)
    batches = []
    gen_t = 0.0
    for start in range(0, args.samples, args.batch):
        t = time.perf_counter()
        docs = make_samples(start, min(args.batch, args.samples - start), rng)
        gen_t += time.perf_counter() - t
        t = time.perf_counter()
        s.add_samples(docs)
        batches.append(time.perf_counter() - t)
    t = time.perf_counter()
    s.close()
    close_s = time.perf_counter() - t
    segments = sorted((folder / f"{name}.samples").glob("*.json"))    # the samples' segment files
    size = (folder / f"{name}.json").stat().st_size + sum(p.stat().st_size for p in segments)
    writer_rss = rss_mb()
    print(f"session {folder / name}.json: {args.samples:,} samples, {size / 1e6:.0f} MB "
          f"(NAME.json and {len(segments)} segment files)")
    print(f"insert {args.batch:,}-sample batch: p50 {pct(batches, 50):.3f} s, p95 {pct(batches, 95):.3f} s, "
          f"max {max(batches):.3f} s (max includes journal folds)   [bar 0.5 s]")
    print(f"close after generation (fold journal into TinyDB file): {close_s:.2f} s")
    print(f"writer process peak RSS: {writer_rss:.0f} MB (includes building the samples)")
    for label in ("first open", "second open"):
        out = subprocess.run([sys.executable, __file__, "--child", str(folder), name],
                             capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"the open/review child failed:\n{out.stderr}")
        r = json.loads(out.stdout)
        print(f"[{label}] open: {r['open_s']:.3f} s  [bar 1.0 s]; RSS after open {r['rss_after_open_mb']:.0f} MB; "
              f"peak RSS {r['peak_rss_mb']:.0f} MB  [bar 400 MB]")
        print(f"[{label}] accept/tag durable: p50 {r['review_p50_ms']:.2f} ms, p99 {r['review_p99_ms']:.2f} ms, "
              f"max {r['review_max_ms']:.2f} ms  [bar p99 5 ms]; close {r['close_s']:.2f} s")
        print(f"[{label}] (bare 2 KB append + fdatasync on this disk: p50 {r['disk_p50_ms']:.2f} ms, "
              f"p99 {r['disk_p99_ms']:.2f} ms)")
        for k, v in r["queries_ms"].items():
            print(f"    {k:45s} {v:8.2f} ms")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if not args.keep:
        store.delete(name)


if __name__ == "__main__":
    main()
