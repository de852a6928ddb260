"""A run: template -> engine -> session, as `studio run` and the TUI do it (real store, fake server)."""

from __future__ import annotations

import asyncio

import pytest

from studio.core.errors import StudioError
from studio.core.template import load_template
from studio.runs.run import Run
from studio.store import Store
from studio.core.workspace import Workspace

RECORD_FIELDS = {"template", "template_version", "fill_key", "prompt_hash", "slots", "persona", "messages", "output",
                 "parsed", "mode", "model", "params", "seed", "run_id", "status", "error", "tags", "note",
                 "followups", "tokens_in", "tokens_out", "cost", "latency", "cached", "created", "reviewed"}


@pytest.fixture
def ws(tmp_path):
    return Workspace.from_env(tmp_path).ensure()


@pytest.fixture
def session(ws):
    s = Store(ws.sessions_dir).open("test", create=True)
    yield s
    s.close()


def with_followup(ws, name="contrast-pairs", new="checked"):
    text = (ws.templates_dir / f"{name}.prompt").read_text()
    text = text.replace(f"name: {name}", f"name: {new}\nfollowups: [double-check]")
    (ws.templates_dir / f"{new}.prompt").write_text(text)
    return new


async def test_samples_carry_the_whole_record(ws, session, fake_llm):
    run = Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=6)
    seen = []
    summary = await run.execute(on_sample=seen.append)
    assert summary.done == 6 and summary.failed == 0 and fake_llm.count == 6
    assert [s["id"] for s in seen] == session.ids()
    s = session.get(seen[0]["id"])
    assert RECORD_FIELDS <= set(s)
    t = load_template(ws.find_template("contrast-pairs"))
    assert s["template_version"] == t.version and s["model"] == fake_llm.model and s["status"] == "pending"
    assert s["output"] == "Answer to: " + s["messages"][-1]["content"][:80]
    assert set(s["slots"]) == {"pair", "n"} and s["run_id"] == summary.run_id
    assert s["params"] == {"temperature": 0.7, "max_tokens": 300}
    assert fake_llm.requests[0].body["max_tokens"] == 300
    assert session.template_text("contrast-pairs", t.version) == t.text
    [r] = session.runs()
    assert r["status"] == "done" and r["done"] == 6 and r["model"] == fake_llm.model


async def test_followups_run_on_each_output_and_are_stored(ws, session, fake_llm):
    name = with_followup(ws)
    fake_llm.set(reply=lambda m: ("Checked another way. VERDICT: incorrect" if "proposed solution" in m[-1]["content"]
                                  else "first answer"))
    summary = await Run(ws, name, session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=4).execute()
    assert summary.done == 4 and fake_llm.count == 8
    for s in session.iter_samples():
        fu = s["followups"]["double-check"]
        assert fu["verdict"] == "incorrect" and fu["output"].startswith("Checked")
        assert fu["model"] == fake_llm.model
    checks = [r for r in fake_llm.requests if "proposed solution" in r.messages[-1]["content"]]
    assert all("first answer" in r.messages[-1]["content"] for r in checks)  # the output went in


async def test_render_mode_needs_no_model(ws, session, fake_llm):
    summary = await Run(ws, "support-madlib", session=session, model="render", n=5).execute()
    assert summary.done == 5 and fake_llm.count == 0
    s = next(session.iter_samples())
    assert s["mode"] == "render" and s["model"] == "render" and s["output"].startswith("Hello ")
    assert s["cost"] == 0.0 and s["tokens_out"] == 0  # no model, no cost: known, not "unknown"
    assert session.cost().unknown == 0


async def test_failed_prompts_are_saved_with_their_reason(ws, session, fake_llm):
    fake_llm.set(faults={"500": 1.0})
    run = Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=3)
    run.engine.max_tries = 2
    summary = await run.execute()
    assert summary.failed == 3
    for s in session.iter_samples():
        assert s["status"] == "failed" and "500" in s["error"]


async def test_a_template_edit_requests_only_the_changed_prompts(ws, session, fake_llm):
    def go():
        return Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url).execute()
    first = await go()
    assert fake_llm.count == first.done
    path = ws.templates_dir / "contrast-pairs.prompt"
    # an edit that changes the prompt text only where n is 2
    path.write_text(path.read_text().replace("in {{ n }} sentences",
                                             "in {{ n }} sentences{% if n|string == '2' %} (be brief){% endif %}"))
    second = await go()
    changed = sum(1 for s in session.iter_samples() if s["run_id"] == second.run_id and s["slots"]["n"] == "2")
    assert 0 < changed == second.done < first.done
    assert fake_llm.count == first.done + changed  # the unchanged prompts are held: not asked, not added again
    assert (second.held, second.cached, len(session)) == (first.done - changed, 0, first.done + changed)
    versions = {s["template_version"] for s in session.iter_samples()}
    assert len(versions) == 2


async def test_stop_keeps_what_completed(ws, session, fake_llm):
    fake_llm.set(latency=0.3)
    run = Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url,
              concurrency=2)
    saved = []

    def on_sample(s):
        saved.append(s)
        if len(saved) == 2:
            run.stop()
    summary = await run.execute(on_sample=on_sample)
    assert summary.stopped and 2 <= summary.done < run.total
    assert len(session.ids()) == summary.done
    assert session.runs()[-1]["status"] == "stopped"


async def test_stop_from_another_thread(ws, session, fake_llm):
    fake_llm.set(latency=0.3)
    run = Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url,
              concurrency=2)
    loop = asyncio.get_running_loop()
    loop.call_later(0.5, lambda: loop.run_in_executor(None, run.stop))
    summary = await run.execute()
    assert summary.stopped and summary.done < run.total


async def test_structured_template_is_validated_and_parsed(ws, session, fake_llm):
    items = [{"prompt": "What is 2+2?", "response": "5", "comment": "this is wrong", "rating": 1},
             {"prompt": "Hi", "response": "Hello! " * 50, "comment": "way too wordy", "rating": None}]
    fake_llm.set(reply=lambda m: '{"category": "verbosity", "polarity": "negative", "severity": "low", "concerned_part": "all", '
                                 '"desired_behaviour": "be brief"}')
    summary = await Run(ws, "feedback-structuring", session=session, model=fake_llm.model,
                        api_base=fake_llm.base_url, inputs=items).execute()
    assert summary.done == 2
    samples = list(session.iter_samples())
    assert all(s["mode"] == "structured" and s["parsed"]["severity"] == "low" for s in samples)
    assert sorted(s["inputs"]["comment"] for s in samples) == ["this is wrong", "way too wordy"]
    assert "this is wrong" in fake_llm.requests[0].prompt + fake_llm.requests[1].prompt


async def test_a_template_with_inputs_says_what_it_needs(ws, session):
    with pytest.raises(StudioError, match="needs input values for prompt, response, comment"):
        Run(ws, "feedback-structuring", session=session, model="render")


async def test_no_key_reaches_the_session(ws, session, fake_llm, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-999")
    await Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=2).execute()
    session.close()
    for f in ws.sessions_dir.rglob("*"):
        if f.is_file():
            assert b"SECRET-999" not in f.read_bytes(), f


async def test_each_reply_shape_becomes_its_sample_fields(ws, session, fake_llm):
    """The engine's Result onto the record: finish_reason, reasoning, flag, paid attempts, summed tokens."""
    fake_llm.set(script=["cut_off", "reasoning", "reasoning_only", "tool_calls"])
    run = Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=4,
              concurrency=1)
    summary = await run.execute()
    assert summary.done == 2 and summary.flagged == 1 and summary.failed == 2 and fake_llm.count == 4
    by = {}
    for s in session.samples(session.ids()):
        by[s.get("flag") or s["error"] or s["reasoning"]] = s
    cut = by["cut-off"]
    assert cut["finish_reason"] == "length" and cut["status"] == "pending" and cut["attempts"] == 1
    thought = by["The user wants an answer."]
    assert thought["flag"] is None and "The user wants" not in thought["output"]
    [spent] = [s for k, s in by.items() if "max_tokens before answering" in k]
    assert spent["status"] == "failed" and "300 max_tokens" in spent["error"] and spent["tokens_out"] == 300
    assert spent["attempts"] == 1  # billed, counted, not retried
    assert spent["finish_reason"] == "length"  # the provider's finish_reason stays on a failed sample too
    [tool] = [s for k, s in by.items() if "called a tool" in k]
    assert tool["status"] == "failed" and tool["output"] is None and tool["finish_reason"] == "tool_calls"
    assert summary.tokens_in + summary.tokens_out == fake_llm.billed


def _many(ws, n):
    (ws.root / "data").mkdir(exist_ok=True)
    (ws.root / "data/ids.txt").write_text("".join(f"id-{i}\n" for i in range(n)))
    (ws.templates_dir / "many.prompt").write_text(
        "---\nname: many\nslots:\n  i: {file: ../data/ids.txt}\ncombine:\n  strategy: product\n---\nuser:\nSay {{ i }}.\n")
    return "many"


async def test_a_slow_session_write_does_not_hold_up_requests(ws, session, fake_llm, monkeypatch):
    """The session is written by its own thread: a write that waits on the disk (here 0.5 s each) leaves the
    event loop sending and reading meanwhile, so requests keep arriving at the server with no pause."""
    import time as _time

    from studio.store.session import Session

    slow = Session.add_samples

    def add_samples(self, samples):
        _time.sleep(0.5)
        return slow(self, samples)

    monkeypatch.setattr(Session, "add_samples", add_samples)
    fake_llm.set(latency=0.05)
    seen = []
    run = Run(ws, _many(ws, 240), session=session, model=fake_llm.model, api_base=fake_llm.base_url,
              concurrency=8)
    summary = await run.execute(on_sample=seen.append)
    assert summary.done == 240 and summary.saved == 240 and len(session.ids()) == 240
    assert sorted(s["id"] for s in seen) == session.ids()
    arrivals = sorted(r.t for r in fake_llm.requests)
    assert max(b - a for a, b in zip(arrivals, arrivals[1:])) < 0.35   # a write on the loop would pause 0.5 s


async def test_a_session_that_cannot_be_written_stops_the_run(ws, session, fake_llm, monkeypatch):
    from studio.store.errors import StoreError
    from studio.store.session import Session

    def add_samples(self, samples):
        raise StoreError("cannot write the session journal: No space left on device")

    monkeypatch.setattr(Session, "add_samples", add_samples)
    run = Run(ws, _many(ws, 40), session=session, model=fake_llm.model, api_base=fake_llm.base_url, concurrency=4)
    with pytest.raises(StoreError, match="No space left"):
        await run.execute()


async def test_a_run_relaxes_the_collector_while_it_goes_and_hands_on_the_records_it_stored(ws, session, fake_llm):
    import gc

    from studio.core.bulk import RELAXED_GEN0

    before = gc.get_threshold()
    during, seen = [], []

    def on_sample(s):
        during.append(gc.get_threshold()[0])
        seen.append(s)

    run = Run(ws, "contrast-pairs", session=session, model=fake_llm.model, api_base=fake_llm.base_url, n=4)
    await run.execute(on_sample=on_sample)
    assert len(during) == 4 and min(during) >= RELAXED_GEN0
    assert gc.get_threshold() == before
    for s in seen:      # the sample handed on is the record as stored (normalised once, by the store)
        assert s == session.get(s["id"])
