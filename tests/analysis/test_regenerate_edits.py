"""Editing a slot value, then regenerating: the fills that used it come back with the new value, by the model
and endpoint that made them; removed values retire their fills (counted); nothing else is requested."""

import asyncio

import pytest

from studio.analysis.regenerate import plan_regeneration, regenerate
from studio.core import slot_edit
from studio.core.template import load_template, parse_template
from studio.runs.run import Run
from studio.core.workspace import Workspace
from tests.support.fake_llm import FakeLLM

HEAD = """---
name: contrast
mode: generate
slots:
  pair: {{file: data/pairs.csv, field: concept}}
  n: {n}
combine:
  strategy: product
---
user:
Explain {{{{ pair }}}} against {{{{ pair.contrast }}}} in {{{{ n }}}} sentences.
"""
CSV = "concept,contrast\nweather,climate\nspeed,velocity\n"


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path).ensure()
    (w.templates_dir / "data").mkdir(exist_ok=True)
    (w.templates_dir / "data" / "pairs.csv").write_text(CSV)
    return w


def _write(ws, n="[2, 3, 4]", text=None):
    path = ws.templates_dir / "contrast.prompt"
    path.write_text(text or HEAD.format(n=n))
    return load_template(path)


def _key(s):
    return f"{s['slots']['pair']}/{s['slots']['n']}"


# each kind of slot edit: (edit of the inline list, fills regenerated, retired, the new values of `n` asked for)
EDITS = [
    ("changed in place", lambda t: slot_edit.edit_value(t, "n", 2, "5"), 2, 0, {"5"}),
    ("removed", lambda t: slot_edit.delete_value(t, "n", 0), 0, 2, set()),
    ("added (old fills unchanged)", lambda t: slot_edit.add_value(t, "n", "6"), 0, 0, set()),
    ("two changed", lambda t: slot_edit.edit_value(parse_template(slot_edit.edit_value(t, "n", 0, "7"), t.path),
                                                   "n", 1, "8"), 4, 0, {"7", "8"}),
    ("changed and another removed", lambda t: slot_edit.delete_value(
        parse_template(slot_edit.edit_value(t, "n", 2, "9"), t.path), "n", 0), 2, 2, {"9"}),
    ("a parameter changed (every answer, the prompts the same)",
     lambda t: t.text.replace("mode: generate\n", "mode: generate\nparams: {temperature: 0.2}\n"), 6, 0,
     {"2", "3", "4"}),
]


@pytest.mark.parametrize("what,edit,regenerated,retired,asked", EDITS, ids=[e[0] for e in EDITS])
def test_a_slot_value_edit_regenerates_exactly_the_fills_that_used_it(ws, session, what, edit, regenerated,
                                                                        retired, asked):
    a = FakeLLM().start()
    try:
        v1 = _write(ws)
        asyncio.run(Run(ws, v1, session=session, model=a.model, api_base=a.base_url).execute())
        samples = {_key(s): s for s in session.iter_samples()}
        session.reject(samples["weather/4"]["id"])
        session.accept(samples["speed/4"]["id"])
        text2 = edit(parse_template(v1.text, v1.path))
        v2 = _write(ws, text=text2)
        session.save_template_version(v2.name, v2.text)
        a.reset()

        plan = plan_regeneration(session, v2)
        assert "not renderable" not in plan.describe() and not plan.unbuildable
        assert (len(plan.changed), len(plan.retired)) == (regenerated, retired), plan.describe()
        for _, why in plan.retired:
            assert "n=" in why and "pair" not in why  # blames the slot that was edited, not another
        result = regenerate(ws, session, v2)  # no model, no api_base: the ones that made the samples
        assert a.count == regenerated  # nothing else is requested
        new = list(session.iter_samples(version=v2.version))
        assert {s["slots"]["n"] for s in new} == asked
        assert all("against climate" in p or "against velocity" in p for p in a.prompts())  # row fields kept
        for s in new:
            assert s["model"] == a.model and s["endpoint"] == a.base_url
        if regenerated:
            assert result.summary.done == regenerated
        # the old samples keep their decisions on the old version
        assert session.get(samples["weather/4"]["id"])["status"] == "rejected"
        assert session.get(samples["speed/4"]["id"])["template_version"] == v1.version
        # asking again requests nothing
        assert regenerate(ws, session, v2).summary is None and a.count == regenerated
    finally:
        a.stop()


def test_regeneration_uses_the_model_and_endpoint_of_each_sample_it_replaces(ws, session):
    a, b = FakeLLM().start(), FakeLLM(model="openai/other").start()
    try:
        v1 = _write(ws, n="[2, 3]")
        from studio.core.expand import expand

        fills = list(expand(v1))
        asyncio.run(Run(ws, v1, session=session, model=a.model, api_base=a.base_url, fills=fills[:2]).execute())
        asyncio.run(Run(ws, v1, session=session, model=b.model, api_base=b.base_url, fills=fills[2:]).execute())
        made_by = {s["fill_key"]: (s["model"], s["endpoint"], s["seed"]) for s in session.iter_samples()}
        v2 = _write(ws, text=v1.text.replace("Explain", "Contrast"))
        a.reset()
        b.reset()
        result = regenerate(ws, session, v2)
        assert (a.count, b.count) == (2, 2)
        assert {r.body["model"] for r in a.requests} == {"fake"} and {r.body["model"] for r in b.requests} == {"other"}
        for s in session.iter_samples(version=v2.version):
            assert (s["model"], s["endpoint"], s["seed"]) == made_by[s["fill_key"]]
        assert result.summary.done == 4
        # a model the person picks overrides them all
        v3 = _write(ws, text=v1.text.replace("Explain", "Compare"))
        a.reset()
        b.reset()
        regenerate(ws, session, v3, model=a.model, api_base=a.base_url)
        assert (a.count, b.count) == (4, 0)
    finally:
        a.stop()
        b.stop()


def test_a_file_value_no_longer_in_the_file_retires_its_fill_and_says_which(ws, session, fake_llm):
    v1 = _write(ws, n="[2]")
    asyncio.run(Run(ws, v1, session=session, model=fake_llm.model, api_base=fake_llm.base_url).execute())
    (ws.templates_dir / "data" / "pairs.csv").write_text("concept,contrast\nweather,season\n")
    v2 = _write(ws, text=v1.text.replace("Explain", "Contrast"))
    plan = plan_regeneration(session, v2)
    assert len(plan.changed) == 1 and len(plan.retired) == 1
    assert "pair='speed' is no longer in pairs.csv" in plan.retired[0][1]
    fake_llm.reset()
    regenerate(ws, session, v2)
    assert fake_llm.count == 1 and "against season" in fake_llm.prompts()[0]


def test_compare_never_defaults_to_a_version_that_cannot_render(ws, session):
    from studio.analysis.compare import compare_in_session

    v1 = _write(ws, n="[2]")
    v2 = _write(ws, text=v1.text.replace("Explain", "Contrast"))
    session.save_template_version(v1.name, v1.text)
    session.save_template_version(v2.name, v2.text)
    session.save_template_version(v1.name, v1.text.replace("{{ n }}", "{{ n "))  # saved before saving refused it
    cmp = compare_in_session(session, "contrast")
    assert (cmp.old, cmp.new) == (v1.version, v2.version) and (cmp.old_label, cmp.new_label) == ("v1", "v2")


def test_several_answers_per_prompt_are_regenerated_each_with_its_own_seed_and_index(ws, session, fake_llm):
    v1 = _write(ws, n="[2]")
    asyncio.run(Run(ws, v1, session=session, model=fake_llm.model, api_base=fake_llm.base_url, answers=2).execute())
    old = {(s["fill_key"], s["answer"]): s for s in session.iter_samples()}
    assert len(old) == 4
    v2 = _write(ws, text=v1.text.replace("Explain", "Contrast"))
    fake_llm.reset()
    regenerate(ws, session, v2)
    assert fake_llm.count == 4
    new = {(s["fill_key"], s["answer"]): s for s in session.iter_samples(version=v2.version)}
    assert set(new) == set(old)
    for key, s in new.items():
        assert s["seed"] == old[key]["seed"]


def test_a_data_file_edit_made_in_the_studio_is_followed_under_the_same_template_version(ws, session, fake_llm):
    from studio.analysis.regenerate import record_file_changes
    from studio.core.slot_files import delete_file_value, edit_file_value

    v1 = _write(ws, n="[2]")
    asyncio.run(Run(ws, v1, session=session, model=fake_llm.model, api_base=fake_llm.base_url).execute())
    edit = edit_file_value(v1, "pair", 0, "storm")          # weather -> storm (contrast kept: climate)
    edit.write()
    record_file_changes(session, v1.name, "pair", edit.changes)
    gone = delete_file_value(load_template(v1.path), "pair", 1)  # speed removed
    gone.write()
    record_file_changes(session, v1.name, "pair", gone.changes)
    fake_llm.reset()
    plan = plan_regeneration(session, load_template(v1.path))
    assert (len(plan.changed), len(plan.retired)) == (1, 1) and "pair='speed'" in plan.retired[0][1]
    regenerate(ws, session, load_template(v1.path))
    assert fake_llm.count == 1 and "Explain storm against climate" in fake_llm.prompts()[0]
    assert regenerate(ws, session, load_template(v1.path)).summary is None  # done once


def test_after_a_studio_data_edit_is_regenerated_the_replacements_are_not_counted_unchanged(ws, session, fake_llm):
    """A second plan counts the replaced sample as already regenerated, its replacement not as "unchanged kept"."""
    from studio.analysis.regenerate import record_file_changes
    from studio.core.slot_files import edit_file_value

    v1 = _write(ws, n="[2, 3]")
    asyncio.run(Run(ws, v1, session=session, model=fake_llm.model, api_base=fake_llm.base_url).execute())
    edit = edit_file_value(v1, "pair", 0, "storm")          # weather -> storm: 2 of the 4 fills change
    edit.write()
    record_file_changes(session, v1.name, "pair", edit.changes)
    first = plan_regeneration(session, load_template(v1.path))
    assert (len(first.changed), len(first.unchanged), len(first.done)) == (2, 2, 0)
    regenerate(ws, session, load_template(v1.path))
    again = plan_regeneration(session, load_template(v1.path))
    assert (len(again.changed), len(again.unchanged), len(again.done)) == (0, 2, 2)
