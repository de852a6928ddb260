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
