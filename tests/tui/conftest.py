"""Fixtures for the studio's Pilot tests: a real workspace and real TinyDB sessions in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.core.workspace import Workspace


def make_samples(n: int, *, version: str = "aaaaaaaaaaaa", template: str = "support-madlib",
                 start: int = 0) -> list[dict]:
    """Deterministic sample records (render-mode shaped: a customer message and the reply) for tests."""
    products = ["Aria phone", "Nimbus router", "Pebble watch"]
    out = []
    for i in range(start, start + n):
        product = products[i % 3]
        text = f"Hello customer {i}, I understand you're having an issue with the {product}."
        out.append({
            "template": template, "template_version": version, "fill_key": f"{i:012x}",
            "slots": {"customer": f"customer {i}", "product": product},
            "messages": [{"role": "user", "content": f"Hi, this is customer {i}. My {product} has a problem."}],
            "output": text, "mode": "render",
            "model": "render", "seed": i, "run_id": "seed", "status": "pending",
            "tokens_in": 0, "tokens_out": 0, "cost": 0.0, "latency": 0.0, "created": 1_700_000_000.0 + i,
        })
    return out


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.from_env(tmp_path).ensure()


@pytest.fixture
def seeded(ws: Workspace):
    """A workspace whose session 'review' holds 12 pending samples (and is the most recent)."""
    from studio.store import Store

    store = Store(ws.sessions_dir)
    session = store.create("review")
    text = (ws.templates_dir / "support-madlib.prompt").read_text()
    version = session.save_template_version("support-madlib", text)
    session.add_samples(make_samples(12, version=version))
    session.close()
    return ws


def screen_text(app) -> str:
    """The screen as plain text, what a person would read."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


async def ready(app, pilot) -> None:
    """Wait until the session is loaded and on screen (no sleeping on a guess)."""
    for _ in range(200):
        if app.ready_at is not None:
            break
        await pilot.pause(0.02)
    assert app.ready_at is not None, f"the session never loaded: {[n.message for n in app._notifications]}"
    await pilot.pause()


async def settle(app, pilot) -> None:
    """Let queued session writes finish and their results reach the screen."""
    from studio.tui.screens.main import MainScreen

    screen = next(s for s in app.screen_stack if isinstance(s, MainScreen))
    for _ in range(3):  # a result may queue a follow-up job (undo -> reload the row)
        if screen.io is not None:
            screen.io.flush()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()


@pytest.fixture
def fake_env(fake_llm, monkeypatch):
    """The studio pointed at the fake OpenAI-compatible server (tests/support/fake_llm.py) as its default model."""
    monkeypatch.setenv("OPENAI_API_BASE", fake_llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("STUDIO_MODEL", fake_llm.model)
    return fake_llm


def long_text(n: int) -> str:
    return "\n".join(f"paragraph {i}: the answer goes on" for i in range(n))


@pytest.fixture
def varied(ws):
    """Samples of every shape the review pane must show: long, structured, flagged, failed, markup-like."""
    import json

    from studio.store import Store

    store = Store(ws.sessions_dir)
    session = store.create("review")
    version = session.save_template_version("support-madlib",
                                            (ws.templates_dir / "support-madlib.prompt").read_text())
    samples = make_samples(6, version=version)
    samples[0]["output"] = long_text(40)
    samples[1].update(mode="structured", output=json.dumps({"category": "verbosity", "severity": "high"}),
                      parsed={"category": "verbosity", "severity": "high"})
    samples[2].update(flag="cut-off", finish_reason="length", output="The answer stops in the mid")
    samples[3].update(status="failed", output=None, error="HTTP 500 from the provider")
    samples[4]["output"] = "[bold]not markup[/bold] [link=x]y[/link]"
    session.add_samples(samples)
    session.close()
    return ws


FLAGGED = {2: "cut-off", 3: "cut-off", 4: "refusal", 5: "preview"}


@pytest.fixture
def flagged(ws):
    """A session 'flags' of 8 accepted samples: #2 and #3 cut off, #4 a refusal, #5 a preview (a prompt, no
    answer), the rest clean."""
    from studio.store import Store
    from tests.export.conftest import sample

    session = Store(ws.sessions_dir).create("flags")
    session.add_samples([sample(i, flag=FLAGGED.get(i), **({"mode": "render", "model": "render"} if i == 5 else {}))
                         for i in range(1, 9)])
    session.close()
    return ws
