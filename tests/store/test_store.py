"""The sessions folder: list with counts, create, rename, copy, delete, most recent, two processes."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.store import SessionLocked, StoreError
from tests.store.conftest import sample

REPO = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from studio.store import Store
s = Store(sys.argv[1]).open("s1")
s.accept(2)
print("ready", flush=True)
sys.stdin.readline()
s.toggle_tag(1, "late")
print("tagged", flush=True)
time.sleep(60)
"""


def test_list_reports_counts_and_modified_times(store):
    s = store.create("a")
    s.add_samples([sample(i) for i in range(1, 5)])
    s.accept(1)
    s.set_status(2, "failed")
    s.close()
    store.create("b").close()
    time.sleep(0.01)
    b = store.open("b")
    b.add_samples([sample(1)])              # only in the journal: list still counts it
    a, bi = store.list()
    assert (a.name, a.samples, a.counts) == ("a", 4, {"pending": 2, "accepted": 1, "rejected": 0, "failed": 1})
    assert (bi.name, bi.samples, bi.locked_by) == ("b", 1, os.getpid())
    assert store.most_recent() == "b"
    b.close()


def test_create_refuses_an_existing_session_and_open_can_create(store):
    store.create("x").close()
    with pytest.raises(StoreError, match="already exists"):
        store.create("x")
    s = store.open("y", create=True)
    assert s.meta["name"] == "y"
    s.close()


def test_rename_copy_delete(store):
    s = store.create("a", labels=["l1"])
    s.add_samples([sample(1), sample(2)])
    s.accept(2)
    s.close()
    store.copy("a", "b")
    store.rename("a", "c")
    assert store.names() == ["b", "c"]
    for name in ("b", "c"):
        t = store.open(name)
        assert t.get(2)["status"] == "accepted" and t.labels == ["l1"] and t.meta["name"] == name
        t.close()
    with pytest.raises(StoreError, match="already exists"):
        store.rename("b", "c")
    store.delete("b")
    assert store.names() == ["c"] and not list(store.dir.glob("b.*"))
    with pytest.raises(StoreError, match="no session named 'b'"):
        store.delete("b")


def test_rename_copy_delete_move_the_segment_files(store):
    with store.create("a", segment_samples=2) as s:
        s.add_samples([sample(i) for i in range(1, 6)])
        s.reject(5)
    segments = ["00000.json", "00001.json", "00002.json"]
    store.copy("a", "b")
    store.rename("a", "c")
    assert not (store.dir / "a.samples").exists() and not list(store.dir.glob("a.*"))
    for name in ("b", "c"):
        assert sorted(p.name for p in (store.dir / f"{name}.samples").iterdir()) == segments
        with store.open(name) as t:
            assert len(t) == 5 and t.get(5)["status"] == "rejected" and t.meta["segment_samples"] == 2
            assert t._index.overlay == {} and t.files.index.exists()
    store.delete("b")
    assert not list(store.dir.glob("b.*")) and (store.dir / "c.samples").is_dir()


def test_second_process_gets_a_read_only_view_and_a_clear_message(store):
    s = store.create("s1")
    s.add_samples([sample(1), sample(2)])
    s.close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(store.dir)], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                              text=True,
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "ready"
        view = store.open("s1")
        assert view.read_only and view.locked_by == holder.pid
        assert view.get(2)["status"] == "accepted"          # sees what the writer had saved
        with pytest.raises(SessionLocked) as err:
            view.reject(1)
        assert f"pid {holder.pid}" in str(err.value) and err.value.locked_by == holder.pid
        assert str(err.value).startswith(str(view.path))
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "tagged"
        view.reload()
        assert view.get(1)["tags"] == ["late"]
        with pytest.raises(SessionLocked):
            store.delete("s1")
        with pytest.raises(SessionLocked):
            store.rename("s1", "s2")
        view.close()
    finally:
        holder.kill()
        holder.wait()
    s = store.open("s1")                                     # the lock died with the holder
    assert not s.read_only
    s.reject(1)
    s.close()
