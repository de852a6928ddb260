"""Memory of a large render-mode run: peak RSS of `studio run` (spawn to exit) at two sizes, and the growth.

    python bench/scale.py                      # 100,000 and 1,000,000 samples
    python bench/scale.py --sizes 20000 200000 # other sizes
    python bench/scale.py --after              # then time + peak RSS of show / report --json / export at the largest
    python bench/scale.py --sizes 1000000 --after --dir /tmp/big1m   # keep the workspace; reuse its sessions

"written" is what the process wrote to the disk (session files, journal, index: every fold's rewrite).
The template has two 1,000-value file slots (product strategy, no personas), mode render, so the figures are
the studio's own (expansion, rendering, sample records, the session store) with no model in the way. RSS is
polled from /proc every 50 ms over the process and its children. Prints figures; never fails on timing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from scratch import temp_dir  # bench/scratch.py: temporary folders removed at exit

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = """---
name: big
mode: render
slots:
  topic: {file: ../data/topics.txt}
  style: {file: ../data/styles.txt}
combine:
  strategy: product
---
user:
Write about {{ topic }} in the style of {{ style }}.
assistant:
Here is {{ topic }}, written as {{ style }} would.
"""


def workspace(root: Path) -> Path:
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir()
    (root / "data/topics.txt").write_text("".join(f"topic number {i} of the thousand\n" for i in range(1000)))
    (root / "data/styles.txt").write_text("".join(f"writer {i} with a style\n" for i in range(1000)))
    (root / "templates/big.prompt").write_text(TEMPLATE)
    return root


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [c for k in fh.read().split() for c in _tree(int(k))]
    except OSError:
        pass
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _pss(pid: int) -> int:
    """Proportional set size: pages shared with a forked child count half to each (summed RSS counts them twice)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


PEAK_PSS: list[float] = []      # the last measure's peak PSS (MB), summed over the process tree
WRITTEN: list[float] = []       # the last measure's bytes written to the disk (MB: the kernel's block writes,
#                                 process and children; counted when the pages are dirtied, so not 0 when cached)


def measure(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float, int, str]:
    """(wall s, peak RSS MB summed over the process tree, exit code, last stderr line); PEAK_PSS gets the
    peak summed PSS."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = peak_pss = 0
    usage = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        tree = _tree(proc.pid)
        peak = max(peak, sum(_rss(p) for p in tree))
        if len(tree) > 1:                     # a child shares pages: PSS says what the two really hold
            peak_pss = max(peak_pss, sum(_pss(p) for p in tree))
        else:
            peak_pss = max(peak_pss, _rss(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().strip().splitlines()
    PEAK_PSS[:] = [peak_pss / 2**20]
    WRITTEN[:] = [usage.ru_oublock * 512 / 2**20]
    return wall, peak / 2**20, proc.returncode, (err[-1] if err else "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--after", action="store_true", help="show / report / export on the largest session")
    ap.add_argument("--dir", type=Path, help="keep the workspace here; a session it already holds is not made again")
    args = ap.parse_args()
    if args.dir is None:
        root = workspace(temp_dir("studio-bench-scale-"))
    elif (args.dir / "templates/big.prompt").exists():
        root = args.dir
    else:
        args.dir.mkdir(parents=True, exist_ok=True)
        root = workspace(args.dir)
    if True:
        env = {**os.environ, "STUDIO_HOME": str(root), "PYTHONPATH": str(ROOT)}
        studio = [sys.executable, "-m", "studio"]
        peaks = {}
        for n in args.sizes:
            if (root / "sessions" / f"s{n}.json").exists():
                print(f"render run n={n:>9,}: kept from {root}", flush=True)
                continue
            wall, peak, rc, err = measure(studio + ["run", "big", "-n", str(n), "--session", f"s{n}"], root, env)
            peaks[n] = peak
            print(f"render run n={n:>9,}: wall {wall:7.1f} s  peak RSS {peak:7.0f} MB  ({peak * 2**20 / n:,.0f} B/sample)"
                  f"  written {WRITTEN[0]:,.0f} MB  exit {rc}{'  ' + err if rc else ''}", flush=True)
        if len(peaks) > 1:
            lo, hi = min(peaks), max(peaks)
            print(f"growth {lo:,} -> {hi:,}: {peaks[hi] - peaks[lo]:.0f} MB  (bar: peak <= 600 MB, growth <= 150 MB)")
        if args.after:
            n = max(args.sizes)
            for name, cmd in (("show", ["show", f"s{n}"]), ("report --json", ["report", f"s{n}", "--json"]),
                              ("export", ["export", f"s{n}", "--format", "openai-chat", "--status", "pending,accepted",
                                          "--out", str(root / "out"), "--force"])):
                wall, peak, rc, err = measure(studio + cmd, root, env)
                print(f"{name:>14} n={n:,}: wall {wall:6.1f} s  peak RSS {peak:6.0f} MB (PSS {PEAK_PSS[0]:6.0f})  exit {rc}"
                      f"{'  ' + err if rc else ''}  (bar: 30 s, 1 GB)", flush=True)


if __name__ == "__main__":
    main()
