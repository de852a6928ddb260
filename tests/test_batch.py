"""`studio run --batch`: the provider's batch API against a fake files+batches server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fake_batch import FakeBatch

ROOT = Path(__file__).resolve().parent.parent
MODEL = "openai/gpt-4o-mini"   # litellm lists batch prices for it


@pytest.fixture
def fake_batch():
    server = FakeBatch(fail_every=4).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("STUDIO_BATCH_POLL", "0.05")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("STUDIO_MODEL", raising=False)
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def studio(*args) -> int:
    from studio.cli.main import main

    return main(list(args))


def samples(tmp_path, name="b"):
    from studio.store import Store

    with Store(tmp_path / "sessions").open(name, read_only=True) as s:
        return list(s.iter_samples()), s.runs()


def batch_price(tin, tout):
    import litellm

    e = litellm.model_cost["gpt-4o-mini"]
    return tin * e["input_cost_per_token_batches"] + tout * e["output_cost_per_token_batches"]


def test_killed_while_the_batch_runs_then_resumed_saves_every_result_once(tmp_path, env, fake_batch):
    fake_batch.hold = True
    cmd = [sys.executable, "-m", "studio", "run", "contrast-pairs", "-n", "12", "--model", MODEL, "--api-base",
           fake_batch.base_url, "--session", "b", "--batch"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while fake_batch.retrieves < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)   # polling: the batch id was saved before the first look
    assert fake_batch.retrieves >= 3, proc.stderr.read().decode() if proc.poll() is not None else "no poll"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    items, runs = samples(tmp_path)
    assert items == [] and runs[-1]["status"] == "batch" and runs[-1]["batch"]["id"] in fake_batch.batches
    fake_batch.hold = False
    assert studio("run", "contrast-pairs", "-n", "12", "--model", MODEL, "--api-base", fake_batch.base_url,
                  "--session", "b", "--resume") == 1          # 1: some requests erred (the error file)
    items, runs = samples(tmp_path)
    assert len(fake_batch.batches) == 1 and fake_batch.batch_answered == 12     # nothing asked twice
    assert len(items) == 12
    assert len({(s["fill_key"], s["seed"], s["answer"]) for s in items}) == 12  # 0 duplicates
    failed = [s for s in items if s["status"] == "failed"]
    assert len(failed) == 3 and all("refused by the fake" in s["error"] for s in failed)
    for s in items:
        if s["status"] != "failed":
            assert s["cost"] == pytest.approx(batch_price(s["tokens_in"], s["tokens_out"]))
            assert s["output"].startswith("Answer to:") and s["run_id"] == runs[-1]["run_id"]
    assert runs[-1]["status"] == "done" and runs[-1]["batch"]["status"] == "collected"
    # the same command again: the held ones stay, the 3 failed are asked again (one new batch) and replaced
    assert studio("run", "contrast-pairs", "-n", "12", "--model", MODEL, "--api-base", fake_batch.base_url,
                  "--session", "b", "--batch") == 1
    items, _ = samples(tmp_path)
    assert len(items) == 12 and len(fake_batch.batches) == 2 and fake_batch.batch_answered == 15


@pytest.mark.parametrize("end", ["expired", "failed"])
def test_an_ended_batch_keeps_its_partial_results_the_rest_fail_with_the_reason(tmp_path, env, fake_batch, end):
    fake_batch.fail_every, fake_batch.finish_as, fake_batch.partial = 0, end, 4
    assert studio("run", "contrast-pairs", "-n", "10", "--model", MODEL, "--api-base", fake_batch.base_url,
                  "--session", "b", "--batch") == 1
    items, _ = samples(tmp_path)
    assert len(items) == 10
    assert sum(s["status"] != "failed" for s in items) == 4
    assert all(f"the batch ended {end}" in s["error"] for s in items if s["status"] == "failed")


def test_a_model_without_a_batch_price_has_an_unknown_cost(tmp_path, env, fake_batch, capsys):
    fake_batch.fail_every = 0
    assert studio("run", "contrast-pairs", "-n", "3", "--model", "openai/fake", "--api-base", fake_batch.base_url,
                  "--session", "b", "--batch", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["done"] == 3 and summary["cost"] == 0 and summary["cost_unknown"] == 3
    items, _ = samples(tmp_path)
    assert all(s["cost"] is None and s["tokens_in"] for s in items)


def test_a_live_run_is_refused_while_a_batch_is_pending_and_resume_needs_one(tmp_path, env, fake_batch, capsys):
    from studio.cli.main import main

    assert main(["run", "contrast-pairs", "-n", "2", "--model", MODEL, "--api-base", fake_batch.base_url,
                 "--session", "b", "--resume"]) == 2
    assert "no pending batch" in capsys.readouterr().err
    fake_batch.hold = True
    bid = None

    async def submit_only():
        from studio.runs.run import Run
        from studio.runs.batch import BatchRun
        from studio.store import Store
        from studio.core.workspace import Workspace

        ws = Workspace.from_env().ensure()
        with Store(ws.sessions_dir).open("b", create=True) as session:
            run = Run(ws, "contrast-pairs", session=session, model=MODEL, n=2, api_base=fake_batch.base_url)
            br = BatchRun(run)
            await br.execute(wait=False)
            return br.batch["id"]
    import asyncio

    bid = asyncio.run(submit_only())
    assert main(["run", "contrast-pairs", "-n", "2", "--model", MODEL, "--api-base", fake_batch.base_url,
                 "--session", "b"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "pending batch" in err and bid in err and "--resume" in err


def _batch_run(ws_root, name, *, session="b", **kw):
    """A Run through BatchRun in this process (the API the TUI would use)."""
    import asyncio

    from studio.runs.run import Run
    from studio.runs.batch import BatchRun
    from studio.store import Store
    from studio.core.workspace import Workspace

    async def go():
        ws = Workspace.from_env(ws_root).ensure()
        with Store(ws.sessions_dir).open(session, create=True) as s:
            run = Run(ws, name, session=s, **kw)
            return await BatchRun(run).execute()
    return asyncio.run(go())


def test_structured_results_are_validated_like_a_live_run(tmp_path, env, fake_batch):
    fake_batch.fail_every = 0
    good = ('{"category": "verbosity", "polarity": "negative", "severity": "low", "concerned_part": "all", '
            '"desired_behaviour": "be brief"}')
    fake_batch.set(reply=lambda m: good if "wordy" in str(m) else '{"category": "nonsense"}')
    items = [{"prompt": "What is 2+2?", "response": "5", "comment": "this is wrong", "rating": 1},
             {"prompt": "Hi", "response": "Hello! " * 5, "comment": "way too wordy", "rating": None}]
    sm = _batch_run(tmp_path, "feedback-structuring", model=MODEL, api_base=fake_batch.base_url, inputs=items)
    assert (sm.done, sm.failed) == (1, 1)
    items, _ = samples(tmp_path)
    ok = next(s for s in items if s["status"] != "failed")
    bad = next(s for s in items if s["status"] == "failed")
    assert ok["parsed"]["severity"] == "low" and ok["inputs"]["comment"] == "way too wordy"
    assert "does not match the schema" in bad["error"] and bad["cost"] is not None   # billed all the same


def test_cached_answers_skip_the_batch_and_batch_answers_fill_the_cache(tmp_path, env, fake_batch):
    fake_batch.fail_every = 0
    sm = _batch_run(tmp_path, "contrast-pairs", model=MODEL, api_base=fake_batch.base_url, n=4)
    assert sm.done == 4 and len(fake_batch.batches) == 1 and fake_batch.count == 0
    again = _batch_run(tmp_path, "contrast-pairs", session="other", model=MODEL, api_base=fake_batch.base_url, n=4)
    assert again.done == 4 and again.cached == 4 and len(fake_batch.batches) == 1   # no second batch
    from studio.runs.run import Run  # a live run into a third session: answered from the cache, no request
    import asyncio

    from studio.store import Store
    from studio.core.workspace import Workspace

    async def live():
        ws = Workspace.from_env(tmp_path).ensure()
        with Store(ws.sessions_dir).open("live", create=True) as s:
            return await Run(ws, "contrast-pairs", session=s, model=MODEL, api_base=fake_batch.base_url, n=4).execute()
    assert asyncio.run(live()).cached == 4 and fake_batch.count == 0


def test_follow_ups_run_on_batch_results(tmp_path, env, fake_batch):
    fake_batch.fail_every = 0
    from studio.core.workspace import Workspace

    ws = Workspace.from_env(tmp_path).ensure()
    text = (ws.templates_dir / "contrast-pairs.prompt").read_text()
    (ws.templates_dir / "checked.prompt").write_text(text.replace("name: contrast-pairs",
                                                                  "name: checked\nfollowups: [double-check]"))
    sm = _batch_run(tmp_path, "checked", model=MODEL, api_base=fake_batch.base_url, n=3)
    assert sm.done == 3
    items, _ = samples(tmp_path)
    assert all(s["followups"]["double-check"]["output"] for s in items)
    assert fake_batch.count == 3    # the follow-ups went live, one each


def test_a_run_past_the_providers_limit_goes_as_several_batches_all_resumed(tmp_path, env, fake_batch, monkeypatch):
    import asyncio

    from studio.engine import batch as bapi
    from studio.runs.run import Run
    from studio.runs.batch import BatchRun
    from studio.store import Store
    from studio.core.workspace import Workspace

    monkeypatch.setattr(bapi, "MAX_REQUESTS", 3)
    fake_batch.fail_every, fake_batch.hold = 0, True

    async def go(wait):
        ws = Workspace.from_env(tmp_path).ensure()
        with Store(ws.sessions_dir).open("b", create=True) as s:
            return await BatchRun(Run(ws, "contrast-pairs", session=s, model=MODEL, api_base=fake_batch.base_url,
                                      n=8)).execute(wait=wait)
    assert asyncio.run(go(False)).stopped
    _, runs = samples(tmp_path)
    assert len(runs[-1]["batches"]) == 3 and len(fake_batch.batches) == 3 and runs[-1]["status"] == "batch"
    fake_batch.hold = False
    sm = asyncio.run(go(True))
    assert sm.done == 8 and len(fake_batch.batches) == 3 and fake_batch.batch_answered == 8
    items, runs = samples(tmp_path)
    assert len(items) == 8 and len(runs) == 1
    assert [b["status"] for b in runs[-1]["batches"]] == ["collected"] * 3


def test_ctrl_c_while_waiting_leaves_the_batch_pending_and_says_how_to_collect_it(tmp_path, env, fake_batch):
    fake_batch.hold = True
    cmd = [sys.executable, "-m", "studio", "run", "contrast-pairs", "-n", "3", "--model", MODEL, "--api-base",
           fake_batch.base_url, "--session", "b", "--batch"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while fake_batch.retrieves < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    err = " ".join(err.split())
    assert proc.returncode == 130, err
    assert "is pending and saved in session 'b'" in err and "--resume" in err and "Traceback" not in err
    _, runs = samples(tmp_path)
    assert runs[-1]["status"] == "batch" and runs[-1]["batches"][0]["id"] in fake_batch.batches
    shown = subprocess.run([sys.executable, "-m", "studio", "show", "b"], env=env, capture_output=True, text=True)
    shown = " ".join(shown.stdout.split())
    assert "waits for its batch at the provider" in shown and runs[-1]["batches"][0]["id"] in shown
    assert "studio run contrast-pairs --resume --session b" in shown


@pytest.mark.parametrize("model", ["ollama/llama3", "ollama_chat/llama3", "cohere/command-r"])
def test_a_provider_without_a_batch_api_is_a_clear_mistake(tmp_path, env, fake_batch, capsys, monkeypatch, model):
    monkeypatch.setenv("COHERE_API_KEY", "not-a-key")
    from studio.cli.main import main

    assert main(["run", "contrast-pairs", "-n", "2", "--model", model, "--session", "b", "--batch"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "has no batch API" in err and "Traceback" not in err
    assert fake_batch.batches == {} and fake_batch.count == 0
