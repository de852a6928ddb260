"""Exports of one rich session, in every format and both file types, compared byte for byte with the files
the export wrote before its stages were rearranged (tests/export/golden/, made by the code of main at cd1b819).

The session has what an export must handle: accepted, rejected, pending and failed samples, exact and near
duplicates, several answers to a prompt, explicit pair judgements, a contrast pair, flagged samples (cut-off,
refusal, filtered, render previews), render-mode samples with an answer, malformed conversations, and secrets
(an environment value and key-shaped text) in parameters, notes, prompts and outputs.

A change that moves one byte of a data file, the card or the list of removals fails here. When a change of
output is meant, regenerate with `STUDIO_GOLDEN_WRITE=1 python -m pytest tests/export/test_golden.py` and
say why in the commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studio.export import FORMATS, ExportOptions, plan_export, plan_records, write_export
from tests.export.conftest import curated, prose, sample

GOLDEN = Path(__file__).parent / "golden"
SECRET = "golden-secret-value-0123456789"          # an environment secret: redacted wherever it appears
KEY = "sk-proj-" + "Q" * 24                         # key-shaped text

CASES = [(fmt, parquet) for fmt in FORMATS for parquet in (False, True)]
EXTRA = {   # name: options beyond the format (each exported as JSONL)
    "sft-include-flagged": {"format": "sft", "include_flagged": True},
    "raw-flag-cut-off": {"format": "raw", "flags": ("cut-off",)},
    "openai-chat-no-near": {"format": "openai-chat", "dedup_threshold": 1.0},
    "openai-chat-no-dedup-seed7": {"format": "openai-chat", "dedup": False, "seed": 7, "val_fraction": 0.3},
    "preference-rejected-tag": {"format": "preference", "tags": ("too-long", "wrong-tone")},
    "kto-template": {"format": "kto", "templates": ("support",), "statuses": ("accepted", "rejected", "pending")},
}


def rich() -> list[dict]:
    recs = curated()
    n = len(recs)

    def add(status="accepted", **extra):
        nonlocal n
        n += 1
        recs.append(sample(n, status=status, **extra))

    add(flag="cut-off", finish_reason="length")
    add(flag="cut-off", finish_reason="length", status="rejected")
    add(flag="refusal")
    add(flag="filtered", finish_reason="content_filter")
    add(flag="preview", mode="render", model="render")
    add(flag="preview", mode="render", model="render", template="contrast-explain")
    add(mode="render", model="render", output="The rendered assistant section. " + prose(900, 20))
    add(mode="render", model="render", status="rejected", output="A rendered answer to reject. " + prose(901, 20))
    add(params={"temperature": 0.2, "api_key": SECRET, "headers": {"Authorization": "Bearer " + "b" * 30}},
        note=f"used {SECRET} and {KEY} by mistake")
    add(messages=[{"role": "user", "content": f"My key is {KEY}, help. " + prose(902, 10)}])
    add(output=f"Set OPENAI_API_KEY={SECRET} then retry. " + prose(903, 20))
    add(output="Example key: sk-" + "x" * 30 + " is not real. " + prose(904, 20))
    add(messages=[{"role": "user", "content": "Hi"}, {"role": "user", "content": "Again"}], output="Hello")
    add(output="user:\nHi\n\nassistant:\nHello")
    add(status="rejected", prompt=3, output=prose(905, 30))       # a second rejected answer to prompt 3
    add(status="accepted", prompt=5, output=prose(906, 30))       # a second accepted answer to prompt 5
    add(status="pending", prompt=6, output=prose(907, 30))
    add(reasoning="thinking about it", finish_reason="stop", endpoint="http://127.0.0.1:1/v1", attempts=2,
        answer=1, prompt=7)
    add(template="contrast-explain", status="rejected", prompt=26)
    for i, r in enumerate(recs):
        r["created"] = 1_767_225_600.0 + 3600 * i        # fixed times: raw rows and the card hold them
    return recs


@pytest.fixture
def golden_session(store, monkeypatch):
    monkeypatch.setenv("GOLDEN_API_KEY", SECRET)
    s = store.create("golden", model="openai/fake")
    s.set_meta(created=1_767_225_600.0)   # the card says when the session was made: a fixed day, not today
    s.save_template_version("support", "---\nname: support\n---\nuser:\nHelp with {{ product }}")
    s.add_samples(rich())
    s.judge_pair(8, 34)             # two rejected answers: one still better
    s.judge_pair(57, 6)             # a pending answer judged better than an accepted one
    s.judge_pair(4, 33)             # against the statuses: the judgement wins
    s.judge_pair(55, 3)
    yield s
    s.close()


def _files(plan, folder: Path) -> dict[str, bytes]:
    write_export(plan, folder)
    out = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    out["removed.txt"] = "".join(f"{r.id}\t{r.reason}\t{r.detail}\n" for r in plan.removed).encode()
    out["summary.txt"] = ("\n".join(plan.summary()) + "\n").encode()
    return out


def _check(name: str, files: dict[str, bytes]) -> None:
    folder = GOLDEN / name
    if os.environ.get("STUDIO_GOLDEN_WRITE"):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for fname, data in files.items():
            (folder / fname).write_bytes(data)
        return
    assert folder.is_dir(), f"no golden files for {name}"
    assert sorted(files) == sorted(p.name for p in folder.iterdir())
    for fname, data in files.items():
        assert data == (folder / fname).read_bytes(), f"{name}/{fname} differs from the golden file"


@pytest.mark.parametrize("fmt,parquet", CASES, ids=[f"{f}-{'parquet' if p else 'jsonl'}" for f, p in CASES])
def test_every_format_writes_the_golden_bytes(golden_session, tmp_path, fmt, parquet):
    plan = plan_export(golden_session, ExportOptions(format=fmt, parquet=parquet, licence="cc-by-4.0"))
    _check(f"{fmt}-{'parquet' if parquet else 'jsonl'}", _files(plan, tmp_path / "out"))


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_selections_write_the_golden_bytes(golden_session, tmp_path, name):
    plan = plan_export(golden_session, ExportOptions(**EXTRA[name]))
    _check(name, _files(plan, tmp_path / "out"))


@pytest.mark.parametrize("fmt", ["openai-chat", "preference", "raw"])
def test_plain_records_write_the_golden_bytes(monkeypatch, tmp_path, fmt):
    monkeypatch.setenv("GOLDEN_API_KEY", SECRET)
    records = [dict(r, id=i) for i, r in enumerate(rich(), start=1)]
    plan = plan_records(records, ExportOptions(format=fmt), session="records")
    _check(f"records-{fmt}", _files(plan, tmp_path / "out"))
