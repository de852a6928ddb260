import json

import pytest


@pytest.fixture
def session(tmp_path):
    """A real store session (TinyDB files) in a temporary workspace."""
    from studio.store import Store

    s = Store(tmp_path / "sessions").create("work")
    yield s
    s.close()


def structuring_reply(messages):
    """The fake model's structuring: reads the comment and answers like a model would, as JSON."""
    text = messages[-1]["content"]
    comment = text.split('The user\'s comment: "', 1)[-1].split('"', 1)[0].lower()
    if "garbage" in comment or "xyzzy" in comment:
        return "I am not sure what you mean."  # not JSON: the engine retries, then gives up
    if "wordy" in comment or "long" in comment:
        category, desired = "verbosity", "Answer in two sentences."
    elif "rude" in comment:
        category, desired = "tone", "Be polite."
    else:
        category, desired = "correctness", "Check the facts."
    return json.dumps({"category": category, "polarity": "negative",
                       "severity": "high" if "very" in comment else "medium",
                       "concerned_part": "the whole answer", "desired_behaviour": desired})
