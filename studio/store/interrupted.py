"""Runs that ended without finishing (a crash, SIGKILL, power loss) are not left `running` forever.

A run record carries the process that runs it (pid, its start time, host). When a session is opened
for writing, every `running` run whose process is gone is marked `interrupted`, with what it holds
(samples, failed); a read-only view (`studio show`) reports the same state without writing.
"""

from __future__ import annotations

import os
import socket
import time
from functools import lru_cache
from typing import Any

INTERRUPTED = "interrupted"


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    try:
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()


def process_stamp() -> dict[str, Any]:
    """What a new run records about the process that runs it."""
    pid = os.getpid()
    return {"pid": pid, "pid_start": _start_time(pid), "host": _host()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def is_live(run: dict) -> bool:
    """Whether the process that runs `run` may still be running it (unknown hosts count as live)."""
    pid = run.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False                       # a run from before runs were stamped: nobody can be running it
    if run.get("host") not in (None, _host()):
        return True                        # another machine (a shared folder): cannot tell, do not touch
    if pid == os.getpid():
        return run.get("pid_start") in (None, _start_time(pid))
    if not _alive(pid):
        return False
    started = run.get("pid_start")
    return started is None or _start_time(pid) in (None, started)


def run_state(run: dict) -> str:
    """The run's status as a person should see it: `interrupted` for a `running` run nobody runs."""
    status = str(run.get("status") or "-")
    if status == "running" and not is_live(run):
        return INTERRUPTED
    return status


SAME_COMMAND = ("template", "template_version", "model", "endpoint", "mode", "strategy", "n", "answers", "seed",
                "shard")


def finished_later(runs: list[dict], i: int) -> dict | None:
    """The later run of the same command (template version, model, endpoint, fills, answers, seed, shard)
    that ran to its end after run `i` was interrupted: that run did the rest, nothing is left to continue."""
    mine = runs[i]
    for later in runs[i + 1:]:
        if later.get("status") == "done" and all(later.get(k) == mine.get(k) for k in SAME_COMMAND):
            return later
    return None


def stale_runs(runs: list[dict]) -> list[dict]:
    """The runs still marked `running` whose process is gone (they will never finish)."""
    return [r for r in runs if r.get("status") == "running" and not is_live(r)]


def held_by(session: Any, run: dict) -> dict[str, int]:
    """How many samples (and how many failed) the session holds from `run`: only samples of its
    template and version made since it started are read."""
    run_id = run.get("run_id")
    started = run.get("started")
    filters = {}
    if run.get("template"):
        filters["template"] = run["template"]
    if run.get("template_version"):
        filters["version"] = run["template_version"]
    ids = session.ids(**filters)
    if isinstance(started, (int, float)) and ids:
        created = session._index_columns(ids, {"created"})["created"]
        ids = [sid for sid, c in zip(ids, created) if c is None or c >= started - 1]
    held = failed = 0
    for s in session.samples(ids):
        if s.get("run_id") == run_id:
            held += 1
            failed += s.get("status") == "failed"
    return {"samples": held, "failed": failed}


def mark_interrupted(session: Any) -> list[str]:
    """Mark every stale `running` run of a writable session `interrupted` with what it holds."""
    marked = []
    for run in stale_runs(session.runs()):
        held = held_by(session, run)
        session.update_run(run["run_id"], status=INTERRUPTED, interrupted=time.time(), saved=held["samples"],
                           failed=held["failed"], done=held["samples"] - held["failed"])
        marked.append(run["run_id"])
    return marked
