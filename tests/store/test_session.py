"""The Session API as other parts use it: samples, review with undo, queries, templates, runs, feedback."""

import time

import pytest
from tinydb import TinyDB

import studio.store.index as index_module
from studio.store import StoreError
from studio.store.snapshot import index_header
from tests.store.conftest import die_after, sample


def test_added_samples_get_ids_defaults_and_come_back_whole(session):
    ids = session.add_samples([sample(1), sample(2)])
    assert ids == [1, 2]
    doc = session.get(2)
    assert doc["id"] == 2 and doc["status"] == "pending" and doc["tags"] == [] and doc["note"] == ""
    assert doc["slots"] == {"product": "router", "n": "2"} and doc["messages"][0]["content"].endswith("#2")
    assert len(doc["prompt_hash"]) == 12 and doc["created"] <= time.time()
    assert session.add_samples([sample(3)]) == [3]


def test_params_never_keep_credentials(session):
    sid, = session.add_samples([sample(1, params={"temperature": 0.2, "api_key": "sk-secret", "max_tokens": 9,
                                                   "extra": {"Authorization": "Bearer x"}})])
    assert session.get(sid)["params"] == {"temperature": 0.2, "max_tokens": 9, "extra": {}}
    session.close()
    assert b"sk-secret" not in session.path.read_bytes()


def test_review_actions_set_status_tags_note_and_reviewed_time(session):
    session.add_samples([sample(i) for i in range(1, 6)])
    session.accept(1)
    session.reject(2)
    assert session.toggle_tag(2, "unsafe") is True
    session.set_note(3, "too chatty")
    session.set_status(4, "failed")
    assert session.get(1)["status"] == "accepted" and session.get(1)["reviewed"]
    assert session.get(2)["tags"] == ["unsafe"]
    assert session.toggle_tag(2, "unsafe") is False and session.get(2)["tags"] == []
    assert session.get(3)["note"] == "too chatty"
    assert session.counts()["status"] == {"pending": 2, "accepted": 1, "rejected": 1, "failed": 1}
    session.set_status(1, "pending")
    assert session.get(1)["reviewed"] is None


def test_undo_reverts_review_actions_in_reverse_order_including_bulk(session):
    session.add_samples([sample(i) for i in range(1, 6)])
    session.accept(1)
    session.toggle_tag(1, "wrong")
    assert session.bulk_set_status([2, 3, 4], "rejected") == 3
    assert session.undo() == 2
    assert session.count(status="rejected") == 0
    assert session.undo() == 1 and session.get(1)["tags"] == []
    assert session.undo() == 1 and session.get(1)["status"] == "pending"
    assert session.undo() is None


def test_undo_is_durable(store, session):
    session.add_samples([sample(1)])
    session.close()

    def review_then_die():
        s = store.open("s1")
        s.accept(1)
        s.undo()
        s.toggle_tag(1, "x")
        s.undo()
    die_after(review_then_die)
    reopened = store.open("s1")
    assert reopened.get(1)["status"] == "pending" and reopened.get(1)["tags"] == []
    reopened.close()


def test_noop_actions_do_not_fill_the_undo_stack(session):
    session.add_samples([sample(1)])
    session.accept(1)
    session.accept(1)
    assert session.undo() == 1 and not session.can_undo


def test_update_sample_is_not_undoable_and_rejects_unknown_status(session):
    session.add_samples([sample(1)])
    session.update_sample(1, followups={"double-check": {"output": "ok", "verdict": "correct"}})
    assert session.get(1)["followups"]["double-check"]["verdict"] == "correct"
    assert session.undo() is None
    with pytest.raises(StoreError, match="unknown sample status 'great'"):
        session.update_sample(1, status="great")
    with pytest.raises(StoreError, match="no sample 99"):
        session.get(99)


def test_filters_combine_and_are_kept_current(session):
    session.add_samples([sample(i) for i in range(1, 11)])
    session.accept(2)
    session.accept(4)
    session.toggle_tag(4, "too-long")
    session.toggle_tag(5, "too-long")
    assert session.ids(status="accepted") == [2, 4]
    assert session.ids(tag="too-long") == [4, 5]
    assert session.ids(status="accepted", tag="too-long") == [4]
    assert session.ids(version="bbbbbbbbbbbb") == [2, 4, 6, 8, 10]
    assert session.ids(template="support", slot=("product", "modem"), status="pending") == [1, 3, 5, 7, 9]
    assert session.ids(status=["accepted", "rejected"]) == [2, 4]
    assert session.ids(template="other") == []
    assert session.count(tag="too-long") == 2 and session.count() == 10
    session.toggle_tag(4, "too-long")
    assert session.ids(tag="too-long") == [5]
    counts = session.counts()
    assert counts["tags"] == {"too-long": 1}
    assert counts["versions"] == {("support", "aaaaaaaaaaaa"): 5, ("support", "bbbbbbbbbbbb"): 5}


def test_text_search_is_case_insensitive_over_output_prompt_note_and_slots(session):
    session.add_samples([sample(i) for i in range(1, 6)])
    session.set_note(3, "Needs a Citation")
    assert session.ids(text="ANSWER NUMBER 4") == [4]
    assert session.ids(text="#2") == [2]
    assert session.ids(text="citation") == [3]
    assert session.ids(text="nurse aged 35") == [5]
    assert session.ids(text="status") == []                  # field names are not text
    assert session.count(text="restart", status="pending") == 5


def test_order_and_pagination(session):
    session.add_samples([sample(i) for i in range(1, 8)])
    assert session.ids(order="cost", desc=True) == [7, 6, 5, 4, 3, 2, 1]
    assert session.ids(order="latency") == [7, 6, 5, 4, 3, 2, 1]
    session.accept(5)
    session.accept(2)
    assert session.ids(order="reviewed")[:2] == [5, 2]       # never-reviewed sort last
    page = session.query(offset=2, limit=3)
    assert [d["id"] for d in page] == [3, 4, 5]
    assert [d["id"] for d in session.iter_samples(status="accepted")] == [2, 5]
    with pytest.raises(StoreError, match="cannot sort samples by 'colour'"):
        session.ids(order="colour")


def test_templates_are_versioned_by_content(session):
    v1 = session.save_template_version("support", "Hello {{ customer }}")
    assert session.save_template_version("support", "Hello {{ customer }}") == v1
    v2 = session.save_template_version("support", "Hi {{ customer }}")
    assert v1 != v2 and len(v1) == 12
    assert [t["version"] for t in session.template_versions("support")] == [v1, v2]
    assert session.template_text("support", v2) == "Hi {{ customer }}"
    with pytest.raises(StoreError, match="no version 000000000000"):
        session.template_text("support", "000000000000")


def test_runs_meta_labels_and_feedback(store, session):
    run = session.add_run({"template": "support", "model": "openai/fake", "params": {"api_key": "sk-x"}})
    session.update_run(run, finished=123.0, samples=5)
    assert session.runs()[0]["run_id"] == run and session.runs()[0]["finished"] == 123.0
    assert "api_key" not in session.runs()[0]["params"]
    assert session.meta["model"] == "openai/fake" and session.meta["schema_version"] == 3
    session.set_meta(labels=["wrong", "rude"])
    assert session.labels == ["wrong", "rude"]
    fid, = session.add_feedback([{"text": "too wordy"}])
    session.update_feedback(fid, signal={"aspect": "length"})
    session.close()
    again = store.open("s1")
    assert again.feedback()[0]["signal"] == {"aspect": "length"} and again.labels == ["wrong", "rude"]
    assert again.runs()[0]["samples"] == 5
    again.close()


def test_values_that_are_not_json_give_a_clear_error_and_change_nothing(session):
    with pytest.raises(StoreError, match="values must be JSON"):
        session.add_samples([sample(1, parsed=object())])
    assert len(session) == 0


def _plain_tinydb_samples(session) -> dict[int, dict]:
    """The README's recipe: the meta from NAME.json, the samples from each segment, with plain TinyDB."""
    out = {}
    for path in sorted(session.files.segments.glob("*.json")):
        with TinyDB(path) as db:
            out.update({doc.doc_id: dict(doc) for doc in db.table("samples").all()})
    return out


def test_the_files_are_plain_tinydb_after_close(store, monkeypatch):
    monkeypatch.setattr("studio.store.snapshot.SEGMENT_SAMPLES", 4)
    session = store.create("s1")
    session.add_samples([sample(i) for i in range(1, 11)])
    session.accept(2)
    session.close()
    assert sorted(p.name for p in session.files.segments.iterdir()) == ["00000.json", "00001.json", "00002.json"]
    with TinyDB(session.path) as db:
        assert db.table("meta").get(doc_id=1)["name"] == "s1" and len(db.table("samples")) == 0
    samples = _plain_tinydb_samples(session)
    assert sorted(samples) == list(range(1, 11)) and samples[2]["status"] == "accepted"
    with TinyDB(session.files.segment(1)) as db:              # ids 5-8
        assert sorted(d.doc_id for d in db.table("samples").all()) == [5, 6, 7, 8]


def test_files_edited_by_plain_tinydb_are_read_whole_and_reindexed(store, monkeypatch):
    monkeypatch.setattr("studio.store.snapshot.SEGMENT_SAMPLES", 4)
    session = store.create("s1")
    session.add_samples([sample(i) for i in range(1, 13)])
    session.close()
    untouched = session.files.segment(0).stat()
    with TinyDB(session.files.segment(1)) as db:            # ids 5-8: edit one
        db.table("samples").update({"status": "accepted"}, doc_ids=[7])
    with TinyDB(session.files.segment(2)) as db:            # the last segment (ids 9-12): add one, TinyDB's way
        assert db.table("samples").insert({**sample(13), "status": "rejected"}) == 13
    with TinyDB(session.path) as db:
        db.table("meta").update({"note": "edited by hand"}, doc_ids=[1])
    s = store.open("s1")
    assert s.ids(status="accepted") == [7] and s.ids(status="rejected") == [13] and len(s) == 13
    assert s.meta["note"] == "edited by hand"
    s.add_samples([sample(14)])
    s.close()
    # the edited segments were rewritten in the studio's layout (13 moved to the segment of its id), not the others
    assert session.files.segment(0).stat().st_ino == untouched.st_ino
    with TinyDB(session.files.segment(3)) as db:
        assert sorted(d.doc_id for d in db.table("samples").all()) == [13, 14]
    samples = _plain_tinydb_samples(session)
    assert sorted(samples) == list(range(1, 15)) and samples[13]["status"] == "rejected"
    assert samples[7]["status"] == "accepted"
    header = index_header(s.files.index)                       # the index describes the rewritten files
    assert header["files"]["0"][2] == s.path.stat().st_ino
    assert header["files"]["3"][2] == session.files.segment(2).stat().st_ino
    with store.open("s1", read_only=True) as again:
        assert again.ids(status="accepted") == [7] and again.counts()["status"]["pending"] == 12


def test_fold_keeps_everything_and_empties_the_journal(session):
    session.add_samples([sample(i) for i in range(1, 50)])
    session.accept(7)
    assert session.files.journal.stat().st_size > 0
    session.compact()
    assert session._journal.size == 0
    session.toggle_tag(7, "x")
    assert session.get(7)["status"] == "accepted" and session.get(7)["tags"] == ["x"]
    assert session.get(49)["output"].startswith("Answer number 49")


def test_bulk_over_several_journal_chunks_is_one_undo_step(session):
    session.add_samples([sample(i) for i in range(1, 2502)])
    session.accept(7)
    assert session.bulk_set_status(range(1, 2502), "rejected") == 2501
    assert session.count(status="rejected") == 2501
    session.undo()
    assert session.counts()["status"]["pending"] == 2500 and session.ids(status="accepted") == [7]
    with pytest.raises(StoreError, match="no sample 9999"):
        session.bulk_set_status([1, 9999], "accepted")
    assert session.get(1)["status"] == "pending"             # nothing changed before the bad id was found


def test_text_search_over_the_file_in_blocks_and_in_memory(session, monkeypatch):
    session.add_samples([sample(i) for i in range(1, 41)])
    session.compact()                                        # samples now read from the file
    monkeypatch.setattr(index_module, "GREP_BLOCK", 300)    # many small blocks: exercise the edges
    session.set_note(12, "refund REQUESTED")                 # in memory again
    session.add_samples([sample(41, output="Please refund me")])
    assert session.ids(text="answer number 3") == [3] + list(range(30, 40))
    assert session.ids(text="refund") == [12, 41]
    assert session.ids(text='"status"') == [] and session.ids(text="pending") == []
    assert session.ids(text="#40") == [40]
    assert session.count(text="restart", status="pending") == 40      # all but #41


def test_a_lost_index_is_rebuilt_from_the_file_without_rewriting_it(store, session):
    session.add_samples([sample(i) for i in range(1, 30)])
    session.accept(4)
    session.close()
    before = session.path.stat()
    session.files.index.unlink()
    s = store.open("s1")
    assert s.get(4)["status"] == "accepted" and s.ids(slot=("product", "modem")) == list(range(1, 30, 2))
    assert s.files.index.exists() and session.path.stat().st_mtime_ns == before.st_mtime_ns
    s.set_note(5, "x")
    s.close()
    s = store.open("s1")
    assert s.get(5)["note"] == "x" and len(s) == 29
    s.close()


def test_streaming_reads_in_batches_what_get_returns_from_file_and_memory(session):
    session.add_samples([sample(i) for i in range(1, 12)])
    session.compact()                                          # 1-11 now live in NAME.json
    session.add_samples([sample(i) for i in range(12, 16)])    # 12-15 only in the journal / memory
    session.toggle_tag(3, "too-long")
    session.accept(13)
    expected = [session.get(i) for i in range(1, 16)]
    assert list(session.iter_samples(batch=4)) == expected
    assert list(session.iter_samples(batch=1000)) == expected
    assert [d["id"] for d in session.iter_samples(status="accepted", batch=2)] == [13]


def test_samples_by_id_come_in_the_asked_order_and_skip_unknown_ids(session):
    session.add_samples([sample(i) for i in range(1, 8)])
    session.compact()
    session.add_samples([sample(8)])                           # in the journal only
    wanted = [8, 2, 7, 1]
    assert list(session.samples(wanted, batch=3)) == [session.get(i) for i in wanted]
    assert [d["id"] for d in session.samples([3, 999, 4])] == [3, 4]


def test_projected_stream_parses_the_head_and_takes_the_rest_from_the_index(session):
    session.add_samples([sample(i, tags=["b", "a"] if i == 4 else []) for i in range(1, 9)])
    session.compact()
    session.add_samples([sample(9, slots={"x": "1", "messages": "a slot named like a field"})])  # cut inside slots
    session.reject(2)
    fields = ("template", "template_version", "status", "tags", "cost", "slots", "persona")
    for doc in session.iter_samples(fields=fields, batch=3):
        whole = session.get(doc["id"])
        assert ("messages" in doc) == (doc["id"] == 9)          # 9: the cut is not trusted, parsed whole
        for f in fields:
            assert (sorted(doc[f]) if f == "tags" else doc[f]) == (sorted(whole[f]) if f == "tags" else whole[f])
    assert [d["status"] for d in session.iter_samples(fields=("status",))][:3] == ["pending", "rejected", "pending"]
    # a field neither in the head nor in the index: whole samples
    assert "output" in next(session.iter_samples(fields=("status", "model")))


def test_flagged_samples_are_filterable_and_survive_reopening(store, session):
    session.add_samples([sample(1), sample(2, flag="cut-off", finish_reason="length"), sample(3, flag="preview")])
    assert session.ids(flag="cut-off") == [2]
    assert session.ids(flag="") == [1]                                   # "" means clean
    assert session.ids(flag=["cut-off", "preview"], status="pending") == [2, 3]
    assert session.count(flag="preview") == 1
    session.update_sample(2, flag=None)
    assert session.ids(flag="") == [1, 2]
    session.close()
    with store.open(session.name) as again:
        assert again.ids(flag="preview") == [3] and again.get(2)["finish_reason"] == "length"
        again.compact()
    with store.open(session.name) as third:                               # from NAME.index this time
        assert third.ids(flag="") == [1, 2]


@pytest.mark.parametrize("edited", ["segment", "NAME.json"])
def test_a_file_edited_in_place_while_the_session_is_open_is_never_read_from_wrong_places(store, edited):
    """Plain TinyDB rewrites a file in place. A session open meanwhile holds places in the old bytes: it must
    refuse to read or fold that file (a review key then says it was not saved, never shows as done), keep what
    it saved before in the journal, and the next open reads the edit and the journal both, from the files
    (the index cache written at close does not claim the edited file)."""
    from tinydb import TinyDB

    from studio.store.snapshot import FileChanged

    s = store.create("e")
    s.add_samples([sample(i) for i in range(1, 41)])
    s.close()
    s = store.open("e")
    s.accept(1)
    s.set_note(2, "kept in the journal")
    files = store.files("e")
    with TinyDB(files.segment(0) if edited == "segment" else files.json) as db:
        if edited == "segment":
            db.table("samples").update({"output": "EXTERNAL EDIT"}, doc_ids=[3])
        else:
            db.table("meta").update({"note": "edited by hand"}, doc_ids=[1])
    if edited == "segment":
        with pytest.raises(FileChanged, match="changed by another program.*not saved"):
            s.accept(40)
        with pytest.raises(FileChanged):
            s.get(5)
    with pytest.raises(FileChanged):
        s.close()                                     # no fold from stale places; the lock is released
    for _ in range(2):                                # the index cache written meanwhile never hides the edit
        with store.open("e") as s:
            assert len(s) == 40
            assert (s.get(1)["status"], s.get(2)["note"], s.get(40)["status"]) == ("accepted", "kept in the journal",
                                                                                   "pending")
            if edited == "segment":
                assert s.get(3)["output"] == "EXTERNAL EDIT"
            assert [x["id"] for x in s.iter_samples()] == list(range(1, 41))
