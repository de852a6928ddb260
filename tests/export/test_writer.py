"""Bad paths give clear errors, and an export is on disk whole or not at all."""

from __future__ import annotations

import os

import pytest

from studio.export import ExportError, ExportOptions, plan_export, write_export


@pytest.fixture
def plan(session):
    return plan_export(session, ExportOptions(format="openai-chat"))


def listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_writes_the_split_files_and_the_card_into_a_new_folder(plan, tmp_path):
    report = write_export(plan, tmp_path / "a" / "b")
    assert listing(tmp_path / "a" / "b") == ["README.md", "train.jsonl", "validation.jsonl"]
    assert report.rows == plan.counts() and report.bytes == sum(f.stat().st_size for f in report.files)
    assert (tmp_path / "a/b/train.jsonl").read_bytes().count(b"\n") == plan.counts()["train"]


def test_an_existing_export_is_kept_without_force_and_replaced_with_it(plan, session, tmp_path):
    out = tmp_path / "out"
    write_export(plan, out)
    before = (out / "train.jsonl").read_bytes()
    sft = plan_export(session, ExportOptions(format="sft", parquet=True, val_fraction=0))
    with pytest.raises(ExportError) as e:
        write_export(sft, out)
    assert "already holds an export (train.jsonl, validation.jsonl, README.md)" in str(e.value)
    assert "--force" in str(e.value) and (out / "train.jsonl").read_bytes() == before
    report = write_export(sft, out, force=True)
    assert listing(out) == ["README.md", "train.parquet"]      # the stale JSONL files are gone too
    assert [p.name for p in report.replaced] == ["train.jsonl", "validation.jsonl", "README.md"]


def test_a_readme_the_export_did_not_write_is_never_replaced_even_with_force(plan, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# my project\n")
    with pytest.raises(ExportError, match="README.md that is not a dataset card"):
        write_export(plan, project, force=True)
    assert (project / "README.md").read_text() == "# my project\n" and listing(project) == ["README.md"]


def test_out_that_is_a_file_is_refused(plan, tmp_path):
    f = tmp_path / "data.jsonl"
    f.write_text("keep me")
    with pytest.raises(ExportError, match="is a file, not a folder"):
        write_export(plan, f)
    assert f.read_text() == "keep me"


def test_a_symlinked_export_file_is_refused_so_nothing_lands_outside_the_folder(plan, tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere.jsonl"
    out.mkdir()
    elsewhere.write_text("precious")
    (out / "train.jsonl").symlink_to(elsewhere)
    with pytest.raises(ExportError, match="symbolic link"):
        write_export(plan, out, force=True)
    assert elsewhere.read_text() == "precious" and listing(out) == ["train.jsonl"]


def test_a_folder_without_write_permission_is_a_clear_error(plan, tmp_path):
    if os.geteuid() == 0:
        target = "/sys/studio-export-test"            # refused even to root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "out"
    with pytest.raises(ExportError) as e:
        write_export(plan, target)
    assert "cannot write to" in str(e.value) and "choose a folder you can write to" in str(e.value)
    assert not os.path.exists(target)


def test_a_failure_halfway_leaves_no_file_half_written(plan, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / f".validation.jsonl.tmp-{os.getpid()}").mkdir()   # the second file cannot be created
    with pytest.raises(ExportError) as e:
        write_export(plan, out)
    assert "nothing was written" in str(e.value)
    assert listing(out) == [f".validation.jsonl.tmp-{os.getpid()}"]   # no train.jsonl, no temp files


def test_an_empty_export_says_why(session, tmp_path):
    plan = plan_export(session, ExportOptions(statuses=("pending",), format="preference"))
    with pytest.raises(ExportError) as e:
        write_export(plan, tmp_path / "out")
    assert "nothing to export" in str(e.value) and "1 unpaired" in str(e.value)
    assert not (tmp_path / "out").exists()
