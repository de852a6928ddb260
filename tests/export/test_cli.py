"""`studio export` from the command line: files written, errors as one clear line with exit code 2."""

from __future__ import annotations

import json

import pytest

from studio.cli.main import main
from studio.store import Store
from tests.export.conftest import curated


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    s = Store(tmp_path / "sessions").create("day1")
    s.add_samples(curated())
    s.close()
    return tmp_path


def test_export_writes_the_dataset_and_reports_counts(home, capsys):
    code = main(["export", "day1", "--format", "openai-chat", "--out", str(home / "ds"), "--seed", "3",
                 "--licence", "mit"])
    out = capsys.readouterr().out
    assert code == 0
    assert "31 of 40 samples selected" in out and "removed 1: exact duplicate" in out
    assert (home / "ds/train.jsonl").exists() and 'license: "mit"' in (home / "ds/README.md").read_text()


def test_dry_run_previews_and_writes_nothing(home, capsys):
    code = main(["export", "day1", "-f", "kto", "-o", str(home / "ds"), "--dry-run", "--preview", "1",
                 "--status", "accepted,rejected", "--template", "support"])
    out = capsys.readouterr().out
    assert code == 0 and "dry run: nothing written" in out and '"label": true' in out
    assert not (home / "ds").exists()


@pytest.mark.parametrize("argv, says", [
    (["export", "nope", "-f", "sft", "-o", "x"], "no session named 'nope'"),
    (["export", "day1", "-f", "sft", "-o", "x", "--template", "suport"], "no samples of template 'suport'"),
    (["export", "day1", "-f", "sft", "-o", "x", "--val-fraction", "2"], "validation fraction 2.0 is out of range"),
])
def test_mistakes_are_one_line_and_exit_code_2(home, capsys, argv, says):
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())         # rich wraps long lines
    assert says in err and "Traceback" not in err


def test_an_existing_export_needs_force(home, capsys):
    args = ["export", "day1", "-f", "raw", "-o", str(home / "ds"), "--parquet", "--no-dedup"]
    assert main(args) == 0
    assert main(args) == 2 and "add --force" in " ".join(capsys.readouterr().err.split())
    assert main(args + ["--force"]) == 0


def test_every_line_is_json(home):
    assert main(["export", "day1", "-f", "sharegpt", "-o", str(home / "ds"), "--val-fraction", "0"]) == 0
    rows = [json.loads(x) for x in (home / "ds/train.jsonl").read_text().splitlines()]
    assert len(rows) == 29 and all(r["conversations"][-1]["from"] == "gpt" for r in rows)


def test_registering_the_command_and_listing_formats_stay_light():
    """The CLI builds every parser at start-up and the TUI lists formats: neither may pull in numpy/pyarrow."""
    import subprocess
    import sys

    code = ("import sys; from studio.cli.main import build_parser; build_parser(); "
            "from studio.export import FORMATS; assert len(FORMATS) == 9; "
            "print(sorted(m for m in ('numpy', 'pyarrow', 'datasets', 'studio.export.plan') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_flagged_samples_need_asking_for_on_the_command_line(tmp_path, monkeypatch, capsys):
    from tests.export.conftest import sample

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    s = Store(tmp_path / "sessions").create("flags")
    s.add_samples([sample(1), sample(2, flag="cut-off"), sample(3, flag="preview", mode="render")])
    s.close()
    assert main(["export", "flags", "-f", "sft", "-o", str(tmp_path / "a"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "removed 1: flagged cut-off" in out and "removed 1: no assistant section: add one" in out
    assert "flagged samples: 2 left out (1 cut-off, 1 preview)" in out
    assert main(["export", "flags", "-f", "sft", "-o", str(tmp_path / "b"), "--include-flagged", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "removed 1: flagged" not in out and "flagged samples: 1 left out (1 preview), 1 kept (1 cut-off)" in out
    assert main(["export", "flags", "-f", "sft", "-o", str(tmp_path / "c"), "--flag", "cut-off", "--val-fraction",
                 "0"]) == 0
    rows = (tmp_path / "c/train.jsonl").read_text().splitlines()
    assert len(rows) == 1
    assert main(["export", "flags", "-f", "sft", "-o", str(tmp_path / "d"), "--flag", "cutoff"]) == 2
    assert "unknown flag 'cutoff'" in capsys.readouterr().err
