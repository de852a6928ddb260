"""The sample record: one set of fields and defaults, one secret rule, one verdict parser for every layer."""

from __future__ import annotations

import pytest

from studio.core.record import (FLAGS, SAMPLE_FIELDS, STATUSES, followup_inputs, followup_result, index_fields,
                                is_secret_name, new_sample, parse_verdict, scrub_params)

# Real phrasings of a verifier's verdict (from small and large models), and what each must read as.
VERDICT_TABLE = [
    ("It holds.\nVERDICT: correct", "correct"),
    ("VERDICT: incorrect", "incorrect"),
    ("Verdict - incorrect", "incorrect"),
    ("Verdict – correct", "correct"),
    ("Verdict — unsure", "unsure"),
    ("VERDICT:\n\n**incorrect**", "incorrect"),
    ("**VERDICT:** incorrect", "incorrect"),
    ("**Verdict**: Correct", "correct"),
    ("## Verdict\nIncorrect", "incorrect"),
    ("Final verdict: `incorrect`", "incorrect"),
    ("verdict = unsure", "unsure"),
    ("VERDICT: \"correct\"", "correct"),
    ("Verdict: Correct.", "correct"),
    ("> Verdict: incorrect", "incorrect"),
    ("VERDICT: correct? no. VERDICT: incorrect", "incorrect"),
    ("VERDICT: incorrect\n...on second thought\nVERDICT: Correct", "correct"),
    ("Reply with VERDICT: correct or VERDICT: incorrect.\n\nVERDICT: incorrect", "incorrect"),
    ("The answer is correct.", "unsure"),                # no verdict word: the reader does not guess
    ("looks fine to me", "unsure"),
    ("verdicts are hard; incorrect", "unsure"),          # 'verdicts' is not the word verdict
    ("", "unsure"),
    (None, "unsure"),
]


@pytest.mark.parametrize("text,expected", VERDICT_TABLE)
def test_verdict_phrasings(text, expected):
    assert parse_verdict(text) == expected


def test_a_structured_verdict_field_wins_over_text():
    assert parse_verdict("", {"verdict": "Correct"}) == "correct"
    assert parse_verdict("VERDICT: incorrect", {"verdict": " unsure "}) == "unsure"
    assert parse_verdict("VERDICT: incorrect", {"verdict": "maybe"}) == "incorrect"   # not a verdict: read the text


def test_a_failed_followup_has_no_verdict():
    assert followup_result(output=None, model="m", error="timed out")["verdict"] is None
    assert followup_result(output="Verdict - incorrect", model="m")["verdict"] == "incorrect"


def test_followup_inputs_are_the_user_turns_not_the_system_prompt():
    s = {"messages": [{"role": "system", "content": "be kind"}, {"role": "user", "content": "2+2?"},
                      {"role": "assistant", "content": "5"}, {"role": "user", "content": "sure?"}], "output": "4"}
    assert followup_inputs(s) == {"prompt": "2+2?\n\nsure?", "output": "4", "response": "4"}


def test_new_sample_fills_every_field_and_keeps_the_order():
    doc = new_sample({"template": "t", "id": 9, "status": "bogus",
                      "messages": [{"role": "user", "content": "hi"}]}, 12.0)
    assert tuple(doc) == SAMPLE_FIELDS and "id" not in doc
    assert doc["status"] == "pending" and doc["created"] == 12.0 and doc["prompt_hash"]
    assert doc["attempts"] == 0 and doc["answer"] == 0 and doc["flag"] is None and doc["finish_reason"] is None
    assert SAMPLE_FIELDS.index("persona") < SAMPLE_FIELDS.index("messages")   # the head the store parses alone


@pytest.mark.parametrize("name", ["api_key", "apikey", "API-KEY", "openai_api_key", "token", "access_token",
                                  "aws_secret_access_key", "client_secret", "password", "Authorization",
                                  "extra_headers", "headers", "cookie", "credentials"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["max_tokens", "temperature", "top_k", "keywords", "monkey", "seed", "stop"])
def test_ordinary_parameter_names(name):
    assert not is_secret_name(name)


def test_scrub_params_drops_secrets_at_any_depth():
    assert scrub_params({"max_tokens": 9, "temperature": 0, "api_key": "k", "token": "t",
                         "aws_secret_access_key": "s", "extra_headers": {"Authorization": "x"},
                         "nested": [{"password": "p", "ok": 1}]}) == {"max_tokens": 9, "temperature": 0,
                                                                       "nested": [{"ok": 1}]}
    assert new_sample({"params": {"api_key": "sk-x", "top_p": 1}}, 0)["params"] == {"top_p": 1}


def test_index_fields_carry_the_flag_and_categories():
    ix = index_fields(new_sample({"flag": "cut-off", "slots": {"n": 3, "xs": [1]},
                                  "persona": {"text": "t", "age": 40}}, 0))
    assert ix["fl"] == "cut-off" and ix["sl"] == {"n": "3"} and ix["pa"] == {"age": "40"}
    assert index_fields(new_sample({}, 0))["fl"] == ""
    assert set(FLAGS) == {"cut-off", "filtered", "refusal", "preview"} and STATUSES[0] == "pending"
