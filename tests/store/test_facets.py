"""The index the analysis counts from: model, persona attributes and follow-ups are kept beside status,
tags, template, version and slot values; an index or journal from before them is rebuilt, not trusted."""

import orjson

from studio.store.snapshot import INDEX_FORMAT, index_header

from tests.store.conftest import die_after, sample


def _add(session):
    session.add_samples([sample(i, persona={"text": "t", "age_band": ("teen", "adult")[i % 2], "level": i % 3,
                                            "likes": ["x"]}) for i in range(10)])
    session.update_sample(3, followups={"double-check": {"verdict": "correct"}}, model="render", cost=None)
    session.toggle_tag(4, "unsafe")


def test_facets_give_columns_and_inverted_indexes_without_parsing(session):
    _add(session)
    f = session.facets()
    assert f.ids == list(range(1, 11))
    assert f.model[2] == "render" and f.cost[2] == 0.0 and f.model[0] == "openai/fake"   # render: $0 (core.cost)
    assert f.persona[("age_band", "teen")] == {1, 3, 5, 7, 9}
    assert f.persona[("level", "0")] == {1, 4, 7, 10}                  # numbers as text
    assert not any(attr in ("text", "likes") for attr, _ in f.persona)  # the text and lists are not categories
    assert f.slots[("product", "modem")] == {2, 4, 6, 8, 10}
    assert f.by_tag == {"unsafe": {4}} and f.by_template == {"support": set(range(1, 11))}
    assert session.facets(template="support").ids == f.ids and session.facets(template="nope").ids == []
    assert session.ids(followup="double-check") == [3]
    session.update_sample(3, followups={})
    assert session.ids(followup="double-check") == []


def test_an_index_of_an_older_format_is_rebuilt(store):
    with store.create("old") as s:
        _add(s)
        s.compact()
        index_path = s.files.index
    header = index_header(index_path)
    assert header["format"] == INDEX_FORMAT and header["n"] == 10
    st = s.path.stat()
    older = [orjson.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino,
                           "head_len": header["head_len"], "format": 4,
                           "id": list(range(1, 11))}),                          # format 4: one JSON document
             index_path.read_bytes().replace(b'"format":%d' % INDEX_FORMAT, b'"format":6', 1)]
    for read_only in (False, True):
        for text in older:
            index_path.write_bytes(text)
            files = sorted(p.stat().st_mtime_ns for p in [s.path, *s.files.segments.iterdir()])
            with store.open("old", read_only=read_only) as again:
                assert again.ids(followup="double-check") == [3]
                assert again.facets().persona[("age_band", "adult")] == {2, 4, 6, 8, 10}
            # written again for the next open, by a read-only view too (a cache); the session's files untouched
            assert index_header(index_path)["format"] == INDEX_FORMAT
            assert sorted(p.stat().st_mtime_ns for p in [s.path, *s.files.segments.iterdir()]) == files


def test_journal_headers_from_before_the_new_fields_are_reindexed(store):
    from studio.store import journal

    store.create("j").close()

    def work():
        _add(store.open("j"))

    die_after(work)                                     # killed: the changes are only in the journal
    path = store.dir / "j.journal"
    ops = journal.read(path).ops
    assert any("fu" in (h.get("ix") or {}) for h, _ in ops)
    old = b""
    for header, raw in ops:                             # as a journal of index format 2 wrote them
        for key in ("md", "pa", "fu"):
            (header.get("ix") or {}).pop(key, None)
        old += journal.encode(header, raw)
    path.write_bytes(old)
    with store.open("j") as s:
        assert s.ids(followup="double-check") == [3]
        assert s.facets().model[2] == "render"
        assert s.facets().persona[("age_band", "teen")] == {1, 3, 5, 7, 9}
