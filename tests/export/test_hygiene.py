"""What goes out: selection, duplicates, the split, determinism, secrets, the dataset card."""

from __future__ import annotations

import pytest

from studio.export import ExportError, ExportOptions, plan_export, plan_records, write_export
from studio.export.scrub import Redactor
from tests.export.conftest import curated, sample


def ids(plan) -> set[int]:
    return {i for row_ids in plan.ids for i in row_ids}


def test_accepted_only_by_default_and_status_tag_template_version_select(session):
    plan = plan_export(session, ExportOptions())
    assert all(session.get(i)["status"] == "accepted" for i in ids(plan))
    both = plan_export(session, ExportOptions(statuses=("accepted", "rejected")))
    assert {4, 8, 34} <= ids(both)
    tagged = plan_export(session, ExportOptions(statuses=("rejected",), tags=("wrong-tone",)))
    assert ids(tagged) == {34}
    contrast = plan_export(session, ExportOptions(templates=("contrast-explain",)))
    assert {session.get(i)["template"] for i in ids(contrast)} == {"contrast-explain"}
    by_version = plan_export(session, ExportOptions(versions=("cccc",)))   # a prefix is enough
    assert ids(by_version) == ids(contrast)


@pytest.mark.parametrize("opts, says", [
    ({"templates": ("suport",)}, "no samples of template 'suport'"),
    ({"versions": ("ffff",)}, "no samples of template version 'ffff'"),
    ({"tags": ("rude",)}, "no sample in the session has the tag 'rude'"),
    ({"format": "jsonl"}, "unknown export format 'jsonl'"),
    ({"statuses": ("approved",)}, "unknown status 'approved'"),
    ({"dedup_threshold": 0}, "dedup threshold 0 is out of range"),
    ({"val_fraction": 1.0}, "validation fraction 1.0 is out of range"),
])
def test_a_selection_that_names_nothing_real_is_an_error_with_a_hint(session, opts, says):
    with pytest.raises(ExportError) as e:
        plan_export(session, ExportOptions(**opts))
    assert says in str(e.value) and " — " in str(e.value)


def test_exact_and_near_duplicates_are_removed_with_the_reason(session):
    plan = plan_export(session, ExportOptions())
    removed = {r.id: (r.reason, r.detail) for r in plan.removed}
    assert removed[35] == ("exact duplicate", "same prompt and output as #1")
    assert removed[36][0] == "near duplicate" and removed[36][1].startswith("similar to #2 (similarity 0.9")
    assert plan.removed_counts() == {"exact duplicate": 1, "near duplicate": 1}
    assert {1, 2} <= ids(plan) and not {35, 36} & ids(plan)


def test_the_threshold_decides_what_is_near_and_dedup_can_be_turned_off(session):
    assert plan_export(session, ExportOptions(dedup_threshold=1.0)).removed_counts() == {"exact duplicate": 1}
    assert plan_export(session, ExportOptions(dedup_threshold=0.99)).removed_counts() == {"exact duplicate": 1}
    assert plan_export(session, ExportOptions(dedup=False)).removed_counts() == {}


def test_samples_without_output_are_counted_not_exported(session):
    plan = plan_export(session, ExportOptions(statuses=("failed", "accepted")))
    assert [(r.id, r.reason, r.detail) for r in plan.removed if r.reason == "no output"] == [
        (37, "no output", "HTTP 500 from provider")]


def test_near_duplicates_are_looked_for_within_one_status_so_close_pairs_survive():
    a = sample(1, output="the router restarts itself every night because the firmware update loops " * 3)
    b = sample(2, prompt=1, status="rejected", output=a["output"] + " sadly")
    plan = plan_records([{**a, "id": 1}, {**b, "id": 2}], ExportOptions(format="preference"))
    assert plan.ids == [(1, 2)] and plan.removed == []


def test_split_is_seeded_stratified_by_template_and_keeps_a_prompt_on_one_side():
    recs = [{**sample(i, template=("a", "b")[i % 2], prompt=i // 4, status=("accepted", "rejected")[i % 3 == 0]),
             "id": i} for i in range(1, 401)]
    opts = ExportOptions(format="kto", val_fraction=0.25, seed=7, dedup=False)
    plan = plan_records(recs, opts)
    per = plan.per_template()
    for t in ("a", "b"):
        assert per[t]["validation"] == pytest.approx(0.25 * (per[t]["train"] + per[t]["validation"]), abs=4)
    side: dict[str, set] = {}
    for row_ids, s in zip(plan.ids, plan.splits):
        side.setdefault(recs[row_ids[0] - 1]["prompt_hash"], set()).add(s)
    assert all(len(v) == 1 for v in side.values())
    assert plan_records(recs, opts).splits == plan.splits
    assert plan_records(recs, ExportOptions(format="kto", val_fraction=0.25, seed=8, dedup=False)).splits != plan.splits


@pytest.mark.parametrize("parquet", [False, True])
def test_same_session_and_seed_give_byte_identical_files(session, tmp_path, parquet):
    outs = []
    for n in (1, 2):
        plan = plan_export(session, ExportOptions(format="raw", parquet=parquet, seed=3))
        outs.append(write_export(plan, tmp_path / f"run{n}"))
    a, b = outs
    assert [f.name for f in a.files] == [f.name for f in b.files]
    for fa, fb in zip(a.files, b.files):
        assert fa.read_bytes() == fb.read_bytes(), fa.name


def test_no_key_or_secret_reaches_an_export(tmp_path, monkeypatch):
    secret = "zq-internal-9f8e7d6c5b4a"
    monkeypatch.setenv("ACME_API_KEY", secret)
    openai_key = "sk-proj-" + "A1b2C3d4" * 4
    recs = [
        {**sample(1, params={"temperature": 0.2, "api_key": openai_key, "extra_headers": {"Authorization": "x"},
                             "nested": {"client_secret": "hunter22hunter22"}},
                  error=f"401 Incorrect API key provided: {openai_key}"), "id": 1},
        {**sample(2, output=f"Use {secret} to log in"), "id": 2},
        {**sample(3), "id": 3, "messages": [{"role": "user", "content": f"my key is {openai_key}, fix it"}]},
    ]
    for fmt in ("raw", "openai-chat", "sft", "alpaca"):
        plan = plan_records(recs, ExportOptions(format=fmt, val_fraction=0), redactor=Redactor())
        report = write_export(plan, tmp_path / fmt)
        text = "".join(f.read_text() for f in report.files)
        for leaked in (openai_key, secret, "hunter22", "Authorization"):
            assert leaked not in text, (fmt, leaked)
        assert "[redacted]" in text


def test_key_shaped_text_a_model_wrote_on_its_own_is_left_in_every_format(tmp_path):
    example = "sk-" + "x" * 24                                 # a placeholder in an answer about API keys
    recs = [{**sample(1, output=f"Set OPENAI_API_KEY, e.g. export OPENAI_API_KEY={example}"), "id": 1}]
    for fmt in ("raw", "openai-chat"):
        plan = plan_records(recs, ExportOptions(format=fmt, val_fraction=0), redactor=Redactor())
        assert example in plan.lines[0].decode() and "[redacted]" not in plan.lines[0].decode(), fmt


def test_the_dataset_card_describes_the_export(session, tmp_path):
    version = session.save_template_version("support", "---\nname: support\n---\nuser:\nHelp, v2")
    session.add_samples([sample(50, template_version=version)])
    plan = plan_export(session, ExportOptions(licence="cc-by-4.0", val_fraction=0.2))
    report = write_export(plan, tmp_path / "out")
    card = (report.out / "README.md").read_text()
    assert card.startswith('---\nlicense: "cc-by-4.0"\n')
    assert "| support | aaaa11112222 |" in card and "| contrast-explain | cccc11112222 |" in card
    assert "| too-long | 7 | 7 | 0 |" in card              # session, on rejected, on exported
    assert "| openai/fake |" in card and "| exact duplicate | 1 |" in card
    assert "Samples created: 20" in card and f"- support {version}: saved 20" in card
    from datasets import load_dataset

    ds = load_dataset(str(report.out), cache_dir=str(tmp_path / "hf"))       # the card's configs find the splits
    assert ds["train"].num_rows == plan.counts()["train"] and ds["validation"].num_rows == plan.counts()["validation"]


def test_plan_gives_counts_and_a_preview_before_anything_is_written(session):
    plan = plan_export(session, ExportOptions(format="sft"))
    assert plan.files() == ["train.jsonl", "validation.jsonl", "README.md"]
    assert plan.preview(2) == plan.split_rows("train")[:2]
    assert plan.scanned == len(curated()) and plan.selected == 31


def test_every_answer_to_a_prompt_is_used_once_pairs_are_matched_round_robin():
    acc = [{**sample(i, prompt=1), "id": i} for i in (1, 2)]
    rej = [{**sample(i, prompt=1, status="rejected"), "id": i} for i in (3, 4, 5)]
    plan = plan_records(acc + rej, ExportOptions(format="preference", dedup=False, val_fraction=0))
    assert plan.ids == [(1, 3), (1, 5), (2, 4)]
    same = [{**sample(1, output="same words here for both of them"), "id": 1},
            {**sample(2, prompt=1, status="rejected", output="same words here for both of them"), "id": 2}]
    empty = plan_records(same, ExportOptions(format="preference", dedup=False))
    assert empty.rows == [] and {r.detail for r in empty.removed} == {"accepted and rejected answers are the same text"}


@pytest.mark.parametrize("opts", [
    ExportOptions(), ExportOptions(format="kto", tags=("too-long",)), ExportOptions(format="preference"),
    ExportOptions(format="raw", templates=("support",), versions=("aaaa",), statuses=("accepted", "failed")),
])
def test_reading_only_matching_samples_gives_the_same_export_as_reading_all(session, opts):
    from_store = plan_export(session, opts)                 # the store's indexes pick the samples
    from_all = plan_records(session.iter_samples(), opts, session=from_store.session, meta=session.meta,
                            versions=session.template_versions())
    assert from_store.lines == from_all.lines and from_store.splits == from_all.splits
    assert from_store.removed == from_all.removed and from_store.card == from_all.card
