"""A render preview (a generate template run with the `render` model: its prompt, no answer) never stands in for
a model's answer (issue 16 §3/§4): not as the sample a regeneration replaces, nor the model it uses, nor as
"already regenerated", nor in --compare, nor as the session's remembered model. The real `studio` command,
the fake OpenAI-compatible server, real session files."""

from __future__ import annotations

import json

import pytest

from studio.store import Store

CP2 = """---
name: cp2
mode: generate
slots:
  topic: [cats, dogs, fish]
combine:
  strategy: product
---
user: Tell me about {{ topic }}.
"""


@pytest.fixture
def studio(monkeypatch, capsys, tmp_path):
    from studio.cli.main import main

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.delenv("STUDIO_MODEL", raising=False)
    (tmp_path / "templates").mkdir(exist_ok=True)

    def call(*args, code: int = 0):
        capsys.readouterr()
        got = main(list(args))
        out, err = capsys.readouterr()
        assert got == code, err
        return out
    return call


def _template(home, old="fish", new="fish"):
    (home / "templates" / "cp2.prompt").write_text(CP2.replace(old, new), encoding="utf-8")


def _samples(home):
    session = Store(home / "sessions").open("r1", read_only=True)
    try:
        return [session.get(i) for i in session.ids()]
    finally:
        session.close()


def _real(studio, fake):
    studio("run", "cp2", "--model", fake.model, "--api-base", fake.base_url, "--session", "r1", "--no-cache")


def _previews(studio, fake):
    studio("run", "cp2", "--model", "render", "--session", "r1")


def _edit(home):
    _template(home, "fish", "goldfish")


# each history: the steps before `studio regenerate`, run in order
HISTORIES = {
    "answers, then previews, then the edit": [_real, _previews, "edit"],
    "previews, then answers, then the edit": [_previews, _real, "edit"],
    "answers, previews, the edit, then a preview of the new version": [_real, _previews, "edit", _previews],
    "answers, the edit, then a preview of the new version": [_real, "edit", _previews],
}


@pytest.mark.parametrize("history", list(HISTORIES))
def test_regenerate_redoes_the_answer_of_the_changed_fill_never_a_preview(studio, tmp_path, fake_llm, history):
    _template(tmp_path)
    for step in HISTORIES[history]:
        _edit(tmp_path) if step == "edit" else step(studio, fake_llm)
    dry = json.loads(studio("regenerate", "cp2", "--session", "r1", "--dry-run", "--json"))
    assert (dry["changed"], dry["done"]) == (1, 0), dry
    fake_llm.reset()
    before = {s["id"] for s in _samples(tmp_path)}
    studio("regenerate", "cp2", "--session", "r1")
    assert fake_llm.count == 1 and "goldfish" in fake_llm.prompts()[0]
    new = [s for s in _samples(tmp_path) if s["id"] not in before]
    assert len(new) == 1, new
    assert new[0]["model"] == fake_llm.model and new[0]["endpoint"] == fake_llm.base_url
    assert new[0]["flag"] != "preview" and new[0]["slots"] == {"topic": "goldfish"}
    # now it is done: from v1 or from every older version, nothing is left to ask for
    for extra in ([], ["--from", "v1"]):
        again = json.loads(studio("regenerate", "cp2", "--session", "r1", "--dry-run", "--json", *extra))
        assert again["changed"] == 0 and again["done"] == 1, again
    # the fixed row is in the export (previews are not)
    out = tmp_path / "out"
    studio("export", "r1", "--format", "sft", "--status", "pending", "--no-dedup", "--val-fraction", "0",
           "-o", str(out))
    text = "".join(f.read_text(encoding="utf-8") for f in out.glob("*.jsonl"))
    assert "goldfish" in text


def test_a_fill_that_only_has_previews_is_previewed_again_with_render(studio, tmp_path, fake_llm):
    _template(tmp_path)
    _previews(studio, fake_llm)
    _edit(tmp_path)
    studio("regenerate", "cp2", "--session", "r1")
    assert fake_llm.count == 0
    new = [s for s in _samples(tmp_path) if s["slots"] == {"topic": "goldfish"}]
    assert len(new) == 1 and new[0]["model"] == "render" and new[0]["flag"] == "preview"
    again = json.loads(studio("regenerate", "cp2", "--session", "r1", "--dry-run", "--json"))
    assert again["changed"] == 0 and again["done"] == 1, again


def test_compare_leaves_previews_out(studio, tmp_path, fake_llm):
    """--compare pairs each fill's answers across versions; a later preview does not stand for the fill."""
    _template(tmp_path)
    _real(studio, fake_llm)
    _template(tmp_path, "Tell me about", "Tell me all about")   # every prompt changes, the fills stay
    studio("regenerate", "cp2", "--session", "r1")
    session = Store(tmp_path / "sessions").open("r1")
    for s in (session.get(i) for i in session.ids()):   # v1 rejected, v2 accepted: 3 fills improved
        session.set_status(s["id"], "accepted" if "all about" in s["messages"][-1]["content"] else "rejected")
    session.close()
    _previews(studio, fake_llm)   # previews of the new version, after its answers
    out = json.loads(studio("report", "r1", "--compare", "cp2", "--json"))
    assert out["pairs"]["fills"] == 3 and out["pairs"]["improved"] == 3, out["pairs"]
    assert out["new_counts"]["pending"] == 0 if "pending" in out["new_counts"] else True, out["new_counts"]


def test_a_preview_run_is_never_remembered_as_the_session_model(studio, tmp_path, fake_llm, monkeypatch):
    """Issue 16 defect: after `--model render`, a plain `studio run` made previews. It keeps the last real model."""
    monkeypatch.setenv("OPENAI_API_BASE", fake_llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    _template(tmp_path)
    _real(studio, fake_llm)
    _previews(studio, fake_llm)
    (tmp_path / "templates" / "other.prompt").write_text(CP2.replace("cp2", "other"), encoding="utf-8")
    fake_llm.reset()
    studio("run", "other", "--session", "r1", "-n", "2", "--no-cache")   # no --model: the session's
    made = [s for s in _samples(tmp_path) if s["template"] == "other"]
    assert len(made) == 2 and fake_llm.count == 2
    assert {s["model"] for s in made} == {fake_llm.model} and not any(s["flag"] for s in made)
    session = Store(tmp_path / "sessions").open("r1", read_only=True)
    assert session.meta["model"] == fake_llm.model
    session.close()


def test_a_session_that_remembered_render_has_no_model():
    """Sessions written before the fix may hold model=render: it is not taken as the session's model."""
    from studio.engine import default_model

    assert default_model("render") == default_model(None)
    assert default_model("openai/x") == "openai/x"


def test_a_preview_is_no_answer_to_pair(studio, tmp_path, fake_llm):
    """The pair view's answers to a prompt and a pair judgement never take a preview of the same prompt."""
    from studio.store.errors import StoreError

    _template(tmp_path)
    _real(studio, fake_llm)
    _previews(studio, fake_llm)
    session = Store(tmp_path / "sessions").open("r1")
    try:
        by = {(s["slots"]["topic"], s["flag"]): s for s in (session.get(i) for i in session.ids())}
        answer, preview = by[("cats", None)], by[("cats", "preview")]
        assert answer["prompt_hash"] == preview["prompt_hash"]
        assert session.answers(answer["prompt_hash"]) == [answer["id"]]
        with pytest.raises(StoreError, match="preview"):
            session.judge_pair(answer["id"], preview["id"])
        assert session.judgements() == []
    finally:
        session.close()


def test_a_plain_run_goes_where_the_sessions_model_ran_before(studio, tmp_path, fake_llm, monkeypatch):
    """`studio run --model M --api-base URL`, then `studio run` naming neither: M is asked at URL again (it went
    to the provider's default URL: a tryout's helper saw it leave the machine), and --api-base given anew wins."""
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    _template(tmp_path)
    _real(studio, fake_llm)
    session = Store(tmp_path / "sessions").open("r1", read_only=True)
    assert (session.meta["model"], session.meta["api_base"]) == (fake_llm.model, fake_llm.base_url)
    session.close()
    (tmp_path / "templates" / "other.prompt").write_text(CP2.replace("cp2", "other"), encoding="utf-8")
    fake_llm.reset()
    studio("run", "other", "--session", "r1", "-n", "2", "--no-cache")
    made = [s for s in _samples(tmp_path) if s["template"] == "other"]
    assert fake_llm.count == 2 and len(made) == 2 and {s["endpoint"] for s in made} == {fake_llm.base_url}
