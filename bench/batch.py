"""`studio run --batch` killed while the batch is with the provider, then `--resume`: is every result saved once?

    python bench/batch.py                      # 2,000 prompts, 1 in 20 erring in the batch's error file
    python bench/batch.py --requests 200

The real `studio run --batch` runs as a child process against the fake files+batches server
(tests/support/fake_batch.py, 127.0.0.1, in this process). The batch is held in_progress; once the
studio is polling it (its id already saved in the session) the child is SIGKILLed, the batch released,
and `studio run ... --resume` started. Prints: samples saved vs prompts, duplicate samples (must be 0),
requests the server answered (must equal the prompts: nothing paid twice), batches created (must be 1),
per-request errors saved as failed, cost saved vs the batch price litellm lists (must match) and the
live price of the same tokens, and the wall time of the submit and the collect. Cleans up its
temporary workspace. Never fails on timing; exits 1 only if a must figure is off.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workloads import two_slot_template  # noqa: E402  (bench/ is on the path: run as a script or imported)

MODEL = "openai/gpt-4o-mini"


def run(requests: int = 2000, fail_every: int = 20) -> dict:
    from tests.support.fake_batch import FakeBatch

    ws = Path(tempfile.mkdtemp(prefix="studio-batch-"))
    fake = FakeBatch(hold=True, fail_every=fail_every, keep_bodies=False).start()
    try:
        (ws / "templates").mkdir()
        side = int(requests ** 0.5) + 2
        (ws / "templates" / "bench-batch.prompt").write_text(two_slot_template(
            "bench-batch", [f"topic-{i}" for i in range(side)], [f"angle-{i}" for i in range(side + 1)]))
        env = {**os.environ, "STUDIO_HOME": str(ws), "PYTHONPATH": str(ROOT), "STUDIO_BATCH_POLL": "0.1",
               "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "sk-bench-not-a-key")}
        cmd = [sys.executable, "-m", "studio", "run", "bench-batch", "-n", str(requests), "--model", MODEL,
               "--api-base", fake.base_url, "--session", "batch"]
        t0 = time.monotonic()
        child = subprocess.Popen(cmd + ["--batch"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while fake.retrieves < 2 and child.poll() is None and time.monotonic() - t0 < 300:
            time.sleep(0.05)
        submitted = time.monotonic() - t0
        child.send_signal(signal.SIGKILL)
        child.wait()
        fake.hold = False
        t1 = time.monotonic()
        done = subprocess.run(cmd + ["--resume", "--json"], env=env, capture_output=True, text=True)
        collected = time.monotonic() - t1
        from studio.engine import llm
        from studio.store import Store

        with Store(ws / "sessions").open("batch", read_only=True) as s:
            items = list(s.iter_samples())
            last = s.runs()[-1]
        lib = llm.litellm()
        price = lib.model_cost["gpt-4o-mini"]
        ok = [x for x in items if x["status"] != "failed"]
        tin = sum(x["tokens_in"] or 0 for x in ok)
        tout = sum(x["tokens_out"] or 0 for x in ok)
        saved_cost = sum(x["cost"] or 0 for x in ok)
        return {
            "prompts": requests, "samples": len(items),
            "duplicates": len(items) - len({(x["fill_key"], x["seed"], x["answer"]) for x in items}),
            "answered_by_server": fake.batch_answered, "batches_created": len(fake.batches),
            "failed_saved": len(items) - len(ok), "expected_failed": -(-requests // fail_every) if fail_every else 0,
            "cost_saved": saved_cost,
            "cost_at_batch_price": tin * price["input_cost_per_token_batches"] + tout * price["output_cost_per_token_batches"],
            "cost_at_live_price": tin * price["input_cost_per_token"] + tout * price["output_cost_per_token"],
            "run_status": last.get("status"), "batch_status": (last.get("batch") or {}).get("status"),
            "submit_wall_s": round(submitted, 2), "resume_wall_s": round(collected, 2),
            "resume_exit": done.returncode,
        }
    finally:
        fake.stop()
        shutil.rmtree(ws, ignore_errors=True)


def bad(f: dict) -> list[str]:
    out = []
    if f["duplicates"]:
        out.append("duplicates")
    if f["samples"] != f["prompts"]:
        out.append("samples")
    if f["answered_by_server"] != f["prompts"] or f["batches_created"] != 1:
        out.append("asked twice")
    if f["failed_saved"] != f["expected_failed"]:
        out.append("failed_saved")
    if abs(f["cost_saved"] - f["cost_at_batch_price"]) > 1e-9:
        out.append("cost")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--fail-every", type=int, default=20)
    args = ap.parse_args(argv)
    f = run(args.requests, args.fail_every)
    for k, v in f.items():
        print(f"{k:>22}: {v:.8f}" if isinstance(v, float) else f"{k:>22}: {v}")
    problems = bad(f)
    print("OK" if not problems else f"WRONG: {', '.join(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
