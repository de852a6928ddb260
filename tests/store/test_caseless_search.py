"""A text filter is caseless as the README promises, by Unicode's rule (NFKC, casefold, NFKC), the same in
every path that answers it: the file scan (its ASCII fast path's block grep for a large set, the per-sample
check for a few candidates, samples still in memory) and the in-memory word index. STRASSE finds Straße,
ΟΔΥΣΣΕΥΣ finds Οδυσσευς (final ς), FINANCE finds ﬁnance, é composed finds e + U+0301, ＡＢＣ finds abc.

Decided: the dot of İ stays (its fold is i + U+0307, so `istanbul` does not find İstanbul while `İSTANBUL`
and `i̇stanbul` do), and accents stay (`cafe` does not find café): caseless, not accent-blind."""

from __future__ import annotations

import unicodedata

import pytest

from studio.store.textindex import _folds_to_ascii, fold
from tests.store.conftest import sample

# groups of texts that are caselessly the same, and queries that must find every text of their group (and
# no text of another group unless it is caselessly there too)
GROUPS = {
    "sharp s": (["Hauptstraße 5", "HAUPTSTRASSE 5", "hauptstrasse 5"], ["STRASSE", "straße", "Straße 5", "STRAẞE",
                                                                         "strasse"]),
    "dotted I": (["İstanbul", "İSTANBUL", "i\u0307stanbul"], ["İSTANBUL", "i\u0307stanbul", "İstan"]),
    "final sigma": (["ΟΔΥΣΣΕΥΣ", "Οδυσσευς", "οδυσσευσ"], ["οδυσσευς", "ΟΔΥΣΣΕΥΣ", "σευσ", "ΣΕΥΣ"]),
    "ligature": (["ﬁnance report", "FINANCE report", "Finance Report"], ["finance", "ﬁnance", "FINANCE REPORT",
                                                                        "fin"]),
    "combining accent": (["café au lait", "cafe\u0301 au lait", "CAFÉ AU LAIT"], ["CAFÉ", "cafe\u0301", "café au",
                                                                                "CAFE\u0301 AU"]),
    "width and spaces": (["ＡＢＣ\u00a0corp", "abc corp", "ABC Corp"], ["abc corp", "ＡＢＣ corp", "abc\u00a0CORP"]),
    "plain ASCII": (["Hello World", "HELLO WORLD", "hello world"], ["hello", "o w", "WORLD", "Hello World"]),
}
NOT_FOUND = ["istanbul", "cafe au", "xyzzy", "hello  world", "strasse 6"]


def caseless(text: str) -> str:
    """Unicode's compatibility caseless form, from its definition (not the studio's fold)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def texts() -> list[tuple[str, str]]:
    return [(group, t) for group, (members, _q) in GROUPS.items() for t in members]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A session holding every text in a different field (output, slot value, persona, note), 3,000 ASCII
    fillers, half the texts written to the files and half still in memory (not folded yet)."""
    from studio.store import Store

    store = Store(tmp_path_factory.mktemp("caseless") / "sessions")
    where: dict[int, tuple[str, str]] = {}

    def add(s, items):
        docs = []
        for k, (_group, text) in enumerate(items):
            doc = sample(k, status="pending")
            field = k % 3
            if field == 0:
                doc["output"] = f"reply: {text}"
            elif field == 1:
                doc["slots"] = {"place": text, "n": "1"}
            else:
                doc["persona"] = {"text": f"lives at {text}"}
            docs.append(doc)
        for sid, item in zip(s.add_samples(docs), items):
            where[sid] = item

    half = len(texts()) // 2
    with store.create("c") as s:
        fill = [sample(10_000 + i) for i in range(3000)]
        s.add_samples(fill)
        for sid in s.ids():
            s.accept(sid)                       # fillers accepted: status=pending leaves only the texts
        add(s, texts()[:half])
    s = store.open("c")
    add(s, texts()[half:])                      # held in memory, not yet in the segment files
    yield s, where
    s.close()


def expected(where, query: str) -> set[int]:
    return {sid for sid, (_g, text) in where.items() if caseless(query) in caseless(text)}


PATHS = ["scan: block grep", "scan: a few candidates", "index"]
QUERIES = [(group, q) for group, (_m, qs) in GROUPS.items() for q in qs] + [("none", q) for q in NOT_FOUND]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("group,query", QUERIES, ids=[f"{g}:{q}" for g, q in QUERIES])
def test_every_path_finds_the_same_caseless_matches(made, path, group, query):
    s, where = made
    if path == "index" and not s.text_index_ready:
        s.build_text_index()
    if path != "index" and s.text_index_ready:
        s._text = None                                   # the scan answers again
    want = expected(where, query)
    if group != "none":
        members = {sid for sid, (g, _t) in where.items() if g == group}
        assert members <= want, (query, "the reference misses its own group")   # the table is right
    else:
        assert not want
    filters = {"status": "pending"} if path == "scan: a few candidates" else {}
    assert set(s.ids(text=query, **filters)) == want, (path, query)


def test_fold_is_the_definition_and_ascii_stays_lowered():
    for _g, text in texts():
        assert fold(text) == caseless(text)
    assert fold("Hello WORLD") == "hello world"


def test_nothing_above_plane_1_folds_into_ascii():
    """The scan's fast path looks for the characters that fold into ASCII among planes 0 and 1 only."""
    above = [cp for cp in range(0x20000, 0x110000) if any(x < "\x80" for x in caseless(chr(cp)))]
    assert not above
    assert {"ß", "ﬁ", "\u212a", "\u00a0", "Ａ", "İ"} <= set(_folds_to_ascii())
