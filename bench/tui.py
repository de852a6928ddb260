"""Studio (TUI) benchmark: time to the first interactive frame, accept-and-next latency in a
100,000-sample session, and memory. Prints the figures issue 5 asks for; never fails on timing.

    python bench/tui.py [--samples 100000] [--presses 300] [--dir DIR]

First frame: a fresh process running the real `studio` (new workspace) / `studio open NAME` command path
(studio.cli.main, imports included), measured from just before the process starts to the first frame drawn;
then to the session being loaded (done in a worker). `--first-frame-only` skips the latency part.
Latency: a Pilot drives the real app on the big session; each figure is one keypress of "space"
(accept and next) until its effect is on the screen (the row redrawn, the tagger showing the next sample).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
from scratch import temp_dir  # bench/scratch.py: temporary folders removed at exit
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BARE = r"""
import os, time
t0, w0, p0 = float(os.environ["BENCH_T0"]), time.time(), time.perf_counter()
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("hello")

    def on_mount(self):
        self.call_after_refresh(self.done)

    def done(self):
        self.t, self.cpu = time.perf_counter(), time.process_time()
        self.exit()

app = Bare()
app.run(headless=True, size=(80, 24))
import json; print(json.dumps({"first_frame": w0 + (app.t - p0) - t0, "cpu": app.cpu}))
"""

CHILD = r"""
import os, sys, time
t0, w0, p0 = float(os.environ["BENCH_T0"]), time.time(), time.perf_counter()
# the real `studio` / `studio open NAME` command path: studio.cli.main parses argv and starts the app
from studio.cli import main as cli
import studio.tui.app as tui_app

class BenchApp(tui_app.StudioApp):
    def on_mount(self):
        super().on_mount()
        self.set_interval(0.01, self.check)

    def _first_frame(self):
        super()._first_frame()
        self.cpu = time.process_time()

    def on_job_failed(self, event):  # the session did not load: say so instead of waiting forever
        super().on_job_failed(event)
        self.failed = event.text
        self._leave()

    def check(self):
        if self.ready_at is not None and self.first_frame is not None:
            self._leave()

    def run(self, **kw):
        return super().run(headless=True, size=(80, 24))

tui_app.StudioApp = BenchApp
apps = []
BenchApp.__init__ = (lambda init: lambda self, *a, **k: (apps.append(self), init(self, *a, **k))[1])(BenchApp.__init__)
os.environ["STUDIO_HOME"] = sys.argv[1]
cli.main(["open", sys.argv[2]] if sys.argv[2] else [])
app = apps[0]
wall = lambda pc: w0 + (pc - p0) - t0
if getattr(app, "failed", None):
    import json; print(json.dumps({"error": app.failed})); sys.exit(0)
import json; print(json.dumps({"first_frame": wall(app.first_frame), "ready": wall(app.ready_at), "cpu": app.cpu,
                               "modules": len(sys.modules)}))
"""


def make_samples(start: int, n: int, rng: random.Random, version: str) -> list[dict]:
    words = "the customer reports that router keeps dropping connection after firmware update".split()
    out = []
    for i in range(start, start + n):
        text = " ".join(rng.choices(words, k=60))
        out.append({"template": "support-madlib", "template_version": version, "fill_key": f"{i:012x}",
                    "slots": {"customer": f"customer {i % 500}", "product": ("router", "modem", "phone")[i % 3]},
                    "messages": [{"role": "user", "content": f"Customer {i}: {text[:200]}"}],
                    "output": text, "mode": "render", "model": "render", "seed": i, "run_id": "bench",
                    "status": "pending", "created": 1_700_000_000.0 + i})
    return out


def build(root: Path, name: str, n: int) -> None:
    from studio.store import Store
    from studio.core.workspace import Workspace

    ws = Workspace.from_env(root).ensure()
    store = Store(ws.sessions_dir)
    if name in {i.name for i in store.list()}:
        return
    session = store.create(name)
    version = session.save_template_version("support-madlib",
                                            (ws.templates_dir / "support-madlib.prompt").read_text())
    rng = random.Random(0)
    for start in range(0, n, 5000):
        session.add_samples(make_samples(start, min(5000, n - start), rng, version))
    session.close()


def bytecode_env() -> dict | None:
    """With PYTHONDONTWRITEBYTECODE set (as here), an editable install compiles studio's modules from source at
    every start; this env caches bytecode in a private folder instead (what an installed package, or any
    second start without that variable, gets). None when bytecode is cached anyway."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return None
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(temp_dir("bench-tui-pyc-"))
    return env


def first_frame(root: Path, name: str, runs: int = 3, code: str = CHILD, base_env: dict | None = None) -> list[dict]:
    out = []
    script = temp_dir("bench-tui-child-") / "first_frame.py"
    script.write_text(code)
    for _ in range(runs):
        env = dict(base_env or os.environ, BENCH_T0=repr(time.time()),
                   PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        proc = subprocess.run([sys.executable, str(script), str(root), name], env=env, capture_output=True,
                              text=True, timeout=120)
        line = (proc.stdout.strip().splitlines() or ["{}"])[-1]
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            out.append({"error": proc.stderr[-300:]})
    return out


async def latency(root: Path, name: str, presses: int) -> dict:
    from textual import events

    from studio.tui.app import StudioApp
    from studio.core.workspace import Workspace

    app = StudioApp(Workspace.from_env(root), name)
    times: list[float] = []
    painted: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        t0 = time.perf_counter()
        while app.ready_at is None:
            await pilot.pause(0.05)
        load = time.perf_counter() - t0
        screen = app.screen
        display = app._display

        def timed_display(*args, **kwargs):  # every frame written to the (headless) terminal
            display(*args, **kwargs)
            painted.append(time.perf_counter())

        app._display = timed_display
        await pilot.press("home")
        await pilot.pause(0.3)
        cpu: list[float] = []
        for _ in range(presses):
            before = screen.stream.current_id
            c = time.thread_time()
            t = time.perf_counter()
            app.post_message(events.Key("space", " "))  # what a terminal keypress becomes
            while not (screen.tagger.sample and screen.tagger.sample.get("id") != before
                       and painted and painted[-1] > t):
                await asyncio.sleep(0.0005)
            times.append(painted[-1] - t)
            cpu.append(time.thread_time() - c)
            await asyncio.sleep(0.02)  # a fast reviewer: ~50 keys a second at most
        flush_t = time.perf_counter()
        screen.io.flush(120)
        flush = time.perf_counter() - flush_t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        await pilot.press("ctrl+q")
    times.sort()
    cpu.sort()
    return {"cpu_p50": cpu[len(cpu) // 2], "cpu_p95": cpu[int(len(cpu) * 0.95)], "load": load, "p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95)],
            "max": times[-1], "mean": statistics.mean(times), "flush": flush, "rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--dir", default=None, help="keep the workspace here (reused when it exists)")
    parser.add_argument("--runs", type=int, default=3, help="start-up runs per case (median printed)")
    parser.add_argument("--first-frame-only", action="store_true", help="skip the keystroke latency part")
    args = parser.parse_args()
    root = Path(args.dir) if args.dir else temp_dir("bench-tui-")
    name = f"bench{args.samples}"

    t = time.perf_counter()
    build(root, name, args.samples)
    print(f"session: {args.samples:,} samples ready in {time.perf_counter() - t:.1f} s ({root})")

    empty = root / "empty"
    empty.mkdir(exist_ok=True)
    cached = bytecode_env()
    if cached is not None:  # warm the private bytecode cache once (not timed)
        first_frame(root, "", runs=1, code=BARE, base_env=cached)
        first_frame(root, name, runs=1, base_env=cached)
    modes = [("", None)] + ([(" [bytecode cached]", cached)] if cached is not None else [])
    if cached is not None:
        print("PYTHONDONTWRITEBYTECODE is set: figures as started here (every studio module compiled from source), "
              "and [bytecode cached] as an installed package starts")
    cases = [("a bare Textual app (baseline)", root, "", BARE),
             ("`studio` in a new workspace (demo session)", empty, "", CHILD),
             (f"`studio open` on a {args.samples:,}-sample session", root, name, CHILD)]
    for tag, env in modes:
        # interleaved (bare, new, big, bare, new, big, ...) so load from other processes hits every case alike
        results: list[list[dict]] = [[] for _ in cases]
        for _ in range(args.runs):
            for k, (_label, where, session, code) in enumerate(cases):
                results[k] += first_frame(where, session, runs=1, code=code, base_env=env)
        bare = [r.get("first_frame") for r in results[0]]
        for (label, _w, _s, code), runs in zip(cases, results):
            frames = [r["first_frame"] for r in runs if "first_frame" in r]
            readies = [r["ready"] for r in runs if "ready" in r]
            if not frames:
                print(f"first frame ({label}){tag}: failed: {runs[-1]}")
                continue
            extra = [r["first_frame"] - b for r, b in zip(runs, bare) if "first_frame" in r and b is not None]
            cpu = statistics.median(r["cpu"] for r in runs if "cpu" in r)
            print(f"first interactive frame{tag}, {label}: median {statistics.median(frames) * 1000:.0f} ms "
                  f"(runs {', '.join(f'{x * 1000:.0f}' for x in frames)} ms"
                  + ("" if code is BARE else f"; goal < 500 ms; over the bare app in the same round: median "
                     f"{statistics.median(extra) * 1000:+.0f} ms") + f"; CPU {cpu * 1000:.0f} ms)"
                  + (f"; session on screen {statistics.median(readies) * 1000:.0f} ms" if readies else ""))
    if args.first_frame_only:
        return
    result = asyncio.run(latency(root, name, args.presses))
    print(f"accept-and-next ({args.presses} presses, {args.samples:,} samples, 80x24): "
          f"p50 {result['p50'] * 1000:.1f} ms, p95 {result['p95'] * 1000:.1f} ms, max {result['max'] * 1000:.1f} ms "
          f"(goal p95 <= 50 ms); session load in the app {result['load']:.2f} s; "
          f"queued writes durable {result['flush'] * 1000:.0f} ms after the last key")
    print(f"  UI-thread CPU per accept-and-next: p50 {result['cpu_p50'] * 1000:.1f} ms, "
          f"p95 {result['cpu_p95'] * 1000:.1f} ms (the rest is waiting for the next frame and for the CPU; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"memory: peak RSS {result['rss_mb']:.0f} MB (app + {args.samples:,}-sample session)")


if __name__ == "__main__":
    main()
