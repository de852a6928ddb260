"""Explicit pair judgements (A preferred over B, made side by side) in the preference exports: used as they are,
first, whatever the two samples' statuses; a status cannot hold A > B and B > C, a judgement can."""

from __future__ import annotations

import json

import pytest

from studio.export import ExportOptions, plan_export
from studio.store import Store, StoreError
from tests.export.conftest import prose, sample


@pytest.fixture
def session(tmp_path):
    s = Store(tmp_path / "sessions").create("pairs")
    # three answers to prompt 1 (pending, pending, rejected), one accepted + one rejected answer to prompt 2
    s.add_samples([sample(1, prompt=1, status="pending"), sample(2, prompt=1, status="pending"),
                   sample(3, prompt=1, status="rejected"), sample(4, prompt=2, status="accepted"),
                   sample(5, prompt=2, status="rejected"), sample(6, prompt=3, status="accepted")])
    yield s
    s.close()


@pytest.mark.parametrize("fmt", ["preference", "openai-preference"])
def test_judged_pairs_come_first_and_as_they_are(session, fmt):
    session.judge_pair(1, 2)   # A > B
    session.judge_pair(2, 3)   # B > C: B is both chosen and rejected, which no status can say
    plan = plan_export(session, ExportOptions(format=fmt, dedup=False, val_fraction=0))
    ids = plan.ids
    assert (1, 2) in ids and (2, 3) in ids and (4, 5) in ids   # judged (pending ones too), then inferred
    assert plan.stats["pair_sources"] == {"decisions": 1, "judgement": 2}
    rows = [json.loads(line) for line in plan.lines]
    chosen = rows[ids.index((1, 2))]
    text = json.dumps(chosen)
    assert prose(1) in text and prose(2) in text
    if fmt == "preference":
        assert chosen["chosen"][-1]["content"] == prose(1) and chosen["rejected"][-1]["content"] == prose(2)


def test_judging_again_replaces_and_withdrawing_removes(session):
    first = session.judge_pair(1, 2)
    assert session.judge_pair(2, 1) == first  # the same two, the other way round: replaced
    assert [(j["chosen"], j["rejected"]) for j in session.judgements()] == [(2, 1)]
    session.withdraw_judgement(first)
    assert session.judgements() == []
    plan = plan_export(session, ExportOptions(format="preference", dedup=False, val_fraction=0))
    assert plan.ids == [(4, 5)]


def test_a_judgement_survives_reopening_and_a_wrong_pair_is_refused(tmp_path, session):
    session.judge_pair(3, 1)
    with pytest.raises(StoreError, match="different prompts"):
        session.judge_pair(1, 4)
    with pytest.raises(StoreError, match="itself"):
        session.judge_pair(1, 1)
    assert session.answers(session.get(1)["prompt_hash"]) == [1, 2, 3]
    session.close()
    with Store(tmp_path / "sessions").open("pairs") as again:
        assert [(j["chosen"], j["rejected"]) for j in again.judgements()] == [(3, 1)]


def test_each_side_is_checked_once_by_the_clean_stage_as_the_role_it_plays(tmp_path):
    """A rejected answer that repeats its prompt is a fair rejected side but no chosen side; a contrast sample
    whose chosen side holds a section label gives no pair. One table, both kinds of pair."""
    s = Store(tmp_path / "sessions").create("roles")
    echo = sample(7, prompt=7, status="rejected")
    echo["output"] = echo["messages"][-1]["content"]                      # the prompt again
    contrast = sample(9, template="contrast-explain", status="accepted", mode="structured",
                      parsed={"chosen": "user:\nHi", "rejected": "Latency is slow internet."})
    ids = s.add_samples([sample(6, prompt=7, status="accepted"), echo, sample(8, prompt=7, status="rejected"),
                         contrast])
    s.judge_pair(ids[1], ids[2])     # the echo as the chosen side: not a valid conversation to learn from
    plan = plan_export(s, ExportOptions(format="preference", dedup=False, val_fraction=0))
    assert plan.ids == [(ids[0], ids[1]), (ids[0], ids[2])]        # the echo as a rejected side is fine
    assert plan.stats["pair_sources"] == {"decisions": 2}          # the judged pair is not kept
    assert {r.id: r.reason for r in plan.removed} == {ids[3]: "section label in text"}
    s.close()


@pytest.mark.parametrize("fmt", ["preference", "openai-preference"])
@pytest.mark.parametrize("source", ["judgement", "decisions"])
def test_a_pair_of_the_same_answer_twice_is_left_out_and_said(tmp_path, fmt, source):
    """Two identical answers (up to spaces) judged one over the other, or accepted and rejected: not a pair."""
    s = Store(tmp_path / "sessions").create("same")
    same = prose(7)
    s.add_samples([sample(1, prompt=1, status="accepted" if source == "decisions" else "pending", output=same),
                   sample(2, prompt=1, status="rejected" if source == "decisions" else "pending",
                          output="  " + same.replace(" ", "  ") + "\n"),
                   sample(4, prompt=2, status="accepted"), sample(5, prompt=2, status="rejected")])
    a, b, c, d = s.ids()
    if source == "judgement":
        s.judge_pair(a, b)
    plan = plan_export(s, ExportOptions(format=fmt, dedup=False, val_fraction=0))
    assert plan.ids == [(c, d)]                                   # the other prompt's pair is kept
    assert plan.removed_counts().get("same answer on both sides") == 2
    s.close()
