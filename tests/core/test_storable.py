"""`files.check_storable`: the one check every reader of user JSON/JSONL/YAML runs (text UTF-8 cannot store)."""

import json

import pytest

from studio.core.errors import SlotError
from studio.core.files import check_storable, unstorable


@pytest.mark.parametrize("raw", [
    '"bad \\ud83d surrogate"',            # a high half alone
    '"\\ude00 low half alone"',           # a low half alone
    '"\\ude00\\ud83d"',                    # both halves, reversed
    '{"bad \\ud83d key": "x"}',           # in a key
    '{"a": [1, {"b": ["ok", "\\ud800"]}]}',  # deep inside
])
def test_text_utf8_cannot_store_is_refused_with_the_file_and_line(raw):
    value = json.loads(raw)
    assert unstorable(value) is not None
    with pytest.raises(SlotError) as err:
        check_storable(value, SlotError, path="data.jsonl", line=7, what="this row")
    text = str(err.value)
    assert text.startswith("data.jsonl:7: this row holds a lone surrogate") and " — " in text
    text.encode("utf-8")  # the message itself can be printed and stored


@pytest.mark.parametrize("raw", ['"\\ud83d\\ude00 a whole emoji"', '"plain"', '{"k": [1, null, true, 2.5]}', '[]'])
def test_text_utf8_can_store_passes(raw):
    value = json.loads(raw)
    assert unstorable(value) is None
    check_storable(value, SlotError, path="data.jsonl", line=1)
