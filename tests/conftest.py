import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # so `tests.support` imports


@pytest.fixture
def fake_llm():
    """A fake OpenAI-compatible server on 127.0.0.1 (fresh port), running in a background thread.

    Yields a FakeLLM: .base_url (give it as api_base), .model ("openai/fake"), .count, .requests
    (list of Seen: .messages, .body, .fault, .t), .set(latency=, faults={"429": 0.1, ...},
    script=["500", None], retry_after=, reply=lambda messages: "text").
    """
    from tests.support.fake_llm import FakeLLM

    server = FakeLLM().start()
    try:
        yield server
    finally:
        server.stop()
