"""A run killed or stopped, run again, continues: only what is missing is asked for, nothing is paid twice,
a run that ended uncleanly is marked interrupted, one unsaveable sample never takes the run down.
Real store, real engine, the fake OpenAI-compatible server; the kill test runs the real `studio run`."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time

import orjson
import pytest

from studio.engine.cache import FILENAME, RequestCache, legacy_key, request_key
from studio.runs.run import Run
from studio.store import Store
from studio.store.interrupted import run_state
from studio.core.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    return Workspace.from_env(tmp_path).ensure()


@pytest.fixture
def store(ws):
    return Store(ws.sessions_dir)


def run(ws, session, fake, **kw):
    job = Run(ws, kw.pop("template", "contrast-pairs"), session=session, model=fake.model,
              api_base=kw.pop("api_base", fake.base_url), **kw)
    return job, asyncio.run(job.execute())


def identities(session):
    return [(s["fill_key"], s["seed"], s["answer"]) for s in session.iter_samples()]


# ------------------------------------------------------------------------------------ re-running


def test_the_same_run_again_adds_nothing_and_asks_nothing(ws, store, fake_llm):
    with store.open("s", create=True) as session:
        _, first = run(ws, session, fake_llm, n=6)
        _, again = run(ws, session, fake_llm, n=6)
        assert (first.done, again.held, again.done, again.requests, again.cached) == (6, 6, 0, 0, 0)
        assert len(session) == 6 and fake_llm.count == 6
        runs = session.runs()
        assert [r["held"] for r in runs] == [0, 6] and runs[-1]["status"] == "done"


def test_n_means_the_session_holds_n_samples_of_that_run(ws, store, fake_llm):
    with store.open("s", create=True) as session:
        run(ws, session, fake_llm, n=4)
        _, more = run(ws, session, fake_llm, n=9)
        assert (more.held, more.done, fake_llm.count, len(session)) == (4, 5, 9, 9)
        assert len(set(identities(session))) == 9
        _, fewer = run(ws, session, fake_llm, n=3)   # fewer than it holds: nothing to do
        assert (fewer.held, fewer.done, len(session)) == (3, 0, 9)


def test_more_answers_only_when_asked_for_each_with_its_own_seed(ws, store, fake_llm):
    with store.open("s", create=True) as session:
        run(ws, session, fake_llm, n=3)
        _, more = run(ws, session, fake_llm, n=3, answers=3)
        assert (more.held, more.done, fake_llm.count, len(session)) == (3, 6, 9, 9)
        samples = list(session.iter_samples())
        by_fill = {}
        for s in samples:
            by_fill.setdefault(s["fill_key"], []).append(s)
        assert len(by_fill) == 3
        for group in by_fill.values():
            assert sorted(s["answer"] for s in group) == [0, 1, 2]
            assert len({s["seed"] for s in group}) == 3       # each answer its own seed
            assert len({s["prompt_hash"] for s in group}) == 1
        seeds = [r.body.get("seed") for r in fake_llm.requests]
        assert len(set(seeds)) == 9                           # the server saw the seeds differ
        _, again = run(ws, session, fake_llm, n=3, answers=3)
        assert (again.held, again.done, fake_llm.count) == (9, 0, 9)


def test_another_endpoint_is_another_run_another_seed_is_not(ws, store, fake_llm):
    """Already held = same prompt, answer, model and endpoint (issue 16 §3): a new --seed alone asks nothing."""
    from tests.support.fake_llm import FakeLLM

    with store.open("s", create=True) as session, FakeLLM() as other:
        run(ws, session, fake_llm, n=3)
        _, elsewhere = run(ws, session, fake_llm, n=3, api_base=other.base_url)
        assert elsewhere.held == 0 and elsewhere.done == 3 and other.count == 3   # another server: asked
        _, reseeded = run(ws, session, fake_llm, n=3, seed=99)
        assert reseeded.held == 3 and reseeded.done == 0
        assert len(session) == 6
        endpoints = {s["endpoint"] for s in session.iter_samples()}
        assert endpoints == {fake_llm.base_url, other.base_url}
        assert {r["endpoint"] for r in session.runs()} == endpoints


def test_failed_samples_are_asked_again_and_replaced_in_place(ws, store, fake_llm):
    with store.open("s", create=True) as session:
        fake_llm.set(script=["400", None, "400", None, None])
        _, first = run(ws, session, fake_llm, n=5, concurrency=1)
        assert (first.done, first.failed) == (3, 2)
        failed = session.ids(status="failed")
        session.toggle_tag(failed[0], "other")
        _, again = run(ws, session, fake_llm, n=5)
        assert (again.held, again.done, again.failed) == (3, 2, 0)
        assert len(session) == 5 and session.ids(status="failed") == []
        redone = session.get(failed[0])
        assert redone["output"] and redone["error"] is None and redone["tags"] == ["other"]
        assert redone["run_id"] == again.run_id


def test_follow_ups_a_stopped_run_never_ran_are_added_not_the_samples_again(ws, store, fake_llm):
    text = (ws.templates_dir / "contrast-pairs.prompt").read_text()
    (ws.templates_dir / "checked.prompt").write_text(text.replace("name: contrast-pairs",
                                                                  "name: checked\nfollowups: [double-check]"))
    fake_llm.set(reply=lambda m: "VERDICT: correct" if "proposed solution" in m[-1]["content"] else "an answer")
    with store.open("s", create=True) as session:
        _, first = run(ws, session, fake_llm, template="checked", n=4, followups=False)  # as if stopped first
        assert fake_llm.count == 4 and all(not s["followups"] for s in session.iter_samples())
        seen = []
        job = Run(ws, "checked", session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=4)
        again = asyncio.run(job.execute(on_sample=seen.append))
        assert (again.held, again.done, again.followed_up, len(session)) == (4, 0, 4, 4)
        assert fake_llm.count == 8                     # only the 4 follow-ups were asked
        assert all(s["followups"]["double-check"]["verdict"] == "correct" for s in session.iter_samples())
        assert sorted(s["id"] for s in seen) == session.ids()
        _, third = run(ws, session, fake_llm, template="checked", n=4)
        assert (third.held, third.followed_up, fake_llm.count) == (4, 0, 8)


def test_samples_from_before_the_endpoint_was_recorded_count_for_it(ws, store, fake_llm):
    with store.open("s", create=True) as session:
        run(ws, session, fake_llm, n=4)
        with session._mu:                              # as a studio before this change saved them
            for sid in session.ids():
                doc = orjson.loads(session._raw(sid))
                doc.pop("endpoint", None), doc.pop("answer", None)
                session._commit([("samples", sid, doc)])
        assert all("endpoint" not in s for s in session.iter_samples())
        _, again = run(ws, session, fake_llm, n=4)
        assert again.held == 4 and len(session) == 4 and fake_llm.count == 4


# ------------------------------------------------------------------------------------ the cache


async def test_the_cache_keys_the_endpoint_two_servers_one_model_name(ws, fake_llm):
    from studio.engine import Engine, Request
    from tests.support.fake_llm import FakeLLM

    with FakeLLM() as other:
        other.set(reply=lambda m: "the other server")

        def reqs(base):
            return [Request([{"role": "user", "content": f"q{i}"}], fake_llm.model, {}, seed=i, api_base=base)
                    for i in range(3)]
        a = [r async for r in Engine(ws.cache_dir).run(reqs(fake_llm.base_url))]
        b = [r async for r in Engine(ws.cache_dir).run(reqs(other.base_url))]
        assert fake_llm.count == 3 and other.count == 3 and not any(r.cached for r in b)
        assert {r.output for r in b} == {"the other server"}
        again = [r async for r in Engine(ws.cache_dir).run(reqs(other.base_url + "/"))]   # same endpoint
        assert all(r.cached and r.output == "the other server" for r in again) and other.count == 3
        assert len(a) == 3


async def test_a_plain_header_is_keyed_a_secret_one_is_not(ws, fake_llm):
    from studio.engine import Engine, Request

    def req(headers):
        return Request([{"role": "user", "content": "q"}], fake_llm.model, {}, seed=1, api_base=fake_llm.base_url,
                       secrets={"extra_headers": headers})
    await Engine(ws.cache_dir).complete(req({"X-Route": "a", "Authorization": "Bearer one"}))
    await Engine(ws.cache_dir).complete(req({"X-Route": "b", "Authorization": "Bearer one"}))
    assert fake_llm.count == 2                          # another routing header: asked again
    r = await Engine(ws.cache_dir).complete(req({"X-Route": "a", "Authorization": "Bearer two"}))
    assert r.cached and fake_llm.count == 2             # a rotated key is the same question
    assert fake_llm.requests[1].headers.get("x-route") == "b"


async def test_old_cache_entries_are_migrated_and_nobody_pays_again(ws, fake_llm):
    from studio.engine import Engine, Request

    ws.cache_dir.mkdir(parents=True, exist_ok=True)
    reqs = [Request([{"role": "user", "content": f"q{i}"}], fake_llm.model, {"temperature": 0.5}, seed=i,
                    api_base=fake_llm.base_url) for i in range(4)]
    db = sqlite3.connect(ws.cache_dir / FILENAME)   # a format-1 cache, as the studio wrote it before
    db.execute("CREATE TABLE cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL)")
    for r in reqs:
        db.execute("INSERT INTO cache VALUES (?, ?, ?)",
                   (legacy_key(r.model, r.messages, r.params, r.seed, r.schema),
                    b'{"output": "paid for last week", "tokens_in": 3, "tokens_out": 4, "cost": null}', 0.0))
    db.commit()
    db.close()
    got = [r async for r in Engine(ws.cache_dir).run(reqs)]
    assert fake_llm.count == 0 and all(r.cached and r.output == "paid for last week" for r in got)
    cache = RequestCache(ws.cache_dir)
    assert cache.legacy == 0 and len(cache) == 4       # taken over under the new keys
    assert cache.get(request_key(reqs[0].model, reqs[0].messages, reqs[0].params, 0, None,
                                 fake_llm.base_url))["output"] == "paid for last week"
    cache.close()
    from tests.support.fake_llm import FakeLLM

    with FakeLLM() as other:                           # the adopted answers belong to the first endpoint
        for r in reqs:
            r.api_base = other.base_url
        got = [r async for r in Engine(ws.cache_dir).run(reqs)]
        assert other.count == 4 and not any(r.cached for r in got)


def test_an_answer_is_in_the_cache_when_put_returns_even_if_the_process_is_killed(tmp_path):
    code = (f"from studio.engine.cache import RequestCache; c = RequestCache({str(tmp_path)!r}); "
            "c.put('k', {'output': 'paid'}); import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    p = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert p.returncode == -signal.SIGKILL
    assert RequestCache(tmp_path).get("k") == {"output": "paid"}


async def test_every_answer_is_committed_before_the_engine_hands_it_on(ws, fake_llm):
    from studio.engine import Engine, Request

    fake_llm.set(latency=0.01)
    reqs = [Request([{"role": "user", "content": f"q{i}"}], fake_llm.model, {}, seed=i, api_base=fake_llm.base_url)
            for i in range(40)]
    watcher = RequestCache(ws.cache_dir)               # another connection: sees only what is committed
    seen = 0
    async for r in Engine(ws.cache_dir, concurrency=8).run(reqs):
        assert watcher.get(r.key) is not None, "handed on before it was durable"
        seen += 1
    assert seen == 40
    r = await Engine(ws.cache_dir).complete(Request([{"role": "user", "content": "one"}], fake_llm.model, {},
                                                    seed=1, api_base=fake_llm.base_url))
    await asyncio.sleep(0)                              # complete(): committed within the caller's loop turn
    assert watcher.get(r.key) is not None


async def test_stored_answers_are_committed_together_and_only_then_handed_on(tmp_path):
    cache, watcher = RequestCache(tmp_path), RequestCache(tmp_path)
    results = await asyncio.gather(*(cache.store(f"k{i}", {"output": i}) for i in range(50)))
    assert results == [None] * 50
    assert [watcher.get(f"k{i}") for i in range(50)] == [{"output": i} for i in range(50)]
    with pytest.raises(Exception) as err:
        await cache.store("bad", {"output": "x\ud800"})
    assert "cannot be stored" in str(err.value) and cache.errors == 1
    cache.close()


@pytest.mark.parametrize("url, recorded", [
    ("http://GPU-1:8000/v1/", "http://gpu-1:8000/v1"),
    ("http://user:sk-secret@gpu:8000/v1", "http://gpu:8000/v1"),
    ("https://x.openai.azure.com/openai?api-version=2024&api-key=sk-secret", "https://x.openai.azure.com/openai?api-version=2024"),
    ("https://h/v1?token=abc&sig=1", "https://h/v1"),
    (None, None),
])
def test_the_recorded_endpoint_never_carries_a_key(url, recorded):
    from studio.engine.cache import clean_endpoint

    assert clean_endpoint(url) == recorded


def test_a_cache_that_cannot_be_written_loses_no_sample(ws, store, fake_llm, monkeypatch):
    RequestCache(ws.cache_dir).close()
    monkeypatch.setattr(RequestCache, "busy_timeout", 0.05)
    path = ws.cache_dir / FILENAME
    with store.open("s", create=True) as session:
        blocker = sqlite3.connect(path, timeout=0)
        blocker.execute("BEGIN EXCLUSIVE")              # another process holds the cache: every put fails
        try:
            job = Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=4)
            summary = asyncio.run(job.execute())
        finally:
            blocker.rollback()
            blocker.close()
        assert summary.done == 4 and len(session) == 4 and job.engine.stats.cache_errors == 4
        _, again = run(ws, session, fake_llm, n=4)       # the session is the record: nothing paid again
        assert again.held == 4 and fake_llm.count == 4


# ------------------------------------------------------------------------------------ one sample never stops a run


def test_a_sample_the_store_refuses_fails_alone_with_its_reason(ws, store, fake_llm):
    fake_llm.set(reply=lambda m: "broken \ud83d text" if "2 sentences" in m[-1]["content"] else "fine")
    with store.open("s", create=True) as session:
        _, summary = run(ws, session, fake_llm, n=9)
        assert len(session) == 9 and summary.done + summary.failed == 9
        samples = list(session.iter_samples())
        for s in samples:
            if "2 sentences" in s["messages"][-1]["content"]:
                # repaired by the reply normaliser, or failed with the reason: never a crashed run
                if s["status"] == "failed":
                    assert "cannot be stored" in s["error"] or "could not be saved" in s["error"]
                else:
                    s["output"].encode("utf-8")
            else:
                assert s["status"] == "pending" and s["output"] == "fine"


def test_the_run_saves_a_refused_sample_as_failed_and_the_rest_as_they_are(ws, store, fake_llm):
    with store.open("s", create=True) as session:
        job = Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=3)
        job.summary.done = 3
        good = {"template": "contrast-pairs", "output": "ok", "status": "pending", "fill_key": "a"}
        bad = {**good, "output": "x\ud800", "parsed": {"k": object()}, "fill_key": "b"}
        batch = [dict(good), bad, {**good, "fill_key": "c"}]
        job._save(batch)
        assert [s["id"] for s in batch] == session.ids()
        stored = [session.get(i) for i in session.ids()]
        assert [s["status"] for s in stored] == ["pending", "failed", "pending"]
        assert stored[1]["output"] is None and "could not be saved" in stored[1]["error"]
        assert (job.summary.done, job.summary.failed) == (2, 1)


# ------------------------------------------------------------------------------------ interrupted runs


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted_on_open(ws, store, fake_llm):
    with store.open("s", create=True) as session:
        run(ws, session, fake_llm, n=3)
        dead = session.add_run({"template": "contrast-pairs", "status": "running", "pid": _dead_pid(),
                                "started": time.time() - 5})
        session.add_samples([{"template": "contrast-pairs", "run_id": dead, "output": "x"},
                             {"template": "contrast-pairs", "run_id": dead, "status": "failed", "error": "e"}])
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        live = session.add_run({"template": "contrast-pairs", "status": "running", "pid": sleeper.pid})
    try:
        with store.open("s", read_only=True) as view:        # a read-only view says so without writing
            states = {r["run_id"]: run_state(r) for r in view.runs()}
            assert states[dead] == "interrupted" and states[live] == "running"
            assert {r["run_id"]: r["status"] for r in view.runs()}[dead] == "running"
        with store.open("s") as session:
            assert session.interrupted_runs == [dead]
            runs = {r["run_id"]: r for r in session.runs()}
            assert runs[dead]["status"] == "interrupted" and runs[live]["status"] == "running"
            assert (runs[dead]["saved"], runs[dead]["failed"]) == (2, 1)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_studio_show_says_a_run_was_interrupted(ws, store, fake_llm, monkeypatch, capsys):
    from studio.cli.main import main

    with store.open("s", create=True) as session:
        rid = session.add_run({"template": "contrast-pairs", "status": "running", "pid": _dead_pid()})
    monkeypatch.setenv("STUDIO_HOME", str(ws.root))
    capsys.readouterr()
    assert main(["show", "s"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "interrupted" in out and rid in out and "run the same command again" in out


def _show(ws, monkeypatch, capsys, name: str) -> str:
    from studio.cli.main import main

    monkeypatch.setenv("STUDIO_HOME", str(ws.root))
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    assert main(["show", name]) == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("marked", [True, False], ids=["marked on disk", "seen from a read-only view"])
def test_studio_show_counts_what_an_interrupted_run_saved(ws, store, fake_llm, monkeypatch, capsys, marked):
    """Not `-`: the run's record says how many it saved once a writer marked it; before that (a read-only
    view, e.g. while a studio holds the session) show counts them from the session."""
    with store.open("s", create=True) as session:
        rid = session.add_run({"template": "contrast-pairs", "status": "running", "pid": _dead_pid(),
                               "model": "m", "started": time.time() - 5})
        session.add_samples([{"template": "contrast-pairs", "run_id": rid, "output": f"x{i}"} for i in range(3)]
                            + [{"template": "contrast-pairs", "run_id": rid, "status": "failed", "error": "e"},
                               {"template": "contrast-pairs", "run_id": "another", "output": "y"}])
    if marked:
        store.open("s").close()                        # a writable open marks it (interrupted.py)
    with store.open("s", read_only=True) as view:
        assert ({r["run_id"]: r["status"] for r in view.runs()}[rid] == "interrupted") == marked
    out = _show(ws, monkeypatch, capsys, "s")
    assert f"{rid} contrast-pairs m interrupted 4 " in out, out
    assert "4 sample(s) kept" in out and "run the same command again" in out


def test_a_killed_guest_run_shows_interrupted_and_the_same_command_resumes_it(ws, store, fake_llm, monkeypatch,
                                                                               capsys):
    """A `studio run` adding to a session another process holds (a guest, studio/store/inbox.py), SIGKILLed
    mid-run: the holder marks its run interrupted with what it saved (on disk, while it still holds the
    session), `studio show` says so with the hint, and the same command run again asks only for the rest."""
    fake_llm.set(latency=0.3)
    env = dict(os.environ, STUDIO_HOME=str(ws.root))
    cmd = [sys.executable, "-m", "studio", "run", "contrast-pairs", "-n", "12", "--model", fake_llm.model,
           "--api-base", fake_llm.base_url, "--session", "h", "--concurrency", "2", "--json"]
    holder = store.open("h", create=True)             # this process holds the session, as a studio would
    guest = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and guest.poll() is None:
            holder.fold_inbox()
            if len(holder) >= 3:
                break
            time.sleep(0.05)
        assert guest.poll() is None and len(holder) >= 3, guest.communicate()
        [rid] = [r["run_id"] for r in holder.runs()]
        assert holder.runs()[0]["status"] == "running"
        guest.send_signal(signal.SIGKILL)
        guest.communicate(timeout=30)
        assert guest.returncode == -signal.SIGKILL
        holder.fold_inbox()                             # the studio does this every 0.5 s
        [r] = holder.runs()
        made = len(holder)
        assert r["status"] == "interrupted" and r["saved"] == made and rid in holder.interrupted_runs
        assert 3 <= made < 12
        with store.open("h", read_only=True) as view:     # on disk, while the holder still holds it
            assert [x["status"] for x in view.runs()] == ["interrupted"]
        out = _show(ws, monkeypatch, capsys, "h")
        assert f"{rid} contrast-pairs {fake_llm.model} interrupted {made} " in out, out
        assert f"{made} sample(s) kept" in out and "run the same command again" in out
        asked = fake_llm.count
        holder.fold_inbox()
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)   # the hint, followed
        assert again.returncode == 0, again.stderr
        holder.fold_inbox()
    finally:
        if guest.poll() is None:
            guest.kill()
            guest.wait()
        holder.close()
    import json

    summary = json.loads(again.stdout)
    assert summary["held"] == made and summary["done"] == 12 - made
    assert fake_llm.count - asked <= 12 - made + 2     # the rest, plus at most what was in flight at the kill
    with store.open("h", read_only=True) as view:
        assert len(view) == 12
        assert [x["status"] for x in view.runs()] == ["interrupted", "done"]


def test_a_killed_guest_shows_interrupted_before_a_holder_that_never_polls_folds_it(ws, store, fake_llm,
                                                                                   monkeypatch, capsys):
    """The holder is a process that does not look at the inbox (another `studio run`, a script): `studio show`
    reads the guest's run from its inbox file, interrupted, with the samples it left there."""
    import json

    from studio.store.inbox import pending_files

    fake_llm.set(latency=0.3)
    env = dict(os.environ, STUDIO_HOME=str(ws.root))
    holder = store.open("h", create=True)
    guest = subprocess.Popen([sys.executable, "-m", "studio", "run", "contrast-pairs", "-n", "12", "--model",
                              fake_llm.model, "--api-base", fake_llm.base_url, "--session", "h", "--concurrency",
                              "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def inbox_samples() -> int:
        lines = [json.loads(x) for p in pending_files(ws.sessions_dir, "h") for x in p.read_text().splitlines()]
        return sum(len(x["args"][0]) for x in lines if x["op"] == "add_samples")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and guest.poll() is None and inbox_samples() < 2:
            time.sleep(0.05)
        guest.send_signal(signal.SIGKILL)
        guest.wait()
        waiting = inbox_samples()
        assert 2 <= waiting < 12 and len(holder) == 0            # nothing folded: all of it in the inbox
        out = _show(ws, monkeypatch, capsys, "h")
        assert f"contrast-pairs {fake_llm.model} interrupted {waiting} " in out, out
        assert f"{waiting} sample(s) kept" in out and "run the same command again" in out
        holder.fold_inbox()
        assert [(r["status"], r["saved"]) for r in holder.runs()] == [("interrupted", waiting)]
    finally:
        if guest.poll() is None:
            guest.kill()
            guest.wait()
        holder.close()
    assert _show(ws, monkeypatch, capsys, "h").count("interrupted") == 2     # the table and the hint, once


def test_a_run_records_its_process_so_a_live_one_is_never_marked(ws, store, fake_llm):
    with store.open("s", create=True) as session:
        job, _ = run(ws, session, fake_llm, n=1)
        [r] = session.runs()
        assert r["pid"] == os.getpid() and r["status"] == "done"


# ------------------------------------------------------------------------------------ SIGKILL, run again


def test_sigkill_at_random_moments_then_the_same_command_again(capsys):
    """The small version of bench/resume.py: 300 requests, 5 kills."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
    import resume as bench

    f = bench.run_kills(300, 5, concurrency=8, latency=0.1, seed=13, verbose=False)
    assert bench.bad(f) == [], f
    assert f["kills_in_run"] >= 1 and f["runs_interrupted"] == f["kills_in_run"], f
    assert f["resent_max_per_kill"] <= 8 and f["samples"] == 300 and f["duplicate_samples"] == 0


def test_a_guest_re_run_holds_what_a_killed_guest_left_in_its_inbox(ws, store, fake_llm):
    from studio.store.inbox import open_adding

    holder = store.open("s", create=True)              # another studio holds the session
    try:
        first = open_adding(store, "s")
        assert getattr(first, "guest", False)
        _, a = run(ws, first, fake_llm, n=4)
        os.close(first._inbox._fd)                     # killed: no "end" line, nothing folded yet
        first._inbox._fd = None
        again = open_adding(store, "s")
        _, b = run(ws, again, fake_llm, n=4)
        again.close()
        assert (a.done, b.held, b.done, fake_llm.count) == (4, 4, 0, 4)
        holder.fold_inbox()
        assert len(holder) == 4 and len(set(identities(holder))) == 4
    finally:
        holder.close()


def test_studio_cache_says_how_many_entries_wait_for_an_endpoint(ws, monkeypatch, capsys):
    from studio.cli.main import main

    ws.cache_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(ws.cache_dir / FILENAME)   # format 1
    db.execute("CREATE TABLE cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL)")
    db.executemany("INSERT INTO cache VALUES (?, '{}', 0)", [(f"k{i}",) for i in range(3)])
    db.commit()
    db.close()
    monkeypatch.setenv("STUDIO_HOME", str(ws.root))
    capsys.readouterr()
    assert main(["cache"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "3 cached response(s)" in out and "3 of them cached before endpoints were recorded" in out


CMD = {"template": "contrast-pairs", "template_version": "abc", "model": "m", "endpoint": None, "mode": "generate",
       "strategy": "product", "n": 24, "answers": 1, "seed": 1}


@pytest.mark.parametrize("later,hint", [
    ({}, True),                                            # no later run: continue it
    ({**CMD, "status": "done"}, False),                    # the same command ran to its end: nothing to continue
    ({**CMD, "status": "stopped"}, True),                  # stopped again: still something to continue
    ({**CMD, "model": "other", "status": "done"}, True),   # another model: another command
    ({**CMD, "n": 10, "status": "done"}, True),            # fewer prompts: the rest is still missing
    ({**CMD, "answers": 2, "status": "done"}, True),
], ids=["alone", "same-done", "same-stopped", "other-model", "other-n", "other-answers"])
def test_studio_show_drops_the_continue_hint_once_the_same_command_finished(ws, store, monkeypatch, capsys,
                                                                            later, hint):
    with store.open("s", create=True) as session:
        rid = session.add_run({**CMD, "status": "running", "pid": _dead_pid()})
        if later:
            session.add_run(later)
    out = _show(ws, monkeypatch, capsys, "s")
    assert f"run {rid} (contrast-pairs) was interrupted" in out
    assert ("run the same command again" in out) == hint
    assert ("the same command again, finished it" in out) == (not hint)
