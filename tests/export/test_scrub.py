"""The secret scan: every key shape is found and redacted; ordinary text is left alone."""

from __future__ import annotations

import pytest

from studio.export.scrub import Redactor, scrub_params

KEYS = [
    "sk-proj-" + "Ab1" * 10, "sk-ant-" + "x9" * 15, "AKIA" + "ABCDEFGHIJKLMNOP",
    *(f"gh{c}_" + "a1B2" * 9 for c in "pousr"), "hf_" + "Zz9" * 11, "xoxb-" + "12345-abcde", "Bearer " + "t0k.en_" * 4,
]


@pytest.mark.parametrize("key", KEYS)
def test_each_key_shape_is_found_and_redacted(key):
    r = Redactor(secrets=[])
    text = f"my credentials are {key} ok"
    assert r.has_key_shape(text.encode()) and r.needed(text.encode())
    assert key not in r.text(text) and "[redacted]" in r.text(text)


def test_ordinary_text_with_near_misses_is_left_alone():
    r = Redactor(secrets=[])
    text = "ask-me about the sk- prefix, ghp_ short, hf_ too, xox, a Bearer of news, AKIA1"
    assert not r.has_key_shape(text.encode())
    assert r.text(text) == text


def test_secret_values_from_the_environment_are_found(monkeypatch):
    monkeypatch.setenv("ACME_TOKEN", "zq-internal-9f8e7d6c")
    monkeypatch.setenv("SHORT_KEY", "abc")                          # under 8 characters: not a secret
    r = Redactor()
    assert r.has_secret(b"use zq-internal-9f8e7d6c here") and not r.has_secret(b"abc is fine")
    assert r.value({"note": ["zq-internal-9f8e7d6c"]}) == {"note": ["[redacted]"]}


def test_secret_named_parameters_are_dropped_at_any_depth():
    params = {"temperature": 0.2, "api_key": "x", "extra_headers": {"a": 1}, "nested": {"client_secret": "y", "n": 1},
              "list": [{"password": "z", "ok": True}]}
    assert scrub_params(params) == {"temperature": 0.2, "nested": {"n": 1}, "list": [{"ok": True}]}
