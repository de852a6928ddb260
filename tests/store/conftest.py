import pytest

from studio.store import Store


def sample(i: int, **extra) -> dict:
    """A generated sample as a run would hand it to the store."""
    return {
        "template": "support", "template_version": "aaaaaaaaaaaa" if i % 2 else "bbbbbbbbbbbb",
        "fill_key": f"{i:012x}", "slots": {"product": ("router", "modem")[i % 2], "n": str(i)},
        "persona": {"text": f"a nurse aged {30 + i}"},
        "messages": [{"role": "user", "content": f"Help me with my {('router', 'modem')[i % 2]} #{i}"}],
        "output": f"Answer number {i}: restart the device.", "model": "openai/fake", "params": {"temperature": 0.5},
        "seed": i, "run_id": "r1", "cost": 0.001 * i, "latency": 1.0 / (i + 1), **extra,
    }


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "sessions")


@pytest.fixture
def session(store):
    s = store.create("s1", model="openai/fake")
    yield s
    s.close()


def die_after(fn) -> None:
    """Run fn in a forked child that then kills itself with SIGKILL (no close, no fold, no atexit)."""
    import os
    import signal

    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
