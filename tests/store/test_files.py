"""Damaged, foreign and unreachable files: a clear error naming the file, nothing silently lost."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from studio.store import SessionRecovered, Store, StoreError
from tests.store.conftest import die_after, sample

REPO = Path(__file__).resolve().parents[2]


def _session_with(store, n=40, name="s1"):
    s = store.create(name)
    s.add_samples([sample(i) for i in range(1, n + 1)])
    s.accept(3)
    s.close()
    return s.path


def _segment_of(store, n=40, name="s1"):
    """A session's first segment file (its samples; NAME.json holds the other tables)."""
    _session_with(store, n, name)
    return store.files(name).segment(0)


def _damaged_copies(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".damaged-*"))


def test_truncated_file_is_recovered_and_kept_beside(store):
    path = _segment_of(store)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SessionRecovered) as err:
        store.open("s1")
    msg = str(err.value)
    assert msg.startswith(str(path)) and "the session file is damaged" in msg
    n = err.value.recovered["samples"]
    assert 5 < n < 40 and f"recovered {n} samples" in msg and "open the session again" in msg
    kept, = _damaged_copies(path)
    assert kept.read_bytes() == data[: len(data) // 2] and kept.name in msg
    s = store.open("s1")                               # the recovered session opens normally now
    assert len(s) == n and s.get(3)["status"] == "accepted" and s.meta["name"] == "s1"
    s.close()


@pytest.mark.parametrize("which", ["segment", "NAME.json"])
def test_journal_ops_are_recovered_even_when_the_file_is_cut(store, which):
    path = _segment_of(store, n=10)
    if which == "NAME.json":
        path = store.files("s1").json

    def review():
        s = store.open("s1")
        s.add_samples([sample(11)])
        s.reject(7)
    die_after(review)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(SessionRecovered):
        store.open("s1")
    s = store.open("s1")
    assert 11 in s.ids() and s.get(7)["status"] == "rejected"
    s.close()


def test_corrupt_bytes_in_one_sample_lose_only_that_sample(store):
    path = _segment_of(store)
    data = path.read_bytes()
    at = data.index(b'"Answer number 20')
    path.write_bytes(data[:at] + b"\x00garbage{{" + data[at + 10:])
    with pytest.raises(SessionRecovered, match="39 samples") as err:
        store.open("s1")
    assert "1 unreadable lines" in str(err.value)
    s = store.open("s1")
    assert 20 not in s.ids() and len(s) == 39
    s.close()


def test_empty_file_is_kept_and_reported(store):
    path = _segment_of(store)
    path.write_bytes(b"")
    with pytest.raises(SessionRecovered, match=r"file is empty.*recovered 0 samples"):
        store.open("s1")
    kept, = _damaged_copies(path)
    assert kept.stat().st_size == 0


def test_an_empty_session_file_keeps_the_samples_of_its_segments(store):
    _segment_of(store)
    path = store.files("s1").json
    path.write_bytes(b"")
    with pytest.raises(SessionRecovered, match=r"file is empty.*recovered 40 samples"):
        store.open("s1")
    kept, = _damaged_copies(path)
    with store.open("s1") as s:
        assert len(s) == 40 and s.get(3)["status"] == "accepted" and s.meta["name"] == "s1"


@pytest.mark.parametrize("content,what", [
    (b"[1, 2, 3]", "JSON list"),
    (b'{"_default": {"1": {"title": "my notes"}}}', "found: _default"),
    (b'"just a string"', "JSON str"),
])
def test_foreign_json_is_refused_and_left_untouched(store, content, what):
    store.dir.mkdir(parents=True)
    path = store.dir / "other.json"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="not a Template Studio session") as err:
        store.open("other")
    assert str(err.value).startswith(str(path)) and what in str(err.value)
    assert path.read_bytes() == content and not _damaged_copies(path)
    info, = store.list()
    assert info.name == "other" and "not a Template Studio session" in info.error


def test_newer_schema_is_refused(store):
    store.dir.mkdir(parents=True)
    (store.dir / "future.json").write_text(json.dumps({"meta": {"1": {"schema_version": 99}}}))
    with pytest.raises(StoreError, match="newer studio"):
        store.open("future")


def test_damaged_journal_middle_is_reported_and_the_rest_recovered(store):
    path = _session_with(store, n=3)

    def review():
        s = store.open("s1")
        for i in (1, 2, 3):
            s.set_note(i, f"note {i}")
    die_after(review)
    journal = path.with_suffix(".journal")
    lines = journal.read_bytes().rstrip(b"\0").split(b"\n")
    lines[0] = lines[0][:20] + b"X" + lines[0][21:]
    journal.write_bytes(b"\n".join(lines))
    with pytest.raises(SessionRecovered, match="journal is damaged") as err:
        store.open("s1")
    assert str(err.value).startswith(str(journal))
    kept, = _damaged_copies(journal)
    s = store.open("s1")
    assert [s.get(i)["note"] for i in (1, 2, 3)] == ["", "note 2", "note 3"]
    s.close()


def test_a_write_cut_short_by_a_crash_is_dropped_quietly(store):
    path = _session_with(store, n=3)
    journal = path.with_suffix(".journal")
    journal.write_bytes(b'0badc0de {"t":"samples","id":2,"ix"')      # the call never returned
    s = store.open("s1")
    s.reject(2)
    s.close()
    s = store.open("s1")
    assert s.get(2)["status"] == "rejected" and not _damaged_copies(journal)
    s.close()


def test_missing_sessions_folder(tmp_path):
    store = Store(tmp_path / "nowhere" / "sessions")
    assert store.list() == [] and store.most_recent() is None
    with pytest.raises(StoreError, match="no session named 'x'") as err:
        store.open("x")
    assert "does not exist yet" in str(err.value)
    store.create("x").close()
    assert store.names() == ["x"]


def test_invalid_names_are_refused_with_the_rule(store):
    for bad in ("../up", "a/b", "", ".hidden", "x.json", "a b"):
        with pytest.raises(StoreError, match="invalid session name") as err:
            store.create(bad)
        assert "letters, digits" in str(err.value)


READ_ONLY_PROBE = """
import json, sys
from studio.store import Store, StoreError
store = Store(sys.argv[1])
out = {}
s = store.open("s1")
out["read_only"], out["reason"], out["n"] = s.read_only, s.read_only_reason, len(s)
out["accepted"] = s.ids(status="accepted")
try:
    s.accept(1)
except StoreError as e:
    out["accept_error"] = str(e)
s.close()
try:
    store.create("new")
except StoreError as e:
    out["create_error"] = str(e)
out["list"] = [(i.name, i.samples, i.error) for i in store.list()]
print(json.dumps(out))
"""


def test_read_only_sessions_folder_gives_a_read_only_view(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="studio-ro-"))
    try:
        store = Store(root / "sessions")
        _session_with(store, n=5)
        before = {str(p): p.read_bytes() for p in store.dir.rglob("*") if p.is_file()}
        os.chmod(root, 0o755)
        os.chmod(store.dir, 0o555)
        cmd = [sys.executable, "-c", READ_ONLY_PROBE, str(store.dir)]
        if os.geteuid() == 0:              # root writes anywhere: probe without the override capabilities
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv: cannot make a folder read-only")
            drop = "-dac_override,-dac_read_search,-fowner"
            cmd = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
        assert out.returncode == 0, out.stderr
        r = json.loads(out.stdout)
        assert r["read_only"] and "cannot be written" in r["reason"] and r["n"] == 5 and r["accepted"] == [3]
        assert "read-only here" in r["accept_error"]
        assert "cannot create" in r["create_error"] or "cannot create the sessions folder" in r["create_error"]
        assert r["list"] == [["s1", 5, ""]]
        assert {str(p): p.read_bytes() for p in store.dir.rglob("*") if p.is_file()} == before
    finally:
        os.chmod(root / "sessions", 0o755)
        shutil.rmtree(root)
