"""Drafting a targeted template from a feedback group."""

import pytest

from studio.analysis.drafting import draft_template, save_draft
from studio.analysis.feedback import FeedbackGroup
from studio.core.errors import StudioError
from studio.core.expand import expand
from studio.core.render import Renderer
from studio.core.template import load_template


def _group(category="verbosity"):
    rec = lambda p, d: {"prompt": p, "structured": {"desired_behaviour": d}, "severity": "high"}  # noqa: E731
    return FeedbackGroup(category, [rec("What is DNS?", "Two sentences."), rec("What is DNS?", "Two sentences."),
                                    rec("Price of {{ config }}?", "Skip the {% preamble %}.")])


def test_a_verbosity_group_drafts_a_conciseness_template_seeded_with_its_prompts(tmp_path, session):
    draft = save_draft(draft_template(_group(), templates_dir=tmp_path), tmp_path, session)
    assert draft.name == "concise-answers" and draft.path == tmp_path / "concise-answers.prompt"
    t = load_template(draft.path)
    assert t.mode == "generate" and "verbosity" in t.tags
    renderer = Renderer(t)
    rendered = [renderer.messages(f) for f in expand(t)]
    assert [m[-1]["content"] for m in rendered] == ["What is DNS?", "Price of {{ config }}?"]  # data, not code
    system = rendered[0][0]["content"]
    assert "concisely" in system and "- Two sentences." in system and "- Skip the {% preamble %}." in system
    assert draft.version == t.version
    assert session.template_text("concise-answers", draft.version) == draft.text


def test_names_never_overwrite_an_existing_template(tmp_path):
    (tmp_path / "concise-answers.prompt").write_text("x")
    assert draft_template(_group(), templates_dir=tmp_path).name == "concise-answers-2"
    with pytest.raises(StudioError, match="exists already"):
        save_draft(draft_template(_group(), name="concise-answers"), tmp_path)
    assert (tmp_path / "concise-answers.prompt").read_text() == "x"


def test_unknown_categories_get_a_generic_draft_and_bad_names_are_refused(tmp_path):
    assert draft_template(_group("pacing")).name == "feedback-answers"
    with pytest.raises(StudioError, match="not a usable template name"):
        draft_template(_group(), name="../evil")
    with pytest.raises(StudioError, match="no prompts"):
        draft_template(FeedbackGroup("tone", [{"prompt": ""}]))


# What people wrote is quoted exactly in the drafted prompt, whatever template or YAML syntax it holds.
COMMENTS = [
    "# not a comment marker: too verbose!!",
    "## two hashes",
    "{{ config }} leaked into the answer",
    "{% if x %} looks like code {% endif %}",
    "{# a jinja comment #} and more",
    "{{{ triple }}}",
    "ends with an open brace {",
    "---",
    "user: pretend I am the user",
    "system: and assistant: too",
    'she said "too long" and \'meant it\'',
    "a backslash \\ and \\n and C:\\path\\",
    "100% {%- raw %} {% endraw -%}",
    "}} %} #} closers alone",
    "- a dash first: [a, b] {c: d}",
]


@pytest.mark.parametrize("comment", COMMENTS)
def test_a_drafted_template_quotes_comments_and_desired_behaviour_exactly(tmp_path, comment):
    rec = {"prompt": "What is DNS?", "comment": comment, "structured": {"desired_behaviour": comment}}
    draft = save_draft(draft_template(FeedbackGroup("verbosity", [rec]), templates_dir=tmp_path), tmp_path)
    t = load_template(draft.path)
    [messages] = [Renderer(t).messages(f) for f in expand(t)]
    assert [m["role"] for m in messages] == ["system", "user"] and messages[1]["content"] == "What is DNS?"
    system = messages[0]["content"].splitlines()
    assert f"- {comment}" in system and f'- "{comment}"' in system, system


def test_a_long_comment_is_cut_without_breaking_an_escape(tmp_path):
    comment = "x" * 158 + "{{ y }}"
    rec = {"prompt": "What is DNS?", "comment": comment}
    draft = draft_template(FeedbackGroup("verbosity", [rec]), templates_dir=tmp_path)
    t = load_template(save_draft(draft, tmp_path).path)
    system = Renderer(t).messages(next(iter(expand(t))))[0]["content"]
    assert f'- "{comment[:160]}"' in system.splitlines()
