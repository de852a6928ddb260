"""The studio's text index (studio.store.textindex) answers a text filter exactly as the scan does.

Checked against a reference written here from the filter's definition (a caseless substring — NFKC, casefold,
NFKC — of one
of output, note, error, a message's content, a slot value or the persona text), over needles of every kind:
whole words, parts of words, word ends and starts, several words, whitespace of every sort at either end,
non-ASCII case, text across two fields (never a match), words only ever apart; and over every way the
samples change: added, noted, undone, bulk-changed, changed while the index was being built.
"""

from __future__ import annotations

import random
import unicodedata

import pytest

from studio.core.record import SAMPLE_FIELDS
from studio.store import textindex
from tests.store.conftest import sample

WORDS = ["Router", "router,", "modem", "MODEM-7", "dropping", "the", "customer", "42", "420", "customer42",
         "Ärger", "straße", "naïve", "İstanbul", "x", "a.b", "(drop)", "ROUTERS", "Σίσυφος", "end."]
SPACES = [" ", " ", " ", "  ", "\n", "\t", " \n "]


def reference(session, text: str, ids=None) -> list[int]:
    """The filter's definition, on the parsed samples (no index, no scan)."""
    needle = caseless(text)
    out = []
    for sid in session.ids() if ids is None else ids:
        doc = session.get(sid)
        fields = [doc.get("output") or "", doc.get("note") or "", doc.get("error") or ""]
        fields += [m.get("content") or "" for m in doc.get("messages") or []]
        fields += [str(v) for v in (doc.get("slots") or {}).values()]
        fields.append(str((doc.get("persona") or {}).get("text") or ""))
        if any(needle in caseless(str(f)) for f in fields):
            out.append(sid)
    return out


def caseless(text: str) -> str:
    """Unicode's compatibility caseless form, from its definition (not the studio's fold)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def phrase(rng: random.Random, n: int) -> str:
    out = rng.choice(WORDS)
    for _ in range(n - 1):
        out += rng.choice(SPACES) + rng.choice(WORDS)
    return out


def random_sample(rng: random.Random, i: int) -> dict:
    s = sample(i)
    s["output"] = phrase(rng, rng.randint(0, 12)) if rng.random() > 0.1 else ""
    s["messages"] = [{"role": "user", "content": phrase(rng, rng.randint(1, 8))}]
    s["slots"] = {"product": rng.choice(["router", "modem", "Phone X"]), "n": i, "price": 4.2}
    s["persona"] = {"text": phrase(rng, 3)} if i % 3 else None
    if i % 7 == 0:
        s["error"] = "Timeout  after 42 s"
    return s


def needles(rng: random.Random, session, k: int) -> list[str]:
    """Needles of every kind, many cut from the samples' own text (so they match something)."""
    out = ["router", "ROUTER", "rout", "outer", "er,", "modem dropping", "customer 42", "customer  42", " router",
           "router ", "  ", " ", "\n", "ärger", "ÄRGER", "STRASSE", "straße", "i̇stanbul", "σίσυφος", "drop)",
           "a.b customer", "42 s", "timeout  after", "4.2", "phone x", "x\nrouter", "nothing-here",
           "end. router", "modem\nmodem", "the the", "42\t420"]
    texts = []
    for sid in session.ids():
        doc = session.get(sid)
        texts += [doc.get("output") or "", doc["messages"][0]["content"], doc.get("note") or ""]
    texts = [t for t in texts if t]
    for _ in range(k):
        t = rng.choice(texts)
        a = rng.randrange(len(t))
        b = rng.randint(a + 1, min(len(t), a + 30))
        out.append(t[a:b] if rng.random() > 0.3 else t[a:b].upper())
    out.append(texts[0] + "\x00")               # the index cannot answer: the scan does
    return out


def answers(session, text: str, **filters) -> tuple[list[int], list[int]]:
    """(the index's answer, the scan's answer) for one text filter."""
    with_index = session.ids(text=text, **filters)
    kept, session._text = session._text, None
    try:
        scanned = session.ids(text=text, **filters)
    finally:
        session._text = kept
    return with_index, scanned


def assert_same(session, rng, k=60) -> None:
    assert session._text is not None, "the text index was not built"
    for text in needles(rng, session, k):
        got, scanned = answers(session, text)
        want = reference(session, text)
        assert got == want, f"index, text={text!r}: {got} != {want}"
        assert scanned == want, f"scan, text={text!r}"
    pending = session.ids(status="pending")
    for text in ("router", "customer 42", " modem"):
        got, _ = answers(session, text, status="pending")
        assert got == reference(session, text, pending)
        assert session.ids(text=text, desc=True) == reference(session, text)[::-1]


def test_the_index_answers_every_kind_of_needle_as_the_filter_defines_it(session):
    rng = random.Random(15)
    session.add_samples([random_sample(rng, i) for i in range(1, 121)])
    session.build_text_index()
    assert_same(session, rng)


def test_the_index_follows_every_change_after_it_is_built(session):
    rng = random.Random(16)
    session.add_samples([random_sample(rng, i) for i in range(1, 41)])
    session.build_text_index()
    # new samples, notes (set, changed, removed), review keys, a bulk action, undo of each
    session.add_samples([random_sample(rng, i) for i in range(41, 61)])
    session.set_note(3, "Refund the ROUTER now")
    session.set_note(5, "customer  42 again")
    assert session.ids(text="refund") == [3]
    session.set_note(3, "nothing to see")
    assert session.ids(text="refund") == []
    session.undo()                                    # the note is "Refund the ROUTER now" again
    assert session.ids(text="refund the router") == [3]
    assert session.ids(text="42 again") == [5]
    session.undo()                                    # and before that: #5 had no note
    assert session.ids(text="42 again") == [] and session.ids(text="refund") == [3]
    session.bulk_set_status(session.ids(), "rejected")
    session.toggle_tag(7, "wrong")
    session.update_sample(9, output="A brand new answer about routers")
    assert 9 in session.ids(text="brand new answer")
    session.undo()
    assert_same(session, rng, k=40)


def test_samples_changed_while_the_index_is_built_are_found(session, monkeypatch):
    """The index is built outside the session's lock: a change made meanwhile (here: during the first sample's
    indexing) must be in it, as must a sample added meanwhile."""
    rng = random.Random(17)
    session.add_samples([random_sample(rng, i) for i in range(1, 31)])
    real_put = textindex.TextIndex.put_raw
    done = []

    def put_raw(self, sid, raw):
        real_put(self, sid, raw)
        if not done:
            done.append(sid)
            session.set_note(25, "changed while building: zebra")
            session.set_note(1, "the first one: okapi")        # already read by the build
            session.add_samples([{**random_sample(rng, 99), "output": "added while building: quagga"}])

    monkeypatch.setattr(textindex.TextIndex, "put_raw", put_raw)
    session.build_text_index()
    monkeypatch.undo()
    assert session.ids(text="zebra") == [25]
    assert session.ids(text="okapi") == [1]
    assert session.ids(text="quagga") == [31]
    assert_same(session, rng, k=30)


@pytest.mark.parametrize("grows", ["while built", "after built"])
def test_past_its_memory_budget_the_index_is_given_up_and_filters_scan(session, monkeypatch, grows):
    """The index costs about twice the searched text: a session too large for it (a million samples would
    take ~1.4 GB) keeps scanning, with the same answers, and is not built again on the next request."""
    from studio.store import session as session_module

    rng = random.Random(18)
    session.add_samples([random_sample(rng, i) for i in range(1, 61)])
    if grows == "while built":
        monkeypatch.setattr(session_module, "TEXT_INDEX_BUDGET", 200)
        session.build_text_index()
    else:
        session.build_text_index()
        assert session.text_index_ready
        monkeypatch.setattr(session_module, "TEXT_INDEX_BUDGET", session._text.text_bytes + 100)
        session.add_samples([{**random_sample(rng, 61), "output": "a long new answer " * 20}])
    assert not session.text_index_ready and session._text_building is None
    monkeypatch.setattr(session_module, "TEXT_INDEX_BUDGET", 1 << 30)
    session.build_text_index()                       # given up once: not built again for this session
    assert not session.text_index_ready
    for text in needles(rng, session, 20):
        assert session.ids(text=text) == reference(session, text), text


def test_headless_sessions_never_build_it(store, session):
    session.add_samples([sample(i) for i in range(1, 6)])
    assert session.ids(text="restart") == [1, 2, 3, 4, 5]
    assert session._text is None                     # `studio show/export/run` scan; only the studio builds it


@pytest.mark.parametrize("needle,kind", [("router", "in"), ("route", "in"), ("outer", "in"), ("rout", "start"),
                                         ("er", "end"), ("modem", "start"), ("7", "end")])
def test_vocabulary_lookups(needle, kind):
    ix = textindex.TextIndex()
    ix.put(1, {"output": "router modem-7 routers"})
    ix.put(2, {"output": "Outer rim"})
    want = {w for w in (b"router", b"modem-7", b"routers", b"outer", b"rim")
            if {"in": needle.encode() in w, "start": w.startswith(needle.encode()),
                "end": w.endswith(needle.encode())}[kind]}
    assert set(ix._vocab_hits(needle.encode(), kind)) == want


@pytest.mark.parametrize("field", sorted(set(SAMPLE_FIELDS) | {"extra_field"}))
def test_a_change_outside_the_searched_fields_leaves_the_searched_text_as_it_was(field):
    """Review keys and bulk actions skip the text index for a sample whose SEARCHED fields did not change: that
    is right only if SEARCHED names every field search_texts reads. Each field of the record is changed to text
    no sample has: the searched text changes exactly when the field is in SEARCHED."""
    from studio.core.record import new_sample

    base = new_sample(sample(3), now=1.0)
    changed = dict(base)
    was = base.get(field)
    new = "zqzq novel words"
    changed[field] = ({"role": "user", "content": new} if field == "messages" else
                      {"zq": new, "text": new}) if isinstance(was, dict) else (
                      [{"role": "user", "content": new}] if isinstance(was, list) else new)
    if field == "messages":
        changed[field] = [{"role": "user", "content": new}]
    assert (textindex.lowered(changed) != textindex.lowered(base)) == (field in textindex.SEARCHED), field


def test_a_bulk_verdict_keeps_the_index_answering_as_the_scan(session):
    """A bulk accept and its undo change no searched field: the index is left as it is and still answers every
    needle as the scan does (and a note, which is searched, is still followed)."""
    rng = random.Random(17)
    session.add_samples([random_sample(rng, i) for i in range(1, 61)])
    session.build_text_index()
    session.bulk_set_status(session.ids(), "accepted")
    session.set_note(4, "a zqzq note")
    session.undo_step()
    session.undo_step()
    assert session.ids(text="zqzq") == [] and session.count(status="accepted") == 0
    assert_same(session, rng, k=40)
