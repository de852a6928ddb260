"""Nothing that returned is ever lost: writers killed with SIGKILL at random moments."""

import os
import random
import signal
import time

import orjson
import pytest

import studio.store.session as session_module
from studio.store import Store, snapshot
from tests.store.conftest import die_after, sample

KILLS = int(os.environ.get("STUDIO_CRASH_KILLS", "50"))


@pytest.fixture(autouse=True)
def small_segments(monkeypatch):
    """Sessions made here split their samples every 25 ids, so a fold writes several segment files and a
    kill lands between their replaces too (the size is kept in the session's meta: forked writers use it)."""
    monkeypatch.setattr(snapshot, "SEGMENT_SAMPLES", 25)


def test_every_returned_action_survives_sigkill(store):
    store.create("s1").close()

    def work():
        s = store.open("s1")
        s.add_samples([sample(1), sample(2)])
        s.accept(1)
        s.toggle_tag(2, "unsafe")
        s.set_note(2, "check")
    die_after(work)
    s = store.open("s1")
    assert s.get(1)["status"] == "accepted" and s.get(2)["tags"] == ["unsafe"] and s.get(2)["note"] == "check"
    s.close()


def _writer(folder, name, seed: int, ack_fd: int) -> None:
    """Generate and review at random; announce each action before it starts and after it returns."""
    session_module.JOURNAL_LIMIT = 40_000          # fold often, so kills also land mid-fold
    rng = random.Random(seed)
    out = os.fdopen(ack_fd, "wb", buffering=0)

    def say(kind, op):
        out.write(orjson.dumps({"k": kind, **op}) + b"\n")

    s = Store(folder).open(name)
    say("open", {})
    while True:
        n = len(s)
        r = rng.random()
        if r < 0.25 or n == 0:
            k = rng.randint(1, 40)
            op = {"op": "add", "first": n + 1, "count": k}
            say("intent", op)
            s.add_samples([sample(n + 1 + j) for j in range(k)])
        else:
            sid = rng.randint(1, n)
            if r < 0.45:
                op = {"op": "status", "ids": [sid], "status": rng.choice(["accepted", "rejected"])}
                say("intent", op)
                s.set_status(sid, op["status"])
            elif r < 0.6:
                op = {"op": "tag", "id": sid, "tag": rng.choice(["long", "rude", "wrong"])}
                say("intent", op)
                s.toggle_tag(sid, op["tag"])
            elif r < 0.7:
                op = {"op": "note", "id": sid, "text": f"note {rng.random()}"}
                say("intent", op)
                s.set_note(sid, op["text"])
            elif r < 0.78:
                ids = sorted(rng.sample(range(1, n + 1), min(n, rng.randint(1, 30))))
                op = {"op": "status", "ids": ids, "status": rng.choice(["accepted", "rejected", "pending"])}
                say("intent", op)
                s.bulk_set_status(ids, op["status"])
            elif r < 0.9:
                op = {"op": "undo"}
                say("intent", op)
                s.undo()
            else:
                op = {"op": "fold"}
                say("intent", op)
                s.compact()
        say("done", op)


class Model:
    """What the session must hold: the state after every acknowledged action."""

    def __init__(self):
        self.state: dict[int, tuple] = {}
        self.undo: list[list[tuple[int, tuple]]] = []

    def copy(self) -> "Model":
        m = Model()
        m.state = dict(self.state)
        m.undo = [list(g) for g in self.undo]
        return m

    def apply(self, op: dict) -> None:
        kind = op["op"]
        if kind == "add":
            for i in range(op["first"], op["first"] + op["count"]):
                self.state[i] = ("pending", (), "")
        elif kind == "undo":
            if self.undo:
                for sid, before in self.undo.pop():
                    self.state[sid] = before
        elif kind in ("status", "tag", "note"):
            group = []
            for sid in op.get("ids") or [op["id"]]:
                st, tags, note = before = self.state[sid]
                if kind == "status":
                    after = (op["status"], tags, note)
                elif kind == "tag":
                    after = (st, tuple(t for t in tags if t != op["tag"]) if op["tag"] in tags
                             else tags + (op["tag"],), note)
                else:
                    after = (st, tags, op["text"])
                if after != before:
                    self.state[sid] = after
                    group.append((sid, before))
            if group:
                self.undo.append(group)


def _actual(folder, name) -> dict[int, tuple]:
    s = Store(folder).open(name)
    try:
        assert not s.read_only
        return {d["id"]: (d["status"], tuple(d["tags"]), d["note"]) for d in s.iter_samples()}
    finally:
        s.close()


def test_sigkill_at_random_moments_during_generation_and_review_loses_nothing(store):
    """The kill count is STUDIO_CRASH_KILLS (default 50); the session is reused across kills."""
    store.create("crash").close()
    rng = random.Random(4)
    model = Model()
    kills_mid_action = mid_fold = 0
    for cycle in range(KILLS):
        model.undo = []                               # a new process starts with an empty undo stack
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                _writer(store.dir, "crash", 1000 + cycle, w)
            finally:
                os._exit(1)
        os.close(w)
        time.sleep(rng.uniform(0.02, 0.25))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(r, "rb") as fh:
            lines = [orjson.loads(x) for x in fh.read().split(b"\n") if x.endswith(b"}")]
        in_flight = None
        for msg in lines:
            if msg["k"] == "intent":
                in_flight = msg
            elif msg["k"] == "done":
                model.apply(msg)
                in_flight = None
        mid_fold += (store.dir / "crash.journal.1").exists()
        actual = _actual(store.dir, "crash")
        if in_flight is None or in_flight["op"] == "fold":
            assert actual == model.state, f"cycle {cycle}"
        else:
            kills_mid_action += 1
            landed = model.copy()
            landed.apply(in_flight)
            if actual == landed.state:              # the interrupted action had reached the disk
                model = landed
            else:
                assert actual == model.state, f"cycle {cycle}: {in_flight}"
    assert len(model.state) > 50 and kills_mid_action > KILLS // 4 and mid_fold >= 1
    print(f"{KILLS} kills: {kills_mid_action} during an action, {mid_fold} during a background fold")


def test_background_fold_keeps_reviewing_and_loses_nothing(store, monkeypatch):
    monkeypatch.setattr(session_module, "JOURNAL_LIMIT", 20_000)
    s = store.create("s1")
    folds = 0
    for batch in range(10):
        s.add_samples([sample(batch * 30 + i) for i in range(1, 31)])
        folds += s._fold_thread is not None
        s.accept(batch * 30 + 1)                      # while the fold may be writing
        s.toggle_tag(batch * 30 + 2, "x")
    s.wait_for_fold()
    assert folds >= 3 and s.fold_error is None and not s.files.journal_old.exists()
    assert s.ids(status="accepted") == [b * 30 + 1 for b in range(10)] and s.count(tag="x") == 10
    assert s.get(150)["output"].startswith("Answer number 150")
    s.close()
    s = store.open("s1")
    assert len(s) == 300 and s.count(status="accepted") == 10
    s.close()


def test_killed_in_the_middle_of_a_fold(store, monkeypatch):
    monkeypatch.setattr(session_module, "JOURNAL_LIMIT", 1_000)
    store.create("s1").close()

    def fold_then_die():
        s = store.open("s1")
        s.add_samples([sample(i) for i in range(1, 400)])     # starts a fold in a thread
        s.reject(5)
        assert s.files.journal_old.exists()
    die_after(fold_then_die)
    s = store.open("s1")
    assert len(s) == 399 and s.get(5)["status"] == "rejected"
    assert not s.files.journal_old.exists() and not list(store.dir.glob(".*.tmp"))
    assert not list(s.files.segments.glob(".*.tmp")) and len(list(s.files.segments.glob("*.json"))) == 16
    s.close()


@pytest.mark.parametrize("files_written", [0, 1, 2, 3])
def test_killed_between_the_replaces_of_a_fold(store, files_written, monkeypatch):
    """A fold replaces each changed segment, then NAME.json; killed after any of them, the journal (kept until
    all are safe) brings back every change, and the next open reads the files as they are."""
    with store.create("s1") as s:
        s.add_samples([sample(i) for i in range(1, 61)])            # segments 0, 1, 2
    untouched = s.files.segment(1).stat().st_ino
    real = snapshot.write

    def write_then_die(path, tables, samples):
        out = real(path, tables, samples)
        write_then_die.n += 1
        if write_then_die.n > files_written:
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    write_then_die.n = 0

    def change_then_fold():
        s = store.open("s1")
        s.reject(5)                                              # segment 0
        s.add_samples([sample(i) for i in range(61, 81)])        # segments 2 and 3
        s.set_meta(model="changed")
        monkeypatch.setattr(snapshot, "write", write_then_die)
        s.compact()
    die_after(change_then_fold)
    s = store.open("s1")
    assert len(s) == 80 and s.get(5)["status"] == "rejected" and s.meta["model"] == "changed"
    assert s.get(80)["output"].startswith("Answer number 80") and s.get(42)["status"] == "pending"
    assert s.files.segment(1).stat().st_ino == untouched           # a segment nothing changed is never rewritten
    s.close()
    with store.open("s1", read_only=True) as again:
        assert len(again) == 80 and again.get(5)["status"] == "rejected"
        assert sorted(p.name for p in again.files.segments.iterdir()) == [f"0000{k}.json" for k in range(4)]


def test_a_generation_thread_and_review_share_a_session(store, monkeypatch):
    """Folds in the background, explicit folds and review from another thread never mix up the file."""
    import threading

    monkeypatch.setattr(session_module, "JOURNAL_LIMIT", 30_000)
    waited = session_module.Session.wait_for_fold

    def wait_then_linger(self):               # widen the gap in which the other thread may start a fold
        waited(self)
        time.sleep(0.005)
    monkeypatch.setattr(session_module.Session, "wait_for_fold", wait_then_linger)
    s = store.create("s1")
    s.add_samples([sample(i) for i in range(1, 21)])
    errors = []

    def generate():
        try:
            for b in range(30):
                s.add_samples([sample(1000 + b * 10 + i) for i in range(10)])
        except Exception as exc:             # surfaced by the assertion below
            errors.append(exc)
    t = threading.Thread(target=generate)
    t.start()
    for k in range(60):
        sid = 1 + k % 20
        s.toggle_tag(sid, f"t{k % 3}")
        if k % 5 == 0:
            s.compact()
        assert s.get(sid)["output"].startswith(f"Answer number {sid}:")
    t.join()
    s.wait_for_fold()
    assert not errors and s.fold_error is None and len(s) == 320
    expected = {i: s.get(i) for i in s.ids()}
    s.close()
    again = store.open("s1")
    assert {i: again.get(i) for i in again.ids()} == expected
    again.close()
