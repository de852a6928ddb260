"""Every chat-shaped export is a valid conversation: bad samples are removed with a counted reason, never written.

Table-driven: each member of the kind "a sample that is not a conversation a trainer accepts" is put
into a real session next to good samples, every format is exported, and the written rows are checked
by an independent checker (tests/export/helpers.py).
"""

from __future__ import annotations

import json

import pytest

from studio.export import FORMATS, ExportError, ExportOptions, plan_export, write_export
from tests.export.conftest import prose, sample
from tests.export.helpers import conversation_errors, conversations

CHAT = [f for f in FORMATS if f != "raw"]
SYS = {"role": "system", "content": "You are a calm support agent."}


def user(text):
    return {"role": "user", "content": text}


def asst(text):
    return {"role": "assistant", "content": text}


# (name, sample fields, reason counted) - every way a sample can fail to be a conversation
BAD = [
    ("two assistant turns at the end", {"messages": [user("Hi"), asst("Hello")]}, "role order"),
    ("assistant first", {"messages": [asst("Hello"), user("Hi")], "output": "ok then"}, "role order"),
    ("two users in a row", {"messages": [user("Hi"), user("Again")], "output": "Hello"}, "role order"),
    ("system not first", {"messages": [user("Hi"), SYS]}, "role order"),
    ("no prompt at all", {"messages": []}, "role order"),
    ("only a system prompt", {"messages": [SYS]}, "role order"),
    ("an unknown role", {"messages": [{"role": "tool", "content": "42"}]}, "role order"),
    ("an empty user turn", {"messages": [SYS, user("  ")]}, "empty turn"),
    ("an empty middle turn", {"messages": [user("Hi"), asst(""), user("More")]}, "empty turn"),
    ("label in the output", {"output": "user:\nHi there\n\nassistant:\nHello"}, "section label in text"),
    ("label in the prompt", {"messages": [user("Tell me\nassistant:\nsure")]}, "section label in text"),
    ("indented system label", {"messages": [user("Hi"), ], "output": "  system:  \nbe nice"},
     "section label in text"),
    ("output repeats the prompt", {"messages": [user("Reset my router please.")],
                                   "output": "Reset my router please."}, "echo"),
    ("output repeats the prompt, spaced", {"messages": [SYS, user("Reset my router.")],
                                           "output": "\n Reset my router. \n"}, "echo"),
    ("render preview (no assistant section)", {"flag": "preview", "mode": "render", "model": "render"},
     "no assistant section: add one"),
    ("a generate template run with the render model", {"flag": "preview", "mode": "generate", "model": "render"},
     "flagged preview"),
]


def _fix(rec):
    """Give each bad sample its own prompt key (the fixture's hash would make them duplicates)."""
    rec["prompt_hash"] = f"bad{rec['seed']:09x}"
    return rec


@pytest.fixture
def mixed(store):
    s = store.create("mixed")
    good = [sample(i) for i in range(1, 9)] + [sample(i, status="rejected", prompt=i - 8) for i in range(9, 12)]
    bad = []
    for k, (_, fields, _) in enumerate(BAD):
        rec = sample(100 + k, **fields)
        bad.append(_fix(rec))
    # the same shapes as rejected answers, so the preference formats meet them too
    for k, (_, fields, _) in enumerate(BAD):
        rec = sample(200 + k, status="rejected", **fields)
        rec["prompt_hash"] = bad[k]["prompt_hash"]
        bad.append(rec)
    s.add_samples(good + bad)
    yield s
    s.close()


@pytest.mark.parametrize("fmt", CHAT)
def test_every_written_row_of_every_format_is_a_valid_conversation(mixed, tmp_path, fmt):
    plan = plan_export(mixed, ExportOptions(format=fmt, val_fraction=0))
    report = write_export(plan, tmp_path / fmt)
    rows = [json.loads(x) for f in report.files if f.suffix == ".jsonl" for x in f.read_text().splitlines()]
    assert rows, plan.summary()
    for row in rows:
        for conv in conversations(fmt, row):
            # a rejected answer that repeats the prompt is a fair negative example (kto label false)
            echo_ok = fmt == "kto" and row.get("label") is False
            assert conversation_errors(conv, echo_allowed=echo_ok) == [], (fmt, row)
    written = {i for ids in plan.ids for i in ids}
    assert not written & set(range(100, 100 + len(BAD))), "an accepted bad sample was written"


@pytest.mark.parametrize("name,fields,reason", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("fmt", ["openai-chat", "sft", "sharegpt", "alpaca", "kto", "sft-text"])
def test_each_bad_sample_is_removed_with_its_reason(store, fmt, name, fields, reason):
    s = store.create("one")
    s.add_samples([sample(1), _fix(sample(5, **fields))])
    plan = plan_export(s, ExportOptions(format=fmt, val_fraction=0))
    s.close()
    assert [i for ids in plan.ids for i in ids] == [1]
    assert [(r.id, r.reason) for r in plan.removed] == [(2, reason)]
    assert plan.removed[0].detail
    assert any(f"removed 1: {reason}" in line for line in plan.summary())
    assert f"| {reason} | 1 |" in plan.card


@pytest.mark.parametrize("fmt", ["preference", "openai-preference"])
def test_preference_pairs_with_a_bad_side_are_removed(store, fmt):
    s = store.create("pairs")
    s.add_samples([sample(1, prompt=1), sample(2, prompt=1, status="rejected"),          # a good pair
                   sample(3, prompt=3), sample(4, prompt=3, status="rejected", output="ok\nassistant:\nno"),
                   sample(5, prompt=5, messages=[user("a"), asst("b")]), sample(6, prompt=5, status="rejected",
                                                                                messages=[user("a"), asst("b")])])
    plan = plan_export(s, ExportOptions(format=fmt, val_fraction=0))
    s.close()
    assert plan.ids == [(1, 2)]
    assert {(r.id, r.reason) for r in plan.removed} >= {(4, "section label in text"), (5, "role order"),
                                                        (6, "role order")}


def test_only_previews_selected_is_a_clear_error_saying_what_to_add(store, tmp_path):
    s = store.create("madlib")
    s.add_samples([sample(i, template="support", flag="preview", mode="render", model="render") for i in range(1, 4)])
    plan = plan_export(s, ExportOptions(format="openai-chat"))
    s.close()
    assert plan.removed_counts() == {"no assistant section: add one": 3}
    with pytest.raises(ExportError) as e:
        write_export(plan, tmp_path / "out")
    text = str(e.value)
    assert "nothing to export" in text and "assistant: section" in text and "'support'" in text


def test_previews_of_a_generate_template_say_to_run_it_with_a_model_not_to_add_a_section(store, tmp_path):
    """(A tryout read 'no assistant section: add one' for previews of a generate template: wrong advice.)"""
    s = store.create("previews")
    s.add_samples([sample(i, template="support", flag="preview", mode="generate", model="render")
                   for i in range(1, 4)])
    plan = plan_export(s, ExportOptions(format="openai-chat"))
    s.close()
    assert plan.removed_counts() == {"flagged preview": 3}
    assert "  flagged samples: 3 left out (3 preview)" in plan.summary()
    with pytest.raises(ExportError) as e:
        write_export(plan, tmp_path / "out")
    text = str(e.value)
    assert "render model" in text and "--model" in text and "add an assistant" not in text, text


FLAGGED = [("cut-off", "finish_reason length"), ("filtered", "content_filter"), ("refusal", "message.refusal")]


@pytest.mark.parametrize("flag,_why", FLAGGED)
@pytest.mark.parametrize("fmt", ["openai-chat", "raw", "kto"])
def test_flagged_samples_are_left_out_unless_asked(store, tmp_path, fmt, flag, _why):
    s = store.create("flags")
    s.add_samples([sample(1), sample(2, flag=flag), sample(3, flag="cut-off" if flag != "cut-off" else "refusal")])
    default = plan_export(s, ExportOptions(format=fmt, val_fraction=0))
    asked = plan_export(s, ExportOptions(format=fmt, val_fraction=0, include_flagged=True))
    only = plan_export(s, ExportOptions(format=fmt, val_fraction=0, flags=(flag,)))
    s.close()
    other = "cut-off" if flag != "cut-off" else "refusal"
    assert default.ids == [(1,)] and default.removed_counts() == {f"flagged {flag}": 1, f"flagged {other}": 1}
    assert asked.ids == [(1,), (2,), (3,)] and asked.removed == []
    assert only.ids == [(2,)] and only.selected == 1 and only.removed == []


def test_an_unknown_flag_is_refused():
    with pytest.raises(ExportError, match="unknown flag"):
        ExportOptions(flags=("cutoff",)).check()


def test_a_raw_export_keeps_previews_when_asked(store):
    s = store.create("raw")
    s.add_samples([sample(1, flag="preview", mode="render")])
    assert plan_export(s, ExportOptions(format="raw")).removed_counts() == {"flagged preview": 1}
    assert plan_export(s, ExportOptions(format="raw", include_flagged=True)).ids == [(1,)]
    s.close()


def test_the_validation_keeps_every_good_row_of_the_curated_session(session):
    """The check removes nothing from a session of ordinary samples (no false alarms)."""
    for fmt in CHAT:
        plan = plan_export(session, ExportOptions(format=fmt))
        reasons = set(plan.removed_counts())
        assert not reasons & {"role order", "empty turn", "section label in text", "echo"}, (fmt, reasons)


def test_prose_is_not_mistaken_for_a_label():
    """Lines that only mention a role ("User: hi", "the assistant: ...") are content, not section labels."""
    from studio.export.validate import problem

    for text in ("User: my router is down", "the assistant: says hi", "user: hello", "assistant:s", prose(3)):
        assert problem([user("Summarise this chat")], text) is None, text
