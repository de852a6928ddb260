"""Failure attribution: a planted cause is found, chance is not, and a handful of samples never flags."""

import random

from studio.analysis.attribution import analyse
from tests.analysis.oracle_attribution import oracle_analyse
from studio.analysis.stats import fisher_greater, holm, sign_test_greater
from tests.analysis.planted import sample, session_evenly_spread, session_with_bad_value


def test_one_slot_value_causing_most_rejections_is_flagged():
    report = analyse(session_with_bad_value(bad="e-bike"))
    flags = report.template("support").flags
    assert flags, "the planted cause must be flagged"
    assert {(f.dimension, f.value) for f in flags} == {("slot.product", "e-bike")}
    rejected = next(f for f in flags if f.metric == "rejected")
    assert rejected.share > 0.5 and rejected.rate > 0.5 and rejected.rest_rate < 0.15
    assert rejected.p_adjusted < 0.01
    assert "slot.product=e-bike makes" in rejected.describe()


def test_evenly_spread_rejections_flag_nothing():
    for seed in range(20):
        report = analyse(session_evenly_spread(seed=seed))
        assert report.flags == [], (seed, [f.describe() for f in report.flags])
        assert report.template("support").tests > 50  # it did test, and the correction held


def test_a_handful_of_samples_is_never_flagged():
    rng = random.Random(3)
    samples = [sample(rng, i, product="router") for i in range(200)]
    samples += [sample(rng, 200 + i, product="drone", status="rejected", tags=["wrong"]) for i in range(6)]
    report = analyse(samples)
    assert report.flags == []
    drone = next(v for v in report.template("support").values["slot.product"] if v.value == "drone")
    assert drone.counts.rejected == 6 and drone.counts.accept_rate == 0.0  # shown, just not flagged


def test_a_persona_attribute_making_most_unsafe_tags_is_flagged_with_its_share():
    rng = random.Random(5)
    samples = []
    for i in range(900):
        s = sample(rng, i)
        unsafe = rng.random() < (0.45 if s["persona"]["age_band"] == "teen" else 0.04)
        if unsafe:
            s["status"], s["tags"] = "rejected", ["unsafe"]
        samples.append(s)
    flags = analyse(samples).template("support").flags
    tag = next(f for f in flags if f.metric == "tag:unsafe")
    assert (tag.dimension, tag.value) == ("persona.age_band", "teen")
    assert tag.share > 0.7
    assert {f.dimension for f in flags} == {"persona.age_band"}


def test_per_version_counts_accept_rate_tags_and_cost_per_accepted_sample():
    rng = random.Random(0)
    samples = [sample(rng, i, version="v1", cost=0.01) for i in range(3)]
    samples += [sample(rng, 3, version="v1", status="rejected", tags=["wordy", "wrong"], cost=0.01)]
    samples += [{**sample(rng, 4, version="v2", status="failed", cost=None), "attempts": 1}]   # billed, unpriced
    samples += [sample(rng, 5, version="v2", status="pending", cost=0.02)]
    t = analyse(samples).template("support")
    v1, v2 = t.versions["v1"], t.versions["v2"]
    assert (v1.samples, v1.accepted, v1.rejected, v1.reviewed) == (4, 3, 1, 4)
    assert v1.accept_rate == 0.75 and v1.tags == {"wordy": 1, "wrong": 1}
    assert abs(v1.cost_per_accepted - 0.04 / 3) < 1e-12  # rejected samples cost money too
    assert v2.accept_rate is None and v2.pending == 1 and v2.failed == 1
    assert v2.cost_per_accepted is None  # nothing accepted, and one cost unknown: never a made-up number
    assert t.counts.samples == 6 and t.counts.cost_unknown == 1 and t.counts.cost_per_accepted is None
    # the same failure with no paid call cost nothing (core.cost): known, $0
    samples[4]["attempts"] = 0
    v2 = analyse(samples).templates[0].versions["v2"]
    assert (v2.cost_unknown, v2.cost) == (0, 0.02)


def test_render_mode_costs_nothing_rather_than_unknown():
    rng = random.Random(0)
    s = sample(rng, 0, cost=None)
    s["model"] = "render"
    assert analyse([s]).total.cost_per_accepted == 0.0


def test_the_report_serialises_to_plain_data():
    import json

    d = analyse(session_with_bad_value()).to_dict()
    json.dumps(d)
    assert d["templates"][0]["flags"][0]["value"] == "e-bike"


def test_fisher_exact_matches_the_hypergeometric_tail():
    assert abs(fisher_greater(3, 3, 0, 3) - 0.05) < 1e-12  # 1 / C(6,3)
    assert abs(fisher_greater(0, 10, 5, 10) - 1.0) < 1e-9


def test_holm_adjusts_step_down_and_keeps_order():
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]


def test_sign_test():
    assert abs(sign_test_greater(5, 0) - 1 / 32) < 1e-12
    assert sign_test_greater(0, 0) == 1.0


def test_odd_records_are_counted_without_crashing():
    rng = random.Random(0)
    odd = [sample(rng, i) for i in range(4)]
    odd[0]["slots"] = None
    odd[1]["persona"] = "just text"
    odd[2]["persona"]["langs"] = ["en", "fr"]  # a list is not a category
    odd[3]["slots"]["n"] = 3  # numbers group by their text
    del odd[3]["template"]
    report = analyse(odd)
    assert report.to_dict() == oracle_analyse(odd).to_dict()
    assert report.total.samples == 4 and {t.name for t in report.templates} == {"support", "?"}
    assert "persona.langs" not in report.template("support").values
    assert [v.value for v in report.template("?").values["slot.n"]] == ["3"]


def test_streaming_in_small_batches_gives_the_same_report(monkeypatch):
    import studio.analysis.attribution as attribution

    samples = session_with_bad_value(n=300)
    whole = analyse(samples).to_dict()
    monkeypatch.setattr(attribution, "BATCH", 7)
    assert analyse(iter(samples)).to_dict() == whole == oracle_analyse(samples).to_dict()


def test_analysing_a_store_session_gives_the_report_of_its_whole_samples(session):
    from studio.analysis.attribution import analyse_session

    records = session_with_bad_value(n=400)
    records[0].update(cost=None, model="render")              # render mode: read whole for its model
    records[1].update(cost=None)                              # unpriced: unknown
    records[2]["tags"] = ["wrong", "tone"]
    session.add_samples(records[:300])
    session.compact()                                         # some samples in the file, some in memory
    session.add_samples(records[300:])
    report = analyse_session(session)
    assert report.to_dict() == oracle_analyse(session.iter_samples()).to_dict()
    assert report.total.samples == 400 and report.total.cost_unknown == 1
    assert [f.value for f in report.flags][:1] == ["e-bike"]
    assert analyse_session(session, template="support").to_dict() == report.to_dict()


def _same(report) -> dict:
    """A report as plain data; flags with equal p-values and shares may come in either order."""
    d = report.to_dict()
    for t in d["templates"]:
        t["flags"].sort(key=lambda f: (f["dimension"], f["value"], f["metric"]))
    return d


def test_the_index_counted_report_equals_the_one_over_whole_samples(tmp_path, monkeypatch):
    import studio.analysis.attribution as attribution
    from studio.analysis.attribution import analyse_session
    from studio.analysis.verify import FOLLOWUP, agreement, verified_samples
    from studio.store import Store

    rng = random.Random(11)
    records = []
    for i in range(900):
        t = ("support", "billing", "")[i % 3]                # "" is counted as template "?"
        s = sample(rng, i, template=t, version=f"{i % 2:012x}", status=rng.choice(
            ["accepted", "accepted", "rejected", "failed", "pending"]), cost=rng.choice([0.002, 0.0001, None]))
        s["persona"]["level"] = i % 4                        # not text: counted as "0".."3"
        if s["status"] == "rejected":
            s["tags"] = rng.sample(["wrong", "unsafe", "tone"], rng.randint(1, 2))
        if i % 10 == 0:
            s.update(cost=None, model="render")             # render mode costs nothing, not unknown
        if i % 17 == 0:
            s["persona"] = None
        if i % 13 == 0:
            s["followups"] = {FOLLOWUP: {"verdict": rng.choice(["correct", "incorrect", "unsure"])}}
        if rng.random() < 0.5 and s["slots"]["product"] == "e-bike":
            s["status"], s["tags"] = "rejected", ["unsafe"]
        records.append(s)
    root = tmp_path / "sessions"
    with Store(root).create("mixed") as session:
        session.add_samples(records[:600])
        session.compact()                                    # some in the file, some in the journal
        session.add_samples(records[600:])
        session.toggle_tag(5, "tone")                        # changes after the fact reach the index
        session.set_status(6, "failed")
        session.update_sample(7, followups={FOLLOWUP: {"verdict": "correct"}})
    with Store(root).open("mixed", read_only=True) as session:   # index loaded from NAME.index
        whole = list(session.iter_samples())
        monkeypatch.setattr(attribution, "BATCH", 128)       # several batches: cost sums in the same order
        report = analyse_session(session)
        assert _same(report) == _same(oracle_analyse(whole))
        assert _same(analyse(whole)) == _same(report)        # dicts and the index: one counting path
        assert report.total.samples == 900 and report.total.cost_unknown > 0 and report.total.failed > 0
        assert {t.name for t in report.templates} == {"support", "billing", "?"}
        assert "persona.level" in report.template("support").values
        assert _same(analyse_session(session, template="billing")) == \
            _same(oracle_analyse(s for s in whole if s["template"] == "billing"))
        verified = verified_samples(session)
        assert [s["id"] for s in verified] == [s["id"] for s in whole if s["followups"]]
        assert 7 in [s["id"] for s in verified]
        assert agreement(verified) == agreement(whole)
