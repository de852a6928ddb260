"""The export is a straight pipeline: its stages run once each, in order, for every kind of export."""

from __future__ import annotations

import pytest

from studio.export import ExportOptions, card, clean, dedup, pairs, plan_export, plan_records, scrub, select, split
from studio.export import write_export, writer
from tests.export.conftest import curated

ORDER = ["select", "clean", "dedup", "pair", "redact", "split", "write", "card"]
ENTRIES = [(select, "from_session", "select"), (select, "from_records", "select"), (clean, "run", "clean"),
           (dedup, "run", "dedup"), (pairs, "run", "pair"), (scrub, "run", "redact"), (split, "run", "split"),
           (writer, "_write", "write"), (card, "dataset_card", "card")]


@pytest.fixture
def entered(monkeypatch):
    seen: list[str] = []
    for module, attr, stage in ENTRIES:
        real = getattr(module, attr)

        def spy(*a, _real=real, _stage=stage, **k):
            seen.append(_stage)
            return _real(*a, **k)
        monkeypatch.setattr(module, attr, spy)
    return seen


@pytest.mark.parametrize("fmt", ["openai-chat", "preference", "raw"])
def test_a_store_export_runs_each_stage_once_in_order(session, tmp_path, entered, fmt):
    write_export(plan_export(session, ExportOptions(format=fmt, parquet=fmt == "raw")), tmp_path / "out")
    assert entered == ORDER


def test_an_export_of_records_runs_the_same_stages(tmp_path, entered):
    records = [dict(r, id=i) for i, r in enumerate(curated(), start=1)]
    write_export(plan_records(records, ExportOptions(format="kto")), tmp_path / "out")
    assert entered == ORDER


def test_without_dedup_the_dedup_stage_is_skipped(session, tmp_path, entered):
    write_export(plan_export(session, ExportOptions(dedup=False)), tmp_path / "out")
    assert entered == [s for s in ORDER if s != "dedup"]


def test_one_or_two_processes_redact_the_same_rows(store, monkeypatch):
    """The redact stage looks at the whole selection at once: a key shape in one sample's prompt makes key-shaped
    text in any row redacted, whichever half of a forked clean stage held it (before the stages were split, each
    half decided alone, so the second half's output kept its key with two processes and lost it with one).
    The store redacts key shapes when samples are saved, so the keys come in by a hand edit of a segment file:
    the case the export checks again for."""
    from studio.export import parallel
    from tests.export.conftest import prose, sample

    mark, key = "PLACEHOLDER" + "A" * 28, "sk-proj-" + "K" * 30
    s = store.create("halves", model="openai/fake")
    recs = [sample(i) for i in range(1, 11)]
    recs[0]["messages"] = [{"role": "user", "content": f"My key {mark} stopped working. " + prose(500, 10)}]
    recs[9]["output"] = f"Try the key {mark} again. " + prose(501, 20)
    s.add_samples(recs)
    path = s.files.segment(0)                    # the samples are in segment files
    s.close()
    path.write_text(path.read_text().replace(mark, key))
    s = store.open("halves")
    assert key in s.get(10)["output"]
    plans = []
    for n in (1, 2):
        monkeypatch.setattr(parallel, "processes_for", lambda _n, n=n: n)
        plans.append(plan_export(s, ExportOptions(val_fraction=0)))
    assert plans[0].lines == plans[1].lines
    assert not any(key.encode() in line for line in plans[1].lines)
    assert sum(b"[redacted]" in line for line in plans[1].lines) == 2
    s.close()
