"""Regenerate only what changed: unchanged prompts keep their decisions and are not requested again."""

import asyncio

import pytest

from studio.analysis.compare import compare_in_session
from studio.analysis.regenerate import plan_regeneration, regenerate
from studio.core.errors import StudioError
from studio.core.template import load_template
from studio.runs.run import Run
from studio.core.workspace import Workspace

HEAD = """---
name: explain
mode: generate
slots:
  product: [router, phone, tablet]
  audience: [kids, experts]
combine:
  strategy: product
---
"""


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path).ensure()
    return w


def _write(ws, body):
    path = ws.templates_dir / "explain.prompt"
    path.write_text(HEAD + body)
    return load_template(path)


def test_only_changed_prompts_are_requested_and_decisions_are_kept(fake_llm, ws, session):
    v1 = _write(ws, "Explain the {{ product }} to {{ audience }}.\n")
    asyncio.run(Run(ws, v1, session=session, model=fake_llm.model, api_base=fake_llm.base_url).execute())
    assert fake_llm.count == 6
    old = {s["slots"]["product"] + "/" + s["slots"]["audience"]: s for s in session.iter_samples()}
    session.reject(old["router/kids"]["id"])
    session.reject(old["phone/kids"]["id"])
    session.accept(old["phone/experts"]["id"])
    session.accept(old["tablet/kids"]["id"])

    # the edit changes the prompt for the router only
    v2 = _write(ws, "Explain the {{ product }} to {{ audience }}."
                    "{% if product == 'router' %} Mention the reset button.{% endif %}\n")
    plan = plan_regeneration(session, v2, v1.version)
    assert (len(plan.changed), len(plan.unchanged), len(plan.redo)) == (2, 4, 0)
    assert {s["slots"]["product"] for s, _ in plan.changed} == {"router"}

    result = regenerate(ws, session, v2, v1.version, api_base=fake_llm.base_url)
    assert fake_llm.count == 8  # two new requests, nothing else
    assert all("reset button" in p for p in fake_llm.prompts()[6:])
    new = list(session.iter_samples(version=v2.version))
    assert len(new) == 2 and {s["fill_key"] for s in new} == {s["fill_key"] for s, _ in plan.changed}
    assert result.summary.done == 2
    # same fill, same seed: only the edit differs
    by_key = {s["fill_key"]: s for s in new}
    for s, _ in plan.changed:
        assert by_key[s["fill_key"]]["seed"] == s["seed"] and by_key[s["fill_key"]]["model"] == s["model"]
    # the person's decisions on the old samples are untouched
    assert session.get(old["phone/kids"]["id"])["status"] == "rejected"
    assert session.get(old["tablet/kids"]["id"])["status"] == "accepted"

    # the new version against the old on the same fills
    session.accept(by_key[old["router/kids"]["fill_key"]]["id"])
    cmp = compare_in_session(session, "explain")
    assert (cmp.old, cmp.new) == (v1.version, v2.version)
    assert cmp.pairs.fills == 2 and cmp.pairs.improved == 1
    assert any("reset button" in line for line in cmp.diff if line.startswith("+"))

    # regenerating again asks for nothing; redo brings the unchanged rejected sample back with a fresh seed
    assert regenerate(ws, session, v2, v1.version, api_base=fake_llm.base_url).summary is None
    redo = regenerate(ws, session, v2, v1.version, redo_rejected=True, api_base=fake_llm.base_url)
    assert [s["slots"]["product"] + "/" + s["slots"]["audience"] for s, _ in redo.plan.redo] == ["phone/kids"]
    assert fake_llm.count == 9
    [again] = [s for s in session.iter_samples(version=v2.version) if s["fill_key"] == old["phone/kids"]["fill_key"]]
    assert again["seed"] != old["phone/kids"]["seed"] and again["status"] == "pending"


def test_regenerating_the_current_version_or_an_unknown_one_is_refused(ws, session):
    v1 = _write(ws, "Explain the {{ product }}.\n")
    with pytest.raises(StudioError, match="is the template as it is now"):
        plan_regeneration(session, v1, v1.version)
    with pytest.raises(StudioError, match="has no samples"):
        plan_regeneration(session, v1, "0123456789ab")
