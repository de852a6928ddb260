"""A session written in schema 1 (the first prototype) opens as schema 2 with nothing lost."""

import shutil
from pathlib import Path

from studio.core.expand import fill_key
from studio.runs.run import prompt_hash
from studio.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1.json"


def _v1_store(tmp_path) -> Store:
    store = Store(tmp_path / "sessions")
    store.dir.mkdir(parents=True)
    shutil.copy(FIXTURE, store.dir / "legacy.json")
    return store


def test_schema_1_session_is_migrated_with_a_backup(tmp_path):
    store = _v1_store(tmp_path)
    s = store.open("legacy")
    assert s.migrated_from == 1 and s.meta["schema_version"] == 2
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
    again = store.open("legacy")
    assert again.migrated_from is None and again.get(4)["status"] == "accepted"
    again.close()


def test_read_only_open_migrates_in_memory_only(tmp_path):
    store = _v1_store(tmp_path)
    s = store.open("legacy", read_only=True)
    assert s.migrated_from == 1 and len(s) == 4
    s.close()
    assert (store.dir / "legacy.json").read_bytes() == FIXTURE.read_bytes()
