"""Render-mode samples are conversations: the sections before the last `assistant:` are the prompt, that
section is the reply. A render template without one is a preview, flagged and kept out of chat exports."""

from __future__ import annotations

import json

import pytest

from studio.core.errors import StudioError
from studio.core.lint import lint_template
from studio.core.template import load_template
from studio.export import ExportError, ExportOptions, plan_export, write_export
from studio.runs.run import Run
from studio.store import Store
from studio.core.workspace import Workspace
from tests.export.helpers import conversation_errors, conversations


@pytest.fixture
def ws(tmp_path):
    return Workspace.from_env(tmp_path).ensure()


@pytest.fixture
def session(ws):
    s = Store(ws.sessions_dir).open("test", create=True)
    yield s
    s.close()


def write(ws, name, body, slots="  who: [Ana, Ben]\n  thing: [router, phone]"):
    (ws.templates_dir / f"{name}.prompt").write_text(f"---\nname: {name}\nmode: render\nslots:\n{slots}\n---\n{body}")
    return name


async def run(ws, session, name, n=4, **kw):
    await Run(ws, name, session=session, n=n, **kw).execute()
    return list(session.iter_samples(template=name))


# (name, body, expected prompt roles, expected reply start)
SHAPES = [
    ("user-assistant", "user:\nHi, I'm {{ who }}, my {{ thing }} broke.\n\nassistant:\nSorry {{ who }}, let's fix the "
     "{{ thing }}.", ["user"], "Sorry "),
    ("system-user-assistant", "system:\nYou are support.\nuser:\nMy {{ thing }} broke.\nassistant:\nHello {{ who }}, "
     "the {{ thing }} is fixed.", ["system", "user"], "Hello "),
    ("few-shot", "user:\nMy modem broke.\nassistant:\nRestart it.\nuser:\nMy {{ thing }} broke, {{ who }} here."
     "\nassistant:\nRestart the {{ thing }}, {{ who }}.", ["user", "assistant", "user"], "Restart the "),
]


@pytest.mark.parametrize("name,body,roles,reply", SHAPES, ids=[s[0] for s in SHAPES])
async def test_sections_before_the_last_assistant_are_the_prompt(ws, session, name, body, roles, reply):
    write(ws, name, body)
    samples = await run(ws, session, name)
    assert samples
    for s in samples:
        assert [m["role"] for m in s["messages"]] == roles
        assert s["output"].startswith(reply) and s.get("flag") is None
        assert "assistant:" not in s["output"] and "user:" not in s["output"]
        assert s["output"] != s["messages"][-1]["content"]
        assert s["slots"]["who"] in s["output"]
    plan = plan_export(session, ExportOptions(format="openai-chat", statuses=("pending",), val_fraction=0))
    assert plan.removed == [] and len(plan.lines) == len(samples)
    for row in plan.rows:
        assert [m["role"] for m in row["messages"]] == roles + ["assistant"]
        assert conversation_errors(row["messages"]) == []


async def test_the_shipped_madlib_is_a_customer_message_and_a_reply(ws, session):
    samples = await run(ws, session, "support-madlib", n=6)
    for s in samples:
        [msg] = s["messages"]
        assert msg["role"] == "user" and msg["content"].startswith("Hi, this is " + s["slots"]["customer"])
        assert s["output"].startswith("Hello " + s["slots"]["customer"])
        assert s["slots"]["action"] in s["output"] and s["slots"]["issue"] in msg["content"]
        assert s.get("flag") is None
    assert lint_template(load_template(ws.find_template("support-madlib"))) == []


async def test_a_render_template_without_an_assistant_section_is_a_flagged_preview(ws, session, tmp_path):
    write(ws, "bare", "Hello {{ who }}, your {{ thing }} is fixed.")
    samples = await run(ws, session, "bare")
    for s in samples:
        assert s["flag"] == "preview" and s["output"].startswith("Hello ")
    problems = lint_template(load_template(ws.find_template("bare")))
    assert [(p.severity, "add an assistant: section" in p.hint) for p in problems] == [("warning", True)]
    for session_ in (session,):
        for fmt in ("openai-chat", "sft", "alpaca", "sharegpt", "sft-text"):
            plan = plan_export(session_, ExportOptions(format=fmt, statuses=("pending",)))
            assert plan.removed_counts() == {"no assistant section: add one": len(samples)}
            assert plan.lines == []
            with pytest.raises(ExportError, match="add an assistant: section"):
                write_export(plan, tmp_path / fmt)


async def test_a_generate_template_run_with_the_render_model_is_a_preview(ws, session):
    samples = await run(ws, session, "contrast-pairs", n=3, model="render")
    assert {s["flag"] for s in samples} == {"preview"}


@pytest.mark.parametrize("body,line", [
    ("user:\nHi {{ who }}\nassistant:\nHello {{ thing }}\nuser:\nthanks", 12),
    ("assistant:\nHello {{ who }} {{ thing }}\nuser:\nthanks", 10),
])
async def test_text_after_the_last_assistant_section_is_refused_with_its_line(ws, session, body, line):
    write(ws, "tail", body)
    t = load_template(ws.find_template("tail"))
    [p] = [p for p in lint_template(t) if p.severity == "error"]
    assert p.line == line and "after the last assistant" in p.message
    with pytest.raises(StudioError) as e:
        await run(ws, session, "tail")
    assert e.value.problem.line == line


@pytest.mark.parametrize("body", [
    "assistant:\nHello {{ who }} {{ thing }}",
    "system:\nBe kind.\nassistant:\nHello {{ who }} {{ thing }}",
    "user:\nHi\nuser:\nAgain {{ who }}\nassistant:\nHello {{ thing }}",
])
def test_lint_refuses_a_prompt_that_is_not_a_conversation(ws, body):
    write(ws, "odd", body)
    problems = [p for p in lint_template(load_template(ws.find_template("odd"))) if p.severity == "error"]
    assert len(problems) == 1 and "not a conversation" in problems[0].message


async def test_editing_only_the_reply_is_a_changed_sample_for_regenerate(ws, session):
    from studio.analysis.regenerate import plan_regeneration

    name = write(ws, "pair", SHAPES[0][1])
    old = load_template(ws.find_template(name))
    await run(ws, session, name)
    path = ws.templates_dir / "pair.prompt"
    path.write_text(path.read_text().replace("let's fix", "we replaced"))
    plan = plan_regeneration(session, load_template(path), old.version)
    assert len(plan.changed) == len(list(session.iter_samples())) and not plan.unchanged


# ---- a newcomer's first export of every shipped template ---------------------------------------------

INPUTS = {"prompt": "What is 17 * 3?", "output": "17 * 3 = 51.", "response": "It is 51.",
          "comment": "too wordy, just give the number", "rating": "2"}
FIRST_FORMATS = ["openai-chat", "sft", "sft-text", "kto", "alpaca", "sharegpt"]


def shipped():
    from studio.core.workspace import Workspace as W
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return sorted(p.stem for p in W.from_env(d).ensure().templates_dir.glob("*.prompt"))


@pytest.mark.parametrize("name", shipped())
async def test_first_export_of_every_shipped_template_is_valid_and_has_no_echo(ws, session, fake_llm, tmp_path,
                                                                                name):
    t = load_template(ws.find_template(name))
    kw = {"inputs": {k: INPUTS[k] for k in t.inputs}} if t.inputs else {}
    if t.mode != "render":
        kw.update(model=fake_llm.model, api_base=fake_llm.base_url)
    await Run(ws, name, session=session, n=4, followups=False, **kw).execute()
    ids = session.ids()
    assert ids
    session.bulk_set_status(ids, "accepted")
    for fmt in FIRST_FORMATS:
        plan = plan_export(session, ExportOptions(format=fmt, val_fraction=0))
        assert not set(plan.removed_counts()) - {"exact duplicate", "near duplicate"}, (fmt, plan.summary())
        report = write_export(plan, tmp_path / fmt)
        rows = [json.loads(x) for f in report.files if f.suffix == ".jsonl" for x in f.read_text().splitlines()]
        assert rows
        for row in rows:
            for conv in conversations(fmt, row):
                assert conversation_errors(conv) == [], (fmt, row)
            if fmt == "alpaca":
                assert row["instruction"].strip() != row["output"].strip()
