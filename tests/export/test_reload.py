"""Exports that load right the first time: `load_dataset(DIR)` returns the rows just written, and a closed
stdout (`| head -1`) never stops the files being written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.export import ExportOptions, plan_records, write_export
from studio.store import Store
from tests.export.conftest import curated, sample

ROOT = Path(__file__).resolve().parents[2]


def _records(n: int, word: str) -> list[dict]:
    return [{**sample(i, output=f"{word} answer number {i}. " * 4), "id": i} for i in range(1, n + 1)]


def _export(out: Path, n: int, word: str, parquet: bool = False):
    plan = plan_records(_records(n, word), ExportOptions(val_fraction=0.25, dedup=False, parquet=parquet,
                                                         format="sft-text"))
    return plan, write_export(plan, out, force=True)


@pytest.mark.parametrize("parquet", [False, True], ids=["jsonl", "parquet"])
def test_exporting_twice_into_one_folder_loads_what_was_just_written(tmp_path, parquet):
    from datasets import load_dataset

    cache = str(tmp_path / "hf")                       # one cache, one process: where the old rows came back
    out = tmp_path / "ds"
    for n, word in ((6, "first"), (11, "second"), (6, "third")):    # the third: same count as the first
        plan, _ = _export(out, n, word, parquet)
        ds = load_dataset(str(out), cache_dir=cache)
        rows = ds["train"].to_list() + ds["validation"].to_list()
        assert len(rows) == n
        assert {r["completion"].split()[0] for r in rows} == {word}
        assert sorted(json.dumps(r, sort_keys=True) for r in rows) == \
            sorted(json.dumps(r, sort_keys=True) for r in plan.rows)


def test_two_export_folders_with_the_same_name_do_not_share_rows(tmp_path):
    from datasets import load_dataset

    cache = str(tmp_path / "hf")
    _export(tmp_path / "a" / "ds", 5, "alpha")
    _export(tmp_path / "b" / "ds", 7, "beta")
    a = load_dataset(str(tmp_path / "a" / "ds"), cache_dir=cache)
    b = load_dataset(str(tmp_path / "b" / "ds"), cache_dir=cache)
    assert {r["completion"].split()[0] for r in a["train"]} == {"alpha"}
    assert {r["completion"].split()[0] for r in b["train"]} == {"beta"}
    assert a["train"].num_rows + a["validation"].num_rows == 5 and b["train"].num_rows + b["validation"].num_rows == 7


def test_the_same_rows_give_the_same_card(tmp_path):
    _, first = _export(tmp_path / "x", 5, "same")
    _, second = _export(tmp_path / "y", 5, "same")
    assert (first.out / "README.md").read_bytes() == (second.out / "README.md").read_bytes()


@pytest.mark.parametrize("reader", ["head -1", "true"], ids=["head", "closed-at-once"])
def test_a_closed_stdout_never_stops_the_files_being_written(tmp_path, reader):
    s = Store(tmp_path / "sessions").create("day1")
    s.add_samples(curated())
    s.close()
    env = {**os.environ, "STUDIO_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = tmp_path / "ds"
    cmd = (f"{sys.executable} -m studio export day1 -f openai-chat -o {out} --dry-run --preview 50; "
           f"{sys.executable} -m studio export day1 -f openai-chat -o {out}; echo \"exit $?\" >&2")
    done = subprocess.run(["bash", "-c", f"({cmd}) | {reader}"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert "exit 0" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert (out / "train.jsonl").exists() and (out / "README.md").exists()
    assert len((out / "train.jsonl").read_text().splitlines()) > 20
