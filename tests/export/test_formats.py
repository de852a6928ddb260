"""Every format, written from a real session, loads in the tools trainers use and passes their checks."""

from __future__ import annotations

import json

import pytest

from studio.export import FORMATS, ExportOptions, plan_export, write_export
from tests.export.helpers import openai_chat_errors, openai_preference_errors


def export(session, tmp_path, fmt, parquet=False, **opts):
    plan = plan_export(session, ExportOptions(format=fmt, parquet=parquet, **opts))
    report = write_export(plan, tmp_path / f"{fmt}-{'pq' if parquet else 'jsonl'}")
    return plan, report


def load(report, parquet):
    from datasets import load_dataset

    files = {f.stem: str(f) for f in report.files if f.suffix in (".jsonl", ".parquet")}
    return load_dataset("parquet" if parquet else "json", data_files=files, cache_dir=str(report.out / ".hf"))


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_loads_with_datasets_as_jsonl_and_parquet_with_the_same_rows(session, tmp_path, fmt):
    plan, jr = export(session, tmp_path, fmt)
    _, pr = export(session, tmp_path, fmt, parquet=True)
    dj, dp = load(jr, False), load(pr, True)
    schema = FORMATS[fmt].schema()
    for split, n in plan.counts().items():
        if not n:
            assert split not in dj
            continue
        assert dj[split].num_rows == dp[split].num_rows == n
        assert dj[split].column_names == dp[split].column_names == schema.names
        assert dj[split].to_list() == dp[split].to_list() == plan.split_rows(split)


def test_openai_chat_rows_pass_openai_format_checks(session, tmp_path):
    plan, report = export(session, tmp_path, "openai-chat")
    rows = [json.loads(line) for f in report.files if f.suffix == ".jsonl" for line in f.read_text().splitlines()]
    assert len(rows) == sum(plan.counts().values()) > 20
    assert [(i, e) for i, r in enumerate(rows) if (e := openai_chat_errors(r))] == []
    assert rows[0]["messages"][0] == {"role": "system", "content": "You are a calm support agent."}


def test_the_openai_checker_catches_what_openai_rejects():
    assert openai_chat_errors({"messages": [{"role": "user", "content": "hi"}]}) == [
        "example_missing_assistant_message", "assistant_not_last"]
    assert "missing_content" in openai_chat_errors({"messages": [{"role": "assistant", "content": " "}]})
    assert "unrecognized_role" in openai_chat_errors({"messages": [{"role": "bot", "content": "x"},
                                                                   {"role": "assistant", "content": "y"}]})


def test_openai_preference_rows_pass_preference_checks(session, tmp_path):
    plan, report = export(session, tmp_path, "openai-preference")
    rows = [json.loads(line) for f in report.files if f.suffix == ".jsonl" for line in f.read_text().splitlines()]
    assert len(rows) == 2                     # one decision pair, one contrast pair
    assert [openai_preference_errors(r) for r in rows] == [[], []]


def test_preference_pairs_come_from_decisions_and_contrast_samples(session):
    plan = plan_export(session, ExportOptions(format="preference"))
    rows = dict(zip(plan.ids, plan.rows))
    decision = rows[(33, 4)]                  # #33 accepted and #4 rejected answer the same prompt
    assert decision["chosen"] == [{"role": "assistant", "content": session.get(33)["output"]}]
    assert decision["rejected"] == [{"role": "assistant", "content": session.get(4)["output"]}]
    assert decision["prompt"][-1]["content"].startswith("My router has issue 4.")
    contrast = rows[(39,)]
    assert contrast["prompt"] == [{"role": "user", "content": "Explain latency by comparing it with bandwidth."}]
    assert contrast["rejected"][0]["content"] == "Latency is slow internet."
    assert plan.stats["pair_sources"] == {"contrast": 1, "decisions": 1}
    reasons = {r.id: r.detail for r in plan.removed if r.reason == "unpaired"}
    assert reasons[34] == "no accepted answer to the same prompt"


def test_kto_labels_accepted_true_and_rejected_false(session):
    plan = plan_export(session, ExportOptions(format="kto"))
    labels = {ids[0]: row["label"] for ids, row in zip(plan.ids, plan.rows)}
    assert labels[1] is True and labels[4] is False and labels[34] is False
    assert 38 not in labels and 37 not in labels          # pending and failed are not exported


def test_sharegpt_and_alpaca_shapes(session):
    share = plan_export(session, ExportOptions(format="sharegpt")).rows[0]["conversations"]
    assert [t["from"] for t in share] == ["system", "human", "gpt"]
    alpaca = plan_export(session, ExportOptions(format="alpaca")).rows[0]
    assert alpaca["system"] == "You are a calm support agent."
    assert alpaca["instruction"].startswith("My ") and alpaca["input"] == "" and alpaca["output"]


def test_raw_keeps_full_provenance(session):
    plan = plan_export(session, ExportOptions(format="raw", val_fraction=0))
    row = next(r for r in plan.rows if r["id"] == 40)
    assert row["template_version"] == "aaaa11112222" and row["model"] == "openai/fake"
    assert {"name": "product", "value": "router"} in row["slots"]
    assert json.loads(row["persona"])["text"].startswith("a nurse")
    assert json.loads(row["params"]) == {"max_tokens": 200, "temperature": 0.7}
    assert row["note"] == "great answer" and row["cost"] == pytest.approx(0.004)
    assert row["followups"] == [{"template": "double-check", "verdict": "correct", "output": "VERDICT: correct",
                                 "model": "openai/fake"}]


@pytest.fixture(scope="module")
def trl_data_utils():
    return pytest.importorskip("trl.data_utils", reason="trl is in the test extra")


def test_trl_recognises_the_sft_preference_and_kto_exports(session, tmp_path, trl_data_utils):
    tdu = trl_data_utils
    for fmt, keys in (("sft", {"prompt", "completion"}), ("preference", {"prompt", "chosen", "rejected"}),
                      ("kto", {"prompt", "completion", "label"})):
        _, report = export(session, tmp_path, fmt)
        train = load(report, False)["train"]
        assert set(train.column_names) == keys
        assert tdu.is_conversational(train[0]), fmt
    sharegpt = load(export(session, tmp_path, "sharegpt")[1], False)["train"]
    assert tdu.is_conversational_from_value(sharegpt[0])
    text = load(export(session, tmp_path, "sft-text")[1], False)["train"]
    assert not tdu.is_conversational(text[0])


def test_kto_export_has_the_shape_trl_makes_when_it_unpairs_preference_data(session, tmp_path, trl_data_utils):
    pref = load(export(session, tmp_path, "preference")[1], False)["train"]
    unpaired = trl_data_utils.unpair_preference_dataset(pref)
    kto = load(export(session, tmp_path, "kto")[1], False)["train"]
    assert unpaired.features == kto.features


def test_raw_rows_carry_how_each_answer_was_made():
    """raw is every field: the provider's finish_reason, the flag, reasoning kept apart, endpoint, attempts, answer."""
    from studio.export.formats import FORMATS, raw_row

    rec = {"id": 3, "messages": [{"role": "user", "content": "q"}], "output": "half an ans", "status": "pending",
           "finish_reason": "length", "flag": "cut-off", "reasoning": "thinking...", "endpoint": "http://gpu:8000/v1",
           "attempts": 2, "answer": 1}
    row = raw_row(rec)
    assert (row["finish_reason"], row["flag"], row["reasoning"], row["endpoint"], row["attempts"], row["answer"]) == \
        ("length", "cut-off", "thinking...", "http://gpu:8000/v1", 2, 1)
    assert list(row) == FORMATS["raw"].schema().names            # the Parquet columns are the same fields
