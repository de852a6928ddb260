"""A burst of review keys ends as the same keys typed slowly on a loaded machine too: the flake of
tests/tui/test_review_random.py (failed once at 80×24, passed 9 times). The type-ahead sent the next key on
once the one before had been in flight 0.3 s, taking that as lost; on a loaded machine a key's widget took
longer, the next key overtook it, and `x u a j j` left the cursor on #36 instead of #37. Here the sample list
takes 0.4 s over every key (what a busy 2-core machine does), so the race happens every time without the fix."""

from __future__ import annotations

import time

import pytest

from studio.tui.widgets.stream import SampleList
from tests.tui.test_review_random import _long, _outcome

SEQUENCES = [["x", "u", "a", "j", "j"], ["X", "y", "u", "a"], ["space", "u", "space"]]


@pytest.fixture
def long_session(ws):
    return _long(ws)


@pytest.fixture
def slow_keys(monkeypatch):
    def on_key(self, event) -> None:      # before the key bubbles on to its binding
        time.sleep(0.4)
    monkeypatch.setattr(SampleList, "on_key", on_key, raising=False)


@pytest.mark.parametrize("keys", SEQUENCES, ids=[" ".join(s) for s in SEQUENCES])
async def test_a_burst_on_a_slow_machine_ends_as_typed_slowly(long_session, tmp_path_factory, slow_keys, keys):
    from studio.core.workspace import Workspace

    fast = await _outcome(long_session, keys, fast=True)
    slow = await _outcome(_long(Workspace.from_env(tmp_path_factory.mktemp("slow")).ensure()), keys, fast=False)
    assert fast[0] == slow[0], f"cursor on #{fast[0]} after the burst, #{slow[0]} typed slowly"
    assert fast[1] == slow[1]
