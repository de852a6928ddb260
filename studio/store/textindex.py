"""The studio's text filter in milliseconds: an in-memory word index over what the text filter searches.

`Session.ids(text=...)` otherwise scans the session file (~0.25 s per 100,000 samples), which is fine for
`studio show` but not for a filter key. The studio asks for this index once (`Session.build_text_index`,
in a worker); headless commands never build it. It holds, per sample, the searched fields lowered and
joined by NUL (`lowered`), and per whitespace-separated word the sorted ids of the samples that have it.

A needle without whitespace lies inside one word, so the samples matching it are exactly those holding a
word that contains it (found in the vocabulary, a few thousand words, not in the samples). A needle with
whitespace needs its first word as a word's end, its last as a word's start and the middle ones whole;
the samples that have them all are then checked against their lowered text. Same answers as the scan
(`search_texts` and `fold`, shared with it): a caseless substring of one field.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from typing import Any, Iterable, Iterator

import orjson

_SPACE = re.compile(rb"([ \t\n\r\x0b\x0c]+)")   # what bytes.split() splits on


def _words_and_pairs(text: bytes) -> tuple[set[bytes], set[bytes]]:
    """The words of a lowered text (between whitespace and field ends) and its pairs: each word with the
    whitespace and the word after it in the same field."""
    words: set[bytes] = set()
    pairs: set[bytes] = set()
    for field in text.split(b"\x00"):
        parts = _SPACE.split(field.strip())
        words.update(parts[0::2])
        if len(parts) > 2:
            pairs.update(map(b"".join, zip(parts[0::2], parts[1::2], parts[2::2])))
    words.discard(b"")
    return words, pairs


SEARCHED = frozenset({"output", "note", "error", "messages", "slots", "persona"})   # the fields search_texts reads


def search_texts(doc: dict) -> list:
    """The fields a text filter searches: output, note, error, the messages' content, slot values, persona text."""
    hay: list = [doc.get("output") or "", doc.get("note") or "", doc.get("error") or ""]
    hay += [m.get("content") or "" for m in doc.get("messages") or [] if isinstance(m, dict)]
    hay += [str(v) for v in (doc.get("slots") or {}).values()]
    persona = doc.get("persona")
    if isinstance(persona, dict):
        hay.append(str(persona.get("text") or ""))
    return hay


def fold(text: str) -> str:
    """The caseless form a text filter compares (Unicode's compatibility caseless match: NFKC, casefold, NFKC):
    STRASSE and Straße, ΟΔΥΣΣΕΥΣ and Οδυσσευς (final ς), ﬁ and fi, é and e + U+0301, ＡＢＣ and abc are each
    the same. The query and every searched text go through it, in the scan and in the index alike. ASCII text
    (the common case) is only lowered, which is the same thing for it, at str.lower's speed."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


@functools.cache
def _folds_to_ascii() -> dict[str, frozenset[str]]:
    """Every non-ASCII character whose fold holds ASCII characters -> those characters (ß: s; ﬁ: f, i; K
    Kelvin: k; no-break space: space; ª: a; ™: t, m). Planes 0 and 1 (nothing above folds to ASCII; a test
    checks it). About 0.1 s, once per process, on the first scan for an ASCII word."""
    out = {}
    for cp in range(0x80, 0x20000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        asc = frozenset(x for x in fold(c) if x < "\x80")
        if asc:
            out[c] = asc
    return out


_ASCII = bytes(range(128))


class AsciiSources:
    """What could fold into part of an ASCII needle without being ASCII in the stored JSON: the non-ASCII
    characters whose fold holds one of the needle's characters (ß for "strasse", ﬁ for "fine", a no-break
    space for "a b"). The store writes JSON with such characters as they are (orjson; a file not in its layout
    is rewritten so), so the scan's ASCII fast path greps the needle itself and also takes the samples these
    characters are in, to confirm on their folded text."""

    def __init__(self, chars: frozenset[str]) -> None:
        self.chars = chars
        self.pattern = re.compile(_trie(sorted(c.encode("utf-8") for c in chars))) if chars else None

    def present(self, raw: bytes) -> bool:
        """True when UTF-8 `raw` holds one of the characters. Such characters are rare, so this is asked of a
        whole block first: its ASCII dropped by one translate (GB/s), the few characters left looked up."""
        if not self.chars or raw.isascii():
            return False
        return not self.chars.isdisjoint(raw.translate(None, _ASCII).decode("utf-8", "replace"))

    def where(self, block: bytes) -> Iterator[int]:
        """Offsets in `block` where one of the characters starts (call when `present`)."""
        if self.pattern is not None:
            for m in self.pattern.finditer(block):
                yield m.start()


@functools.lru_cache(maxsize=64)
def ascii_sources(needle: str) -> AsciiSources:
    """The AsciiSources of an ASCII (folded) needle."""
    chars = set(needle)
    return AsciiSources(frozenset(c for c, asc in _folds_to_ascii().items() if asc & chars))


def _trie(words: list[bytes]) -> bytes:
    """A regex matching any of `words` (UTF-8 sequences), shaped as a trie: one branch per lead byte, so the
    scan's search tries a few bytes at a non-ASCII character, not every word. Its top is a bare alternation
    of literal lead bytes, so `re` skips to the next candidate lead byte in C (its charset prefix)."""
    tree: dict = {}
    for w in words:
        node = tree
        for b in w:
            node = node.setdefault(b, {})
        node[None] = {}

    def emit(node: dict, top: bool = False) -> bytes:
        leaves = [b for b, child in node.items() if b is not None and child == {None: {}}]
        branches = [re.escape(bytes([b])) + emit(child) for b, child in node.items()
                    if b is not None and child != {None: {}}]
        if len(leaves) == 1:
            branches.append(re.escape(bytes(leaves)))
        elif leaves:
            branches.append(b"[" + b"".join(re.escape(bytes([b])) for b in sorted(leaves)) + b"]")
        body = b"|".join(branches)
        return body if top or len(branches) == 1 else b"(?:" + body + b")"

    return emit(tree, top=True)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def lowered(doc: dict) -> bytes:
    """The searched fields of `doc`, each folded as the scan folds it (`fold`), joined by NUL (no match spans
    two)."""
    return b"\x00".join(_bytes(fold(str(h))) for h in search_texts(doc) if h)


class TextIndex:
    """See the module's docstring. Not thread-safe: the session calls it under its lock (or, while it is
    built, from the one building thread, with changes meanwhile kept in `dirty` and applied after)."""

    def __init__(self) -> None:
        self.texts: dict[int, bytes] = {}
        self.posting: dict[bytes, array] = {}          # word -> ascending sample ids
        self.vocab = bytearray(b"\n")                   # every word ever seen, each followed by \n
        self.starts = array("q")                        # where word k starts in `vocab`
        self.words: list[bytes] = []
        self.pairs = bytearray(b"\x00")                 # every "word whitespace word" seen, each followed by NUL
        self.pair_seen: set[bytes] = set()
        self.dirty: set[int] = set()                    # ids changed while the index was being built
        self.top = 0                                    # the largest id indexed
        self.text_bytes = 0                             # len of every text held (the index is about twice it)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def nbytes(self) -> int:
        """About how much memory the index holds (texts, postings, vocabulary)."""
        return (sum(map(len, self.texts.values())) + 90 * len(self.texts)
                + sum(a.itemsize * len(a) + 64 for a in self.posting.values()) + 2 * len(self.vocab))

    def put_raw(self, sid: int, raw: Any) -> None:
        """Sample `sid` as its stored JSON (bytes or str), as `put` takes it parsed."""
        self.put(sid, orjson.loads(raw))

    def put(self, sid: int, doc: dict) -> None:
        """Sample `sid` is now `doc` (new or changed)."""
        new = lowered(doc)
        old = self.texts.get(sid)
        if old == new:
            return
        self.texts[sid] = new
        self.text_bytes += len(new) - (len(old) if old is not None else 0)
        if sid > self.top:
            self.top = sid
        now, pairs = _words_and_pairs(new)
        before = _words_and_pairs(old)[0] if old is not None else set()
        pairs -= self.pair_seen
        if pairs:
            self.pair_seen |= pairs
            self.pairs += b"\x00".join(pairs) + b"\x00"
        posting = self.posting
        for word in before - now:
            arr = posting[word]
            i = bisect_left(arr, sid)
            if i < len(arr) and arr[i] == sid:
                del arr[i]
        for word in now - before:
            arr = posting.get(word)
            if arr is None:
                arr = posting[word] = array("q")
                self.starts.append(len(self.vocab))
                self.vocab += word + b"\n"
                self.words.append(word)
            if not arr or arr[-1] < sid:
                arr.append(sid)
            else:
                i = bisect_left(arr, sid)
                if i == len(arr) or arr[i] != sid:
                    arr.insert(i, sid)

    # ------------------------------------------------------------ search

    def _vocab_hits(self, word: bytes, how: str) -> list[bytes]:
        """Words of the vocabulary that contain `word` ("in"), end with it ("end") or start with it ("start")."""
        if how == "start":
            probe, shift = b"\n" + word, 1
        elif how == "end":
            probe, shift = word + b"\n", 0
        else:
            probe, shift = word, 0
        vocab, starts, words = self.vocab, self.starts, self.words
        out: list[bytes] = []
        pos = vocab.find(probe)
        while pos >= 0:
            k = bisect_right(starts, pos + shift) - 1
            out.append(words[k])
            nxt = starts[k + 1] if k + 1 < len(starts) else len(vocab)
            pos = vocab.find(probe, max(nxt - (1 if how == "start" else 0), pos + 1))
        return out

    def _having(self, words: list[bytes], size: int):
        """A boolean mask over ids [0, size) of the samples holding any of these words."""
        import numpy as np

        mask = np.zeros(size, bool)
        joined = array("q")
        for w in words:                                  # one scatter, not one per word (a number has many)
            joined.extend(self.posting[w])
        if joined:
            mask[np.frombuffer(joined, np.int64)] = True
        return mask

    def _pair_hits(self, left: bytes, space: bytes, right: bytes, *, whole_left: bool, whole_right: bool,
                   size: int):
        """A mask of the samples that hold both words of a pair seen anywhere whose text contains
        left+space+right, `left` ending its first word (the whole word with whole_left) and `right` starting
        its second (whole with whole_right). Only pairs seen count, so words never adjacent give nothing."""
        probe = (b"\x00" if whole_left else b"") + left + space + right + (b"\x00" if whole_right else b"")
        pairs = self.pairs
        firsts: set[bytes] = set()
        seconds: set[bytes] = set()
        pos = pairs.find(probe)
        while pos >= 0:
            start = pairs.rfind(b"\x00", 0, pos + 1) + 1
            end = pairs.find(b"\x00", pos + 1 if whole_left else pos)
            first, _space, second = _SPACE.split(bytes(pairs[start:end]), 1)
            firsts.add(first)
            seconds.add(second)
            pos = pairs.find(probe, end)
        if not firsts:
            import numpy as np

            return np.zeros(size, bool)
        return self._having(list(firsts), size) & self._having(list(seconds), size)

    def search(self, text: str, within: Iterable[int] | None = None) -> list[int] | None:
        """Ascending ids whose searched fields contain `text` (caseless: `fold`), among `within` (None: all).
        None when this index cannot answer (a NUL in the text): the caller scans."""
        import numpy as np

        needle = _bytes(fold(text))
        if b"\x00" in needle:
            return None
        size = self.top + 1
        parts = _SPACE.split(needle)
        if len(parts) == 1:                          # one word: exact from the vocabulary
            found = self._having(self._vocab_hits(needle, "in"), size)
            check = False
        else:
            runs, seps = parts[0::2], parts[1::2]
            found = None
            for k in range(len(runs) - 1):              # two words and the whitespace between: pairs seen
                if runs[k] and runs[k + 1]:
                    have = self._pair_hits(runs[k], seps[k], runs[k + 1], whole_left=k > 0,
                                           whole_right=k + 1 < len(runs) - 1, size=size)
                    found = have if found is None else (found & have)
            if found is None:                            # a word and whitespace: the word's samples
                for k, word in enumerate(runs):
                    if word:
                        have = self._having(self._vocab_hits(word, "end" if k == 0 else "start"), size)
                        found = have if found is None else (found & have)
            if found is None:                            # only whitespace
                found = np.zeros(size, bool)
                found[np.fromiter(self.texts, np.int64, len(self.texts))] = True
            check = True
        if within is not None:
            w = np.asarray(within if isinstance(within, (list, np.ndarray)) else list(within), np.int64)
            w = w[(w >= 0) & (w < size)]
            keep = np.zeros(size, bool)
            keep[w] = True
            found &= keep
        ids = np.flatnonzero(found).tolist()
        if check:
            texts = self.texts
            ids = [sid for sid in ids if needle in texts[sid]]
        return ids
