"""`studio sessions` and `studio show`, run as the real command on real session files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.store import Store

REPO = Path(__file__).resolve().parents[2]


def studio(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "STUDIO_HOME": str(cwd), "NO_COLOR": "1", "COLUMNS": "100", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def ws(tmp_path) -> Path:
    store = Store(tmp_path / "sessions")
    s = store.create("support-v2", model="openai/fake")
    run = s.add_run({"template": "support", "model": "openai/fake", "saved": 7})
    s.add_samples([{"template": "support", "template_version": "aaaaaaaaaaaa", "output": f"answer {i}",
                    "run_id": run, "cost": 0.5} for i in range(4)])
    s.accept(1)
    s.accept(2)
    s.reject(3)
    s.toggle_tag(3, "too-long")
    s.close()
    store.create("empty").close()
    return tmp_path


def test_sessions_lists_each_session_with_its_counts(ws):
    r = studio("sessions", cwd=ws)
    assert r.returncode == 0, r.stderr
    row = next(line.split() for line in r.stdout.splitlines() if line.strip().startswith("support-v2"))
    assert row[:6] == ["support-v2", "4", "2", "1", "1", "0"]
    assert any(line.split()[:2] == ["empty", "0"] for line in r.stdout.splitlines())


def test_sessions_json_and_an_unreadable_file(ws):
    (ws / "sessions" / "notes.json").write_text("[]")
    r = studio("sessions", "--json", cwd=ws)
    rows = {d["name"]: d for d in map(json.loads, r.stdout.splitlines())}
    assert rows["support-v2"]["accepted"] == 2 and rows["support-v2"]["samples"] == 4
    assert "not a Template Studio session" in rows["notes"]["error"]
    assert (ws / "sessions" / "notes.json").read_text() == "[]"


def test_show_summarises_review_tags_versions_and_cost(ws):
    r = studio("show", "support-v2", cwd=ws)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "4 samples" in out and "too-long" in out and "aaaaaaaaaaaa" in out
    assert "67%" in out                                     # 2 of 3 reviewed accepted
    assert "cost $2.00" in out and "$1.00 per accepted sample" in out
    run_row = next(line.split() for line in out.splitlines() if "openai/fake" in line and "support" in line)
    assert "7" in run_row                                   # the run's saved-sample count


@pytest.fixture
def flagged(tmp_path) -> Path:
    s = Store(tmp_path / "sessions").create("odd")
    flags = [None, "cut-off", "cut-off", "refusal", "preview"]
    s.add_samples([{"template": "t", "output": f"answer {i}", "flag": f} for i, f in enumerate(flags)])
    s.accept(2)  # a cut-off answer accepted knowingly
    s.close()
    return tmp_path


def test_show_and_sessions_count_flagged_samples_per_flag(flagged):
    r = studio("show", "odd", cwd=flagged)
    assert r.returncode == 0, r.stderr
    header = next(line.split() for line in r.stdout.splitlines() if "flagged" in line and "accepted" in line)
    row = r.stdout.splitlines()[r.stdout.splitlines().index(next(
        line for line in r.stdout.splitlines() if line.split() == header)) + 2].split()
    assert dict(zip(header, row)) == {"accepted": "1", "rejected": "0", "pending": "4", "failed": "0",
                                      "flagged": "4", "reviewed": "20%"}
    assert "flagged: 2 cut-off, 1 refusal, 1 preview (3 of them pending" in " ".join(r.stdout.split())
    r = studio("sessions", "--json", cwd=flagged)
    [row] = map(json.loads, r.stdout.splitlines())
    assert row["flagged"] == {"cut-off": 2, "refusal": 1, "preview": 1} and row["pending"] == 4


def test_what_show_says_the_export_does_with_each_flag_is_what_it_does(tmp_path):
    """Previews (prompts with no answer) never become conversations, whatever the options; the other flags
    are kept when asked (--include-flagged). `studio show` says each."""
    s = Store(tmp_path / "sessions").create("odd")
    s.add_samples([{"template": "t", "output": f"answer {i}", "flag": f, "status": "accepted",
                    "messages": [{"role": "user", "content": f"question {i}"}]}
                   for i, f in enumerate([None, "cut-off", "refusal", "preview"])])
    s.close()
    said = " ".join(studio("show", "odd", cwd=tmp_path).stdout.split())
    assert "cut-off, refusal left out of export unless --include-flagged" in said
    assert "previews (prompts with no answer) only in --format raw" in said
    for fmt, rows_kept in (("openai-chat", 3), ("raw", 4)):
        out = tmp_path / fmt
        r = studio("export", "odd", "--format", fmt, "--out", str(out), "--include-flagged", "--no-dedup",
                   "--val-fraction", "0", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        rows = [x for f in out.rglob("*.jsonl") for x in f.read_text().splitlines()]
        assert len(rows) == rows_kept, (fmt, rows)
        assert ("question 3" in "".join(rows)) == (fmt == "raw")


def test_show_unknown_session_is_a_clear_error(ws):
    r = studio("show", "nope", cwd=ws)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    err = " ".join(r.stderr.split())                       # the error console wraps long paths
    assert "sessions/nope.json: no session named 'nope' — sessions here: empty, support-v2" in err


def test_delete_needs_yes_and_rename_works(ws):
    r = studio("sessions", "--delete", "empty", cwd=ws)
    assert r.returncode == 2 and "--yes" in r.stderr
    assert studio("sessions", "--delete", "empty", "--yes", cwd=ws).returncode == 0
    assert studio("sessions", "--rename", "support-v2", "v3", cwd=ws).returncode == 0
    assert Store(ws / "sessions").names() == ["v3"]
    r = studio("sessions", "--rename", "v3", "bad/name", cwd=ws)
    assert r.returncode == 2 and "invalid session name" in " ".join(r.stderr.split())


@pytest.mark.parametrize("plain", [True, False], ids=["plain TinyDB", "studio layout"])
def test_show_on_an_unmigrated_schema_2_session_says_schema_2(tmp_path, plain):
    from tests.store.test_migration import _v2_session

    store = Store(tmp_path / "sessions")
    path = _v2_session(store, "old", 5, plain=plain)
    before = path.read_bytes()
    r = studio("show", "old", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "schema 2 (migrated on the next open for writing)" in r.stdout and "schema 3" not in r.stdout
    assert path.read_bytes() == before
    store.open("old").close()                               # migrated: now it says what the files are
    r = studio("show", "old", cwd=tmp_path)
    assert "schema 3 ·" in r.stdout and "migrated on the next open" not in r.stdout


def test_show_lists_what_a_hand_edit_left_wrong(ws):
    from tinydb import TinyDB

    seg = Store(ws / "sessions").files("support-v2").segment(0)
    with TinyDB(seg) as db:
        db.table("samples").update({"status": "approved", "tags": "too-long"}, doc_ids=[2])
    r = studio("show", "support-v2", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "support-v2.samples/00000.json: sample 2: field 'status' is 'approved' — use one " \
        "of pending, accepted, rejected, failed" in r.stdout
    assert "sample 2: field 'tags' is 'too-long'" in r.stdout
    row = next(line.split() for line in r.stdout.splitlines() if line.strip().startswith("1 "))
    assert row[:4] == ["1", "1", "2", "0"]                   # accepted + rejected + pending = 4: approved is pending
