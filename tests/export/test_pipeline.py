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
