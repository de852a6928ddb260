"""Sessions written in schema 1 (the first prototype) and schema 2 (one file) open as schema 3 with nothing lost."""

import json
import shutil
from pathlib import Path

import orjson
import pytest
from tinydb import TinyDB

from studio.core.expand import fill_key
from studio.runs.run import prompt_hash
from studio.core.record import new_sample
from studio.store import Store, snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1.json"


def _v1_store(tmp_path) -> Store:
    store = Store(tmp_path / "sessions")
    store.dir.mkdir(parents=True)
    shutil.copy(FIXTURE, store.dir / "legacy.json")
    return store


def test_schema_1_session_is_migrated_with_a_backup(tmp_path):
    store = _v1_store(tmp_path)
    s = store.open("legacy")
    assert s.migrated_from == 1 and s.meta["schema_version"] == 3
    assert s.meta["model"] == "openai/gpt-4o-mini" and s.labels == ["wrong", "unsafe", "long"]
    assert s.counts()["status"] == {"pending": 1, "accepted": 1, "rejected": 1, "failed": 1}
    two = s.get(2)
    assert two["tags"] == ["wrong", "long"] and two["note"] == "upsell" and two["template_version"] == "3f2a9c1b7d4e"
    assert two["fill_key"] == fill_key({"customer": "Bo", "product": "modem"})
    assert two["prompt_hash"] == prompt_hash(two["messages"])          # what new runs record
    assert two["reviewed"] > two["created"] > 0
    assert s.get(3)["error"] == "HTTP 500" and s.get(3)["status"] == "failed"
    assert s.ids(tag="long") == [2] and s.ids(slot=("product", "router")) == [1, 4]
    assert s.template_text("support", "3f2a9c1b7d4e").startswith("Hello {{ customer }}")
    assert s.runs()[0]["run_id"] == "run-1"
    s.accept(4)
    s.close()
    backup = store.dir / "legacy.json.v1-backup"
    assert backup.read_bytes() == FIXTURE.read_bytes()
    assert s.files.segment(0).is_file()
    again = store.open("legacy")
    assert again.migrated_from is None and again.get(4)["status"] == "accepted"
    again.close()


def test_read_only_open_migrates_in_memory_only(tmp_path):
    store = _v1_store(tmp_path)
    s = store.open("legacy", read_only=True)
    assert s.migrated_from == 1 and len(s) == 4
    s.close()
    assert (store.dir / "legacy.json").read_bytes() == FIXTURE.read_bytes()


def _v2_session(store: Store, name: str, n: int, *, plain: bool) -> Path:
    """A session as the studio wrote it before segments: every table, samples too, in one TinyDB file."""
    meta = {"name": name, "created": 1.0, "model": "m", "labels": ["x"], "schema_version": 2}
    docs = {i: new_sample({"template": "t", "template_version": "abc", "output": f"answer {i}",
                           "status": "accepted" if i % 3 == 0 else "pending", "slots": {"k": str(i % 2)}}, 2.0)
            for i in range(1, n + 1)}
    runs = {"1": {"run_id": "r1", "status": "done"}}
    path = store.dir / f"{name}.json"
    store.dir.mkdir(parents=True, exist_ok=True)
    if plain:                                  # written by a plain TinyDB script: one line
        path.write_text(json.dumps({"_default": {}, "meta": {"1": meta}, "runs": runs, "templates": {},
                                    "feedback": {}, "samples": {str(i): d for i, d in docs.items()}}))
    else:                                      # the studio's own line layout of schema 2
        snapshot.write(path, {"meta": {"1": meta}, "runs": runs, "templates": {}, "feedback": {}, "judgements": {}},
                       ((i, orjson.dumps(d)) for i, d in docs.items()))
    return path


@pytest.mark.parametrize("plain", [False, True])
def test_a_schema_2_session_is_split_into_segments_with_a_backup(tmp_path, monkeypatch, plain):
    monkeypatch.setattr("studio.store.snapshot.SEGMENT_SAMPLES", 10)
    store = Store(tmp_path / "sessions")
    path = _v2_session(store, "one", 25, plain=plain)
    old = path.read_bytes()
    with store.open("one", read_only=True) as view:            # a read-only view reads it where it is
        assert view.migrated_from == 2 and len(view) == 25 and view.ids(status="accepted") == list(range(3, 26, 3))
    assert path.read_bytes() == old and not (store.dir / "one.samples").exists()
    s = store.open("one")
    assert s.migrated_from == 2 and s.meta["schema_version"] == 3 and s.meta["segment_samples"] == 10
    assert (store.dir / "one.json.v2-backup").read_bytes() == old
    assert sorted(p.name for p in s.files.segments.iterdir()) == ["00000.json", "00001.json", "00002.json"]
    with TinyDB(path) as db:
        assert len(db.table("samples")) == 0 and db.table("runs").get(doc_id=1)["run_id"] == "r1"
    assert s.get(25)["output"] == "answer 25" and s.ids(slot=("k", "1")) == list(range(1, 26, 2))
    s.accept(1)
    s.close()
    with store.open("one") as again:
        assert again.migrated_from is None and again.get(1)["status"] == "accepted" and len(again) == 25
        assert again.runs()[0]["run_id"] == "r1"


def test_a_migration_killed_before_the_session_file_was_replaced_is_done_again(tmp_path, monkeypatch):
    monkeypatch.setattr("studio.store.snapshot.SEGMENT_SAMPLES", 10)
    store = Store(tmp_path / "sessions")
    path = _v2_session(store, "one", 25, plain=False)
    segs = store.dir / "one.samples"
    segs.mkdir()
    (segs / "00000.json").write_text('{"_default":{},\n"samples":{\n"1":{"output":"stale"}\n}}\n')
    (segs / "00007.json").write_text('{"_default":{},\n"samples":{\n"71":{"output":"stale"}\n}}\n')
    with store.open("one") as s:                       # the schema-2 file is the truth: leftovers are replaced
        assert len(s) == 25 and s.get(1)["output"] == "answer 1"
    assert sorted(p.name for p in segs.iterdir()) == ["00000.json", "00001.json", "00002.json"]
    assert path.with_name("one.json.v2-backup").is_file()
