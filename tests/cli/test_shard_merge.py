"""`studio run --shard K/N` and `studio sessions --merge`: N machines' parts of one run, joined, export the same
bytes as one machine's run (real runs against the fake server, real session files, the real export)."""

from __future__ import annotations

import json

import pytest

from studio.store import Store

# the fake server answers a prompt the same way whatever the seed, so the two answers of a prompt are exact
# duplicates and the preference formats have no pairs here; every other format but raw is compared
FORMATS = ("openai-chat", "sft", "sft-text", "kto", "alpaca", "sharegpt")


@pytest.fixture
def studio(monkeypatch, capsys, tmp_path):
    from studio.cli.main import main

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.delenv("STUDIO_MODEL", raising=False)

    def call(*args):
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err
    return call


def _run(studio, fake, session, *extra):
    code, out, err = studio("run", "contrast-pairs", "-n", "12", "--answers", "2", "--model", fake.model,
                            "--api-base", fake.base_url, "--session", session, "--no-cache", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def _review(store, name):
    """The same decisions whichever session holds a sample: by what the sample is, not its id."""
    with store.open(name) as s:
        for x in s.iter_samples():
            if x["fill_key"][0] in "01234567":
                (s.accept if x["answer"] == 0 else s.reject)(x["id"])


def _export(studio, tmp_path, session, fmt):
    out = tmp_path / f"x-{session}-{fmt}"
    code, _, err = studio("export", session, "-f", fmt, "-o", str(out), "--val-fraction", "0.25")
    assert code == 0, err
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != "README.md"}


def test_shards_are_disjoint_and_merged_they_export_like_one_machine(studio, tmp_path, fake_llm):
    fake_llm.set(latency=0.01)
    whole = _run(studio, fake_llm, "whole")
    parts = [_run(studio, fake_llm, f"part{k}", "--shard", f"{k}/3") for k in (1, 2, 3)]
    assert whole["done"] == 24
    assert sum(p["done"] for p in parts) == 24 and all(p["done"] > 0 for p in parts)
    store = Store(tmp_path / "sessions")
    keys = []
    for k in (1, 2, 3):
        with store.open(f"part{k}", read_only=True) as s:
            keys += [(x["fill_key"], x["answer"]) for x in s.iter_samples()]
    assert len(keys) == len(set(keys)) == 24                          # disjoint, and together the whole run
    for name in ("whole", "part1", "part2", "part3"):
        _review(store, name)
    code, out, err = studio("sessions", "--merge", "part3", "part1", "part2", "joined")
    assert code == 0, err
    assert "24 samples" in out and "0 duplicates" in out
    with store.open("joined", read_only=True) as s:
        assert len(s) == 24 and len(s.runs()) == 3
        assert [v["label"] for v in s.template_versions()] == ["v1"]
        assert sum(s.counts()["status"].get(k, 0) for k in ("accepted", "rejected")) > 0
    for fmt in FORMATS:
        assert _export(studio, tmp_path, "joined", fmt) == _export(studio, tmp_path, "whole", fmt), fmt


def test_merge_reconciles_copies_and_refuses_conflicting_decisions(studio, tmp_path, fake_llm):
    _run(studio, fake_llm, "a")
    store = Store(tmp_path / "sessions")
    store.copy("a", "b")
    with store.open("a") as a:
        ids = a.ids()
        a.accept(ids[0])                  # reviewed in a, pending in b: a's decision
        a.reject(ids[1])                  # rejected in a, accepted in b: a conflict
        by_prompt: dict = {}
        for x in a.iter_samples():
            by_prompt.setdefault(x["prompt_hash"], []).append(x["id"])
        pair = next(v for v in by_prompt.values() if len(v) == 2 and not set(v) & set(ids[:2]))
        a.judge_pair(*pair)
        a.add_feedback([{"comment": "too long", "rating": 2}])
    with store.open("b") as b:
        b.accept(ids[1])
        b.toggle_tag(ids[4], "incorrect")  # a tag on one copy is kept
    code, _, err = studio("sessions", "--merge", "a", "b", "c")
    assert code == 2 and "conflicting decisions" in err and "a #" in err and "b #" in err and "--prefer" in err
    assert not store.exists("c")
    code, out, err = studio("sessions", "--merge", "a", "b", "c", "--prefer", "b")
    assert code == 0, err
    out = " ".join(out.split())
    for says in ("24 samples", "24 duplicates kept once (1 decided by --prefer b)", "1 judgements", "1 feedback"):
        assert says in out
    with store.open("c", read_only=True) as c:
        status = c.counts()["status"]
        assert status.get("accepted") == 2 and status.get("rejected", 0) == 0
        assert c.count(tag="incorrect") == 1 and len(c.runs()) == 1
    code, out, err = studio("sessions", "--merge", "a", "b", "d", "--prefer", "b", "--json")   # as data
    assert code == 0, err
    merged = json.loads(out)
    assert merged["samples"] == 24 and merged["duplicates"] == 24 and merged["resolved"] == 1


@pytest.mark.parametrize("shard", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_a_bad_shard_is_a_clear_error(studio, shard):
    code, _, err = studio("run", "contrast-pairs", "--model", "render", "--shard", shard)
    assert code == 2 and "--shard" in err
