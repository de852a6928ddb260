"""Another process adds to a session a studio holds: through its own inbox file, folded in by the holder.
Two real processes on real files: never two writers of one file, nothing lost or repeated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from studio.store import Store
from studio.store.inbox import GuestSession, open_adding, pending_files
from tests.store.conftest import sample

ADD = r"""
import sys, time
from studio.store import Store
from studio.store.inbox import open_adding
sys.path.insert(0, sys.argv[3])
from tests.store.conftest import sample
s = open_adding(Store(sys.argv[1]), sys.argv[2])
print(type(s).__name__, flush=True)
run = s.add_run({"template": "support", "status": "running"})
for i in range(5):
    s.add_samples([sample(100 + i, run_id=run)])
fb = s.add_feedback([{"comment": "too long", "status": "new"}])
s.update_feedback(fb[0], status="structured")
s.update_run(run, status="done")
s.close()
print("closed", flush=True)
"""


def _guest(folder, name, root):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", ADD, str(folder), name, root], capture_output=True, text=True,
                          env=env, timeout=60)


def test_a_second_process_adds_to_a_held_session_through_its_inbox(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    folder = tmp_path / "sessions"
    holder = Store(folder).create("held")
    holder.add_samples([sample(i) for i in range(3)])
    out = _guest(folder, "held", root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "GuestSession"
    # the guest never wrote the session's files: only its own inbox file
    [inbox] = pending_files(folder, "held")
    lines = [json.loads(x) for x in inbox.read_text().splitlines()]
    assert [x["op"] for x in lines][:3] == ["add_run", "add_samples", "add_samples"] and lines[-1]["op"] == "end"
    assert len(holder) == 3
    added = holder.fold_inbox()
    assert added == [4, 5, 6, 7, 8] and len(holder) == 8
    assert [holder.get(i)["seed"] for i in added] == [100, 101, 102, 103, 104]
    assert holder.feedback()[-1]["status"] == "structured"  # the placeholder id mapped to the real one
    assert holder.runs()[-1]["status"] == "done"
    assert pending_files(folder, "held") == [] and holder.fold_inbox() == []  # consumed once
    holder.close()
    with Store(folder).open("held") as again:
        assert len(again) == 8 and "inbox" not in {k for k, v in again.meta.items() if v}


def test_lines_the_holder_folded_are_not_applied_again_after_a_crash_or_reopen(tmp_path):
    folder = tmp_path / "sessions"
    holder = Store(folder).create("held")
    view = Store(folder).open("held")
    assert view.read_only
    guest = GuestSession(view)
    guest.add_samples([sample(1)])
    assert holder.fold_inbox() == [1]
    guest.add_samples([sample(2), sample(3)])
    with open(guest.inbox_path, "ab") as f:
        f.write(b'{"seq": 9, "op": "add_samples", "args": [[{"seed"')  # a line being written: not complete
    assert holder.fold_inbox() == [2, 3]
    holder.close()  # the holder goes away while the guest still writes
    with open(guest.inbox_path, "ab") as f:
        f.write(b': 5}]], "kwargs": {}}\n')
    reopened = Store(folder).open("held")  # whoever takes the lock next folds what is left
    assert len(reopened) == 4
    reopened.close()
    guest._inbox.close()
    with Store(folder).open("held") as last:
        assert len(last) == 4 and pending_files(folder, "held") == []


def test_open_adding_is_the_session_itself_when_nobody_holds_it(tmp_path):
    folder = tmp_path / "sessions"
    Store(folder).create("free").close()
    s = open_adding(Store(folder), "free")
    assert not isinstance(s, GuestSession) and not s.read_only
    s.close()


def test_two_guests_and_a_holder_at_once(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    folder = tmp_path / "sessions"
    holder = Store(folder).create("busy")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", ADD, str(folder), "busy", root], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + 60
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        holder.fold_inbox()  # the holder folds while they write, as the studio's timer does
        holder.accept(1) if len(holder) else None
        time.sleep(0.05)
    for p in procs:
        assert p.wait(10) == 0, p.stderr.read()
    holder.fold_inbox()
    assert len(holder) == 10 and sorted(holder.get(i)["seed"] for i in holder.ids()) == [100, 100, 101, 101, 102,
                                                                                           102, 103, 103, 104, 104]
    holder.close()


def test_a_holder_that_never_polls_folds_the_inbox_when_it_closes(tmp_path):
    folder = tmp_path / "sessions"
    holder = Store(folder).create("cli")  # e.g. a long `studio run` holding the session
    guest = GuestSession(Store(folder).open("cli"))
    guest.add_samples([sample(1), sample(2)])
    holder.close()
    with Store(folder).open("cli", read_only=True) as view:
        assert len(view) == 2
    guest.close()
