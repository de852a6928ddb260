"""Feedback as people really give it: comment-only rows in every common shape, ratings as polarity, repeated
comments counted, re-imports idempotent, the offline rules measured on held-out labels, restructuring with
another model, corrections by hand, and drafts that draw their prompts from somewhere real."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from studio.analysis.drafting import draft_template, save_draft
from studio.analysis.feedback import (HAND, RULES, STRUCTURED, UNSTRUCTURED, correct, find_group, group_feedback,
                                      import_feedback, read_feedback, restructure, structure)
from studio.analysis.signals import CATEGORIES, classify
from studio.core.errors import StudioError
from studio.core.expand import expand
from studio.core.template import load_template

DATA = Path(__file__).parent / "data"


def labelled(split: str) -> list[dict]:
    return [json.loads(x) for x in (DATA / f"feedback_{split}.jsonl").read_text().splitlines()]


# -- shapes of feedback files ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, text, expect", [
    ("appstore.csv",                                 # App Store Connect-like export: title + review + stars
     "Title,Review,Rating,Date,Nickname\n"
     "Too long,\"Every answer is an essay, please shorter\",2,2026-01-03,ann\n"
     "Love it,Best app ever,5,2026-01-04,bob\n",
     [("Too long. Every answer is an essay, please shorter", 2, "2026-01-03"), ("Love it. Best app ever", 5, "2026-01-04")]),
    ("play.csv",                                     # Google Play-like columns
     "Review Submit Date and Time,Star Rating,Review Text\n2026-02-01T10:00:00Z,1,keeps crashing\n",
     [("keeps crashing", 1, "2026-02-01T10:00:00Z")]),
    ("thumbs.jsonl",                                 # thumbs-down notes from the product, no prompt
     '{"thumbs": "down", "note": "made up a citation"}\n{"thumbs": "up"}\n',
     [("made up a citation", "down", ""), ("", "up", "")]),
    ("tickets.json",                                 # a help desk's JSON list with its own ids
     '[{"ticket_id": 9001, "subject": "Will not help", "description": "it refused to write a love letter"}]',
     [("Will not help. it refused to write a love letter", None, "")]),
    ("notes.txt",                                    # a plain text file, one comment a line
     "too wordy\n\n  biased!!  \nrating: 5 stars\n",
     [("too wordy", None, ""), ("biased!!", None, ""), ("rating: 5 stars", None, "")]),
    ("stars.csv", "comment,rating\nnice,★★★★☆\nmeh,3/5\nbad,2 stars\ngreat,9/10\n",
     [("nice", 4, ""), ("meh", 3, ""), ("bad", 2, ""), ("great", 4.5, "")]),
])
def test_comment_only_feedback_in_every_common_shape_is_read(tmp_path, name, text, expect):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    parsed = read_feedback(f)
    assert parsed.problems == []
    assert [(r["comment"], r["rating"], r["date"]) for r in parsed.rows] == expect


def test_rows_are_keyed_by_file_and_line_or_their_own_id(tmp_path):
    f = tmp_path / "t.json"
    f.write_text('[{"id": "a1", "comment": "x"}, {"comment": "y"}]')
    assert [r["key"] for r in read_feedback(f).rows] == ["t.json#a1", "t.json:2"]


def test_identical_comments_are_counted_and_a_reimport_adds_nothing(session, tmp_path):
    f = tmp_path / "reviews.csv"
    f.write_text("review,stars\nway too long\nway too long\nWay too  long,1\nbiased,2\n")
    first = import_feedback(session, f)
    assert len(first.added) == 4 and first.duplicates == 0 and first.problems == []
    again = import_feedback(session, f)
    assert again.added == [] and again.duplicates == 4
    [verbosity] = [g for g in group_feedback(session.feedback()) if g.category == "verbosity"]
    assert verbosity.count == 3 and verbosity.said() == [("way too long", 3)]
    f.write_text(f.read_text() + "way too long,1\n")                  # one more person said it
    assert len(import_feedback(session, f).added) == 1
    assert find_group(session.feedback(), "verbosity").count == 4


@pytest.mark.parametrize("comment, rating, category, polarity", [
    ("Love it, best assistant ever", 5, "praise", "positive"),
    ("Love it, best assistant ever", None, "praise", "positive"),
    ("amazing", "up", "praise", "positive"),
    ("Great app but the answers are way too long", 4, "verbosity", "mixed"),
    ("biased!!", 1, "one-sidedness", "negative"),
    ("biased!!", None, "one-sidedness", "negative"),
    ("", 5, None, "positive"),
    ("", "down", None, "negative"),
    ("ok", 3, "other", "neutral"),
])
def test_the_rating_gives_the_polarity_and_praise_is_praise(comment, rating, category, polarity):
    [rec] = structure([{"comment": comment, "rating": rating}])
    assert (rec["category"], rec["polarity"]) == (category, polarity)
    if comment:
        assert rec["structured_by"] == RULES and rec["structured"]["desired_behaviour"] is not None


# -- the offline path, measured -----------------------------------------------------------------------------

def test_the_labelled_set_is_big_varied_and_split_in_halves():
    tune, held = labelled("tune"), labelled("heldout")
    assert len(tune) + len(held) >= 200 and abs(len(tune) - len(held)) < 20
    assert not {r["comment"] for r in tune} & {r["comment"] for r in held}
    for part in (tune, held):
        assert {r["category"] for r in part} == set(CATEGORIES)            # every category in both halves
    assert all(r["category"] in CATEGORIES and r["polarity"] for r in tune + held)


def test_the_offline_rules_on_the_held_out_half():
    """The README's figure: rules were written against the tune half only."""
    held = labelled("heldout")
    got = [classify(r["comment"], r["rating"]) for r in held]
    category = sum(g.category == r["category"] for g, r in zip(got, held)) / len(held)
    polarity = sum(g.polarity == r["polarity"] for g, r in zip(got, held)) / len(held)
    assert category >= 0.85 and polarity >= 0.9, (category, polarity)


def test_two_hundred_app_reviews_import_completely_offline_and_group_by_what_was_asked(session, tmp_path):
    rows = labelled("tune") + labelled("heldout")
    f = tmp_path / "reviews.csv"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["review_id", "Review Text", "Star Rating", "Date"])
        for r in rows:
            w.writerow([r["id"], r["comment"], "" if r["rating"] is None else r["rating"], "2026-03-01"])
    result = import_feedback(session, f)                               # no model: the rules
    assert result.problems == [] and len(result.added) == len(rows) >= 200
    assert result.by == {RULES: len(rows) - result.status.get(UNSTRUCTURED, 0),
                         **({"-": result.status[UNSTRUCTURED]} if result.status.get(UNSTRUCTURED) else {})}
    groups = {g.category: g for g in group_feedback(session.feedback())}
    assert groups["praise"].polarity.get("positive", 0) >= 30 and not groups["praise"].polarity.get("negative")
    for category in ("verbosity", "correctness", "refusal", "one-sidedness", "safety"):
        truth = sum(r["category"] == category for r in rows)
        assert abs(groups[category].count - truth) <= max(3, truth // 5), (category, groups[category].count, truth)
        assert groups[category].polarity.get("negative", 0) > groups[category].count / 2


# -- again, by hand, and with another model ----------------------------------------------------------------

def test_unstructured_feedback_is_structured_again_with_another_model_and_hand_corrections_stay(
        session, tmp_path, fake_llm):
    from tests.analysis.conftest import structuring_reply

    fake_llm.set(reply=structuring_reply)
    f = tmp_path / "notes.txt"
    f.write_text("qwerty uiop\nasdf ghjk rude\nway too long\n")
    import_feedback(session, f)
    stored = {r["comment"]: r for r in session.feedback()}
    assert stored["qwerty uiop"]["status"] == UNSTRUCTURED and "restructure" in stored["qwerty uiop"]["error"]
    corrected = correct(session, stored["way too long"]["id"], "depth")          # a person disagrees
    assert corrected["structured_by"] == HAND and corrected["was"] == {"category": "verbosity", "by": RULES}
    done = restructure(session, model=fake_llm.model, api_base=fake_llm.base_url, cache_dir=tmp_path / "c")
    assert done == {STRUCTURED: 1} and fake_llm.count == 1                   # only the unstructured one
    after = {r["comment"]: r for r in session.feedback()}
    assert after["qwerty uiop"]["structured_by"] == "model:openai/fake" and after["qwerty uiop"]["category"]
    everything = restructure(session, model=fake_llm.model, api_base=fake_llm.base_url, everything=True,
                             cache_dir=tmp_path / "c")
    assert sum(everything.values()) == 2                                     # never the hand-corrected one
    final = {r["comment"]: r for r in session.feedback()}
    assert final["way too long"]["category"] == "depth" and final["way too long"]["structured_by"] == HAND
    assert final["asdf ghjk rude"]["category"] == "tone"
    with pytest.raises(StudioError, match="unknown feedback category 'wordy'"):
        correct(session, final["way too long"]["id"], "wordy")


# -- drafts from feedback without prompts ------------------------------------------------------------------

def _samples(session, n=4):
    return session.add_samples([{"template": "support", "template_version": "v1", "fill_key": f"k{i}",
                                 "status": "rejected" if i % 2 else "accepted", "output": "a long answer",
                                 "messages": [{"role": "system", "content": "Be helpful."},
                                              {"role": "user", "content": f"How do I reset router {i}?"}]}
                                for i in range(n)])


def test_a_draft_from_comment_only_feedback_draws_prompts_from_the_session(session, tmp_path):
    _samples(session)
    f = tmp_path / "r.txt"
    f.write_text("way too wordy\nstop writing essays, too long\n")
    import_feedback(session, f)
    group = find_group(session.feedback(), "verbosity")
    draft = save_draft(draft_template(group, templates_dir=tmp_path, session=session), tmp_path, session)
    t = load_template(draft.path)
    prompts = [fill.values["request"] for fill in expand(t)]
    assert sorted(prompts) == sorted(f"How do I reset router {i}?" for i in range(4)) and len(prompts) > 1
    assert draft.source == "the session's samples" and "concisely" in draft.text
    assert '"way too wordy"' in draft.text                                     # what people said, as data


def test_a_draft_takes_the_samples_the_feedback_points_at_or_the_prompts_given(session, tmp_path):
    ids = _samples(session)
    f = tmp_path / "thumbs.jsonl"
    f.write_text(json.dumps({"sample_id": ids[1], "thumbs": "down", "note": "too long"}) + "\n"
                 + json.dumps({"sample": str(ids[3]), "thumbs": "down", "note": "rambles"}) + "\n")
    import_feedback(session, f)
    group = find_group(session.feedback(), "verbosity")
    draft = draft_template(group, session=session, prompts=["Explain DNS.", "Explain DNS."])
    t_prompts = [fill.values["request"] for fill in expand(load_template(_save(draft, tmp_path)))]
    assert t_prompts == ["How do I reset router 1?", "How do I reset router 3?", "Explain DNS."]
    assert draft.source == "the samples the feedback points at and the prompts given"


def _save(draft, folder):
    path = folder / f"{draft.name}.prompt"
    path.write_text(draft.text)
    return path


def test_no_prompts_anywhere_is_an_error_never_a_placeholder(session, tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("way too wordy\n")
    import_feedback(session, f)
    with pytest.raises(StudioError, match="no prompts to seed") as e:
        draft_template(find_group(session.feedback(), "verbosity"), session=session)
    assert "--prompts FILE" in str(e.value)
    praise = tmp_path / "p.txt"
    praise.write_text("love it, amazing\n")
    import_feedback(session, praise)
    with pytest.raises(StudioError, match="no template to draft from 'praise'"):
        draft_template(find_group(session.feedback(), "praise"), session=session, prompts=["x"])
