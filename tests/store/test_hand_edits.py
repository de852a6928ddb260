"""Sessions edited by hand with plain TinyDB (README "Sessions"): nothing a person put in is dropped or taken in
garbled; the open says what was wrong, per file and sample id, and how it was made safe."""

import json
from pathlib import Path

import pytest
from tinydb import TinyDB
from tinydb.table import Document

from studio.store import SessionRecovered, Store
from tests.store.conftest import sample

PER = 10


def _session(store: Store, n: int = 25) -> None:
    with store.create("s1", segment_samples=PER) as s:
        s.add_samples([sample(i) for i in range(1, n + 1)])
        s.accept(3)


def _insert(path: Path, doc: dict, doc_id: int | None = None) -> int:
    with TinyDB(path) as db:
        t = db.table("samples")
        return t.insert(Document(doc, doc_id=doc_id) if doc_id else doc)


def _delete(path: Path, sid: int) -> None:
    with TinyDB(path) as db:
        db.table("samples").remove(doc_ids=[sid])


def _edited(store: Store) -> list[Path]:
    f = store.files("s1")
    return sorted(f.folder.glob("s1.json.edited-*")) + sorted(f.segments.glob("*.edited-*"))


# Inserts with plain TinyDB: (where, setup) -> the ids TinyDB gave, the ids the samples end up with, reported?
INSERTS = {
    "segment 0 of a full session (TinyDB gives 11, segment 1's)": (["seg0"], {11: 26}),
    "a middle segment (TinyDB gives 21, segment 2's)": (["seg1"], {21: 26}),
    "NAME.json's empty samples table (TinyDB gives 1)": (["json"], {1: 26}),
    "two segments at once": (["seg0", "seg1"], {11: 26, 21: 27}),
    "the last segment (as the README says)": (["seg2"], {}),
}


@pytest.mark.parametrize("case", list(INSERTS))
def test_a_sample_inserted_anywhere_is_kept_and_a_taken_id_is_said(store, case):
    places, renumbered = INSERTS[case]
    _session(store)
    f = store.files("s1")
    paths = {"seg0": f.segment(0), "seg1": f.segment(1), "seg2": f.segment(2), "json": f.json}
    given = {}
    for i, where in enumerate(places):
        sid = _insert(paths[where], sample(100 + i, output=f"added by hand {i}"))
        given[sid] = (paths[where], f"added by hand {i}")
    if renumbered:
        with pytest.raises(SessionRecovered) as err:
            store.open("s1")
        msg = str(err.value)
        for old, new in renumbered.items():
            path = given[old][0]
            rel = path.name if path == f.json else f"s1.samples/{path.name}"
            assert f"{rel}: sample {old}: its id belongs to segment" in msg and f"kept as sample {new}" in msg
        assert len(_edited(store)) == len({given[o][0] for o in renumbered})
    expect = {renumbered.get(sid, sid): text for sid, (_p, text) in given.items()}
    for _round in range(2):                        # the next open, then a write and another open: all kept
        with store.open("s1") as s:
            assert len(s) == 25 + len(given) and not s.hand_edits
            for sid, text in expect.items():
                assert s.get(sid)["output"] == text
            for sid in range(1, 26):                # the session's own samples are untouched
                assert s.get(sid)["output"] == f"Answer number {sid}: restart the device."
            s.reject(5)
    for k in range(3):                             # the files are in the studio's layout again: each id in its segment
        with TinyDB(f.segment(k)) as db:
            assert all(k * PER < d.doc_id <= (k + 1) * PER for d in db.table("samples"))


def test_a_sample_moved_by_hand_to_a_free_id_of_another_segment_goes_there_quietly(store):
    _session(store)
    f = store.files("s1")
    _delete(f.segment(1), 15)
    _insert(f.segment(0), sample(15, output="moved"), doc_id=15)
    with store.open("s1") as s:                    # nothing taken, nothing to say
        assert len(s) == 25 and s.get(15)["output"] == "moved" and not s.hand_edits


# Wrong-typed fields: (edit, the field as read, the message's words, kept aside)
FIELDS = [
    ({"tags": "too-long"}, "tags", ["too-long"], "field 'tags' is 'too-long' — use a list of tags", None),
    ({"tags": ["ok", 3]}, "tags", ["ok", "3"], "field 'tags' is [\"ok\", 3]", None),
    ({"tags": None}, "tags", [], "field 'tags' is null", None),
    ({"output": 12345}, "output", "12345", "field 'output' is 12345 — use text or null", None),
    ({"output": {"a": 1}}, "output", '{"a": 1}', "field 'output' is {\"a\": 1}", None),
    ({"status": "approved"}, "status", "pending",
     "field 'status' is 'approved' — use one of pending, accepted, rejected, failed", "approved"),
    ({"status": "Accepted"}, "status", "accepted", "field 'status' is 'Accepted'", None),
    ({"status": 1}, "status", "pending", "field 'status' is 1", 1),
    ({"note": 7}, "note", "7", "field 'note' is 7 — use text", None),
    ({"tokens_in": "12"}, "tokens_in", 12, "field 'tokens_in' is '12' — use a whole number or null", None),
    ({"cost": "a lot"}, "cost", None, "field 'cost' is 'a lot' — use a number or null", "a lot"),
    ({"created": None}, "created", 0.0, "field 'created' is null — use a number", None),
    ({"cached": "yes"}, "cached", True, "field 'cached' is 'yes' — use true or false", None),
    ({"slots": "router"}, "slots", {}, "field 'slots' is 'router' — use an object", "router"),
    ({"messages": "hi"}, "messages", [], "field 'messages' is 'hi' — use a list", "hi"),
]


def _edit_line(seg: Path, sid: int, edit: dict) -> None:
    """Edit one sample's line in place, keeping the studio's line layout (a text editor, sed)."""
    lines = seg.read_bytes().split(b"\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(b'"%d":' % sid))
    key, _, body = lines[at].partition(b":")
    comma = body.endswith(b",")
    doc = json.loads(body[:-1] if comma else body)
    doc.update(edit)
    lines[at] = key + b":" + json.dumps(doc, separators=(",", ":")).encode() + (b"," if comma else b"")
    seg.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("how", ["TinyDB", "text editor"])
@pytest.mark.parametrize("edit,field,value,words,kept", FIELDS, ids=[json.dumps(f[0]) for f in FIELDS])
def test_a_wrong_typed_field_is_said_and_made_safe(store, edit, field, value, words, kept, how):
    _session(store)
    seg = store.files("s1").segment(0)
    if how == "TinyDB":
        with TinyDB(seg) as db:
            db.table("samples").update(edit, doc_ids=[4])
    else:
        _edit_line(seg, 4, edit)
    with pytest.raises(SessionRecovered) as err:
        store.open("s1")
    assert f"s1.samples/00000.json: sample 4: {words}" in str(err.value)
    edited, = _edited(store)
    assert json.loads(edited.read_text())["samples"]["4"][field] == edit[field]     # the file as edited, kept
    if how == "text editor":
        assert "sample 4" in str(err.value) and str(err.value).count("s1.samples/00000.json: sample") == 1
    with store.open("s1") as s:
        got = s.get(4)
        assert got[field] == value and not s.hand_edits
        assert (got.get("kept") or {}).get(field) == kept
        counts = s.counts()["status"]
        assert sum(counts[k] for k in ("accepted", "rejected", "pending", "failed")) == len(s) == 25
        tags = set(s.facets().tags) if hasattr(s.facets(), "tags") else set()
        assert not {"t", "o", "-"} & tags


def test_a_sample_that_is_not_an_object_is_said_and_kept_in_the_file_beside(store):
    _session(store)
    seg = store.files("s1").segment(0)
    data = json.loads(seg.read_text())
    data["samples"]["4"] = "just text"
    data["samples"]["x"] = {"output": "no id"}
    seg.write_text(json.dumps(data))
    with pytest.raises(SessionRecovered) as err:
        store.open("s1")
    msg = str(err.value)
    assert "00000.json: sample 4: not a JSON object" in msg and "00000.json: key 'x'" in msg
    edited, = _edited(store)
    assert json.loads(edited.read_text())["samples"]["4"] == "just text" and edited.name in msg
    with store.open("s1") as s:
        assert len(s) == 24


def test_a_read_only_view_lists_the_problems_and_changes_nothing(store):
    _session(store)
    seg = store.files("s1").segment(0)
    with TinyDB(seg) as db:
        db.table("samples").update({"status": "approved", "tags": "too-long"}, doc_ids=[4])
    before = seg.read_bytes()
    with store.open("s1", read_only=True) as s:
        assert any("sample 4: field 'status' is 'approved'" in m for m in s.hand_edits)
        assert s.get(4)["tags"] == ["too-long"] and s.get(4)["status"] == "pending"
    assert seg.read_bytes() == before and not _edited(store)
