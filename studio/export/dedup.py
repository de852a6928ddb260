"""Stage 3, deduplicate: exact and near-duplicate removal; near duplicates by MinHash over word shingles with LSH.

`run` removes them from the clean stage's columns (its digests, and the signatures a `Signer` of this module
made from each kept sample as the clean stage read it: in the same pass, in each of its processes, so no text
is held or read twice).

Signatures are computed in numpy for the whole batch at once (one-permutation MinHash with
rotation densification): hashing each shingle in Python, as `datasketch.MinHash.update` does, takes
about a minute for 100,000 samples, and exports must take seconds. The band/row split for the
threshold follows datasketch's MinHashLSH rule (weighted towards recall; tests check both against
datasketch); candidate pairs from the bands are then checked against the threshold on the full signature.
Everything is seeded by constants, so the same texts always give the same removals.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from studio.export.records import Removal

NUM_PERM = 64          # signature length (bins); a power of two
SHINGLE = 5            # words per shingle
_BITS = 6              # log2(NUM_PERM)
_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)
_CHUNK = 500
_PAIRS = 1 << 14       # candidate pairs checked at once (each check gathers two signature rows)


def _table(seed: int, n: int) -> np.ndarray:
    return np.random.Generator(np.random.PCG64(seed)).integers(1, 2**63, size=n, dtype=np.uint64) | np.uint64(1)


_SHINGLE_MUL = _table(2, SHINGLE)
_BAND_MUL = _table(3, NUM_PERM)


@dataclass(frozen=True)
class NearDuplicate:
    """One near duplicate found: the removed document's `index`, the `kept` one it duplicates, and their
    estimated Jaccard `similarity` (0..1) over 5-word shingles."""

    index: int         # the removed document
    kept: int          # the document it duplicates (kept)
    similarity: float  # estimated Jaccard similarity of their shingle sets


def _mix(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


_ONE = np.uint64(1)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _word_bytes(b: np.ndarray) -> np.ndarray:
    """Letters, digits and non-ASCII bytes (UTF-8 of other scripts); the rest separates words."""
    low = (b | np.uint8(0x20)) - np.uint8(ord("a"))            # wraps below 'a'
    return (low < 26) | ((b - np.uint8(ord("0"))) < 10) | (b >= 128)


def _low_bytes(v: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The first min(n, 8) bytes of each little-endian 8-byte value (the rest zeroed)."""
    bits = np.minimum(n, 8).astype(np.uint64) * np.uint64(8)
    return v & ((_ONE << (bits - _ONE)) * np.uint64(2) - _ONE)      # no shift by 64: wraps to all ones


def _chunk_signatures(texts: list[str]) -> np.ndarray:
    """Signatures of a few hundred documents; small arrays stay in cache and reuse memory.

    Words are found on the bytes, then hashed 8 bytes at a time by unaligned 8-byte loads at each
    word start (an O(words) gather, not O(bytes) arithmetic); longer words take one more load per
    8 bytes.
    """
    d = len(texts)
    sig = np.full(d * NUM_PERM, _MAX, dtype=np.uint64)
    data = ("\x00" + "\x00".join(texts) + "\x00").encode("utf-8", "replace").lower()
    size = len(data)
    padded = data + bytes(8)                                        # loads near the end stay inside
    b = np.frombuffer(padded, dtype=np.uint8, count=size)
    word = _word_bytes(b)
    nz = np.flatnonzero(word[1:] != word[:-1]) + 1    # word starts and ends alternate (both ends are separators)
    starts, ends = nz[0::2], nz[1::2]
    if starts.size < SHINGLE:
        return sig.reshape(d, NUM_PERM)
    load8 = np.ndarray((size,), dtype="<u8", buffer=padded, strides=(1,))   # 8 bytes from every offset
    length = ends - starts
    wh = _low_bytes(load8[starts], length) ^ (length.astype(np.uint64) * _GOLD)
    longer = np.flatnonzero(length > 8)
    k = 8
    while longer.size:
        wh[longer] = _mix(wh[longer]) + _low_bytes(load8[starts[longer] + k], length[longer] - k)
        k += 8
        longer = longer[length[longer] > k]
    wh = _mix(wh)                                                   # one hash per word
    if size == sum(map(len, texts)) + d + 1:                        # ASCII: byte offsets are str offsets
        zeros = np.zeros(d + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=d) + 1, out=zeros[1:])
    else:
        zeros = np.flatnonzero(b == 0)                              # the d + 1 document separators
    first_word = np.searchsorted(starts, zeros)                     # word index where each document starts
    counts = np.diff(first_word)
    m = wh.size - SHINGLE + 1
    sh = wh[:m] * _SHINGLE_MUL[0]
    for j in range(1, SHINGLE):
        sh += wh[j:j + m] * _SHINGLE_MUL[j]
    doc = np.repeat(np.arange(d, dtype=np.int64), counts)          # the document of each word
    ok = doc[:m] == doc[SHINGLE - 1:]
    sh = _mix(sh[ok])
    sdoc = doc[:m][ok]
    bins = (sh >> np.uint64(64 - _BITS)).astype(np.int64)
    np.minimum.at(sig, sdoc * NUM_PERM + bins, sh & np.uint64((1 << (64 - _BITS)) - 1))
    return sig.reshape(d, NUM_PERM)


def _densify(sig: np.ndarray) -> np.ndarray:
    """Fill empty bins from the next non-empty bin to the right, cyclically (rotation densification).

    A bin `dist` places before its donor gets the donor's value + dist * constant; found for all
    bins at once by a running minimum over the row written twice (no loop over distances).
    """
    empty = sig == _MAX
    if not empty.any():
        return sig
    d = sig.shape[0]
    twice = np.concatenate([sig, sig], axis=1)
    col = np.arange(2 * NUM_PERM, dtype=np.int64)
    donor = np.where(twice != _MAX, col, 2 * NUM_PERM)                 # own column where full
    donor = np.minimum.accumulate(donor[:, ::-1], axis=1)[:, ::-1][:, :NUM_PERM]   # next full column
    ok = empty & (donor < 2 * NUM_PERM)                                # all-empty rows stay empty
    rows = np.broadcast_to(np.arange(d)[:, None], (d, NUM_PERM))
    dist = (donor - col[:NUM_PERM]).astype(np.uint64)
    out = sig.copy()
    out[ok] = twice[rows[ok], donor[ok]] + dist[ok] * np.uint64(0x9E3779B97F4A7C15)
    return out


def _chunk_dense(texts: list[str]) -> np.ndarray:
    """Densified signatures of a chunk, each value cut to its low 32 bits (as datasketch keeps them): half the
    memory, and two different 58-bit minima agree in 32 bits once in four billion."""
    if any("\x00" in t for t in texts):          # NUL separates documents inside a chunk
        texts = [t.replace("\x00", " ") for t in texts]
    return _densify(_chunk_signatures(texts)).astype(np.uint32)


_EMPTY = np.uint32(0xFFFFFFFF)                   # a row of these: fewer than SHINGLE words (all-max, cut)


def signatures(texts: list[str], threads: int = 4) -> np.ndarray:
    """(len(texts), NUM_PERM) uint32 MinHash signatures; a row of all-max means fewer than SHINGLE words."""
    chunks = [texts[i:i + _CHUNK] for i in range(0, len(texts), _CHUNK)]
    workers = min(len(chunks), os.cpu_count() or 1, threads)
    if workers > 1:                              # numpy releases the GIL inside each pass: cores add up
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(_chunk_dense, chunks))
    else:
        parts = [_chunk_dense(c) for c in chunks]
    return np.concatenate(parts) if parts else np.zeros((0, NUM_PERM), dtype=np.uint32)


class Signatures:
    """MinHash signatures (uint32, NUM_PERM a row) kept in the parts they were made in (one per process of the
    clean stage): rows are gathered from the parts when needed, never copied into one array, and never moved
    when the samples are reordered (the clean stage keeps each sample's row number instead)."""

    def __init__(self, parts: list[np.ndarray] | None = None):
        self.parts = [x for x in parts or [] if len(x)]

    def __len__(self) -> int:
        return sum(len(x) for x in self.parts)

    def extend(self, other: "Signatures") -> None:
        """Append the rows of `other` (numbered after ours)."""
        self.parts.extend(other.parts)

    def rows(self, rows: np.ndarray, cols: slice = slice(None)) -> np.ndarray:
        """The given rows (an index array), those columns: a new array."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(self.parts) == 1:
            return self.parts[0][rows, cols]
        width = len(range(NUM_PERM)[cols])
        out = np.empty((len(rows), width), dtype=np.uint32)
        starts = np.cumsum([0] + [len(x) for x in self.parts])
        which = np.searchsorted(starts, rows, side="right") - 1
        order = np.argsort(which, kind="stable")                      # rows grouped by part
        at = 0
        for k, count in enumerate(np.bincount(which, minlength=len(self.parts)).tolist()):
            if count:
                inside = order[at:at + count]
                out[inside] = self.parts[k][rows[inside] - starts[k], cols]
                at += count
        return out

    def band_keys(self, band: int, width: int) -> np.ndarray:
        """A hash of columns band*width .. (band+1)*width of every row (uint64; LSH's bucket), part by part:
        no rows gathered."""
        out = []
        for part in self.parts:
            key = np.zeros(len(part), dtype=np.uint64)
            for c in range(band * width, (band + 1) * width):
                key += _mix(part[:, c].astype(np.uint64)) * _BAND_MUL[c]
            out.append(key)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.uint64)

    def tolist(self) -> list:
        """Every row as a list of ints (tests)."""
        return [r for part in self.parts for r in part.tolist()]


def text_of(messages: list[dict], output: str) -> str:
    """What near duplicates are judged on: the user turns and the output."""
    return "\n".join([m["content"] for m in messages if m["role"] == "user"] + [output])


class Signer:
    """Signatures of samples given one at a time (the clean stage's pass over them), computed a chunk at a time
    on a worker thread while the next chunk is read (numpy releases the GIL) and copied into blocks as they
    come, so neither the texts nor more than a few chunks are ever held twice. The same rows as signatures()
    of all the texts at once."""

    BLOCK = 1 << 16                      # rows per block of the result (the first ones smaller: 4096, 8192, ...)

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._pending: list = []
        self._blocks: list[np.ndarray] = []
        self._filled = 0                  # rows filled in the last block
        self._pool: ThreadPoolExecutor | None = None

    def add(self, messages: list[dict], output: str) -> None:
        """Sign one sample (its prompt's messages and its output)."""
        self._texts.append(text_of(messages, output))
        if len(self._texts) >= _CHUNK:
            self._submit()

    def _submit(self) -> None:
        chunk, self._texts = self._texts, []
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="studio-sign")
        self._pending.append(self._pool.submit(_chunk_dense, chunk))
        while len(self._pending) > 4 or (self._pending and self._pending[0].done()):
            self._take(self._pending.pop(0).result())

    def _take(self, sig: np.ndarray) -> None:
        at = 0
        while at < len(sig):
            if not self._blocks or self._filled == len(self._blocks[-1]):
                size = min(self.BLOCK, 4096 << len(self._blocks))
                self._blocks.append(np.empty((size, NUM_PERM), dtype=np.uint32))
                self._filled = 0
            n = min(len(sig) - at, len(self._blocks[-1]) - self._filled)
            self._blocks[-1][self._filled:self._filled + n] = sig[at:at + n]
            self._filled += n
            at += n

    def result(self) -> "Signatures":
        """The signatures of the samples given, in the order given."""
        if self._texts:
            self._submit()
        while self._pending:
            self._take(self._pending.pop(0).result())
        blocks, self._blocks = self._blocks, []
        if blocks and self._filled < len(blocks[-1]):
            blocks[-1] = blocks[-1][:self._filled].copy()
        return Signatures(blocks)

    def close(self) -> None:
        """End the worker thread (a process with threads is not forked for the next export)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


@lru_cache(maxsize=64)
def lsh_params(threshold: float, weights: tuple[float, float] = (0.1, 0.9)) -> tuple[int, int]:
    """(bands, rows) for the threshold: datasketch's MinHashLSH rule, without importing it.

    The split minimises the weighted false-positive and false-negative areas under the LSH
    S-curve, as `datasketch.lsh._optimal_param` does (a test checks both agree); importing
    datasketch pulls in scipy, which alone costs a second of a three-second export.
    Weighted towards recall: every candidate is checked on the full signature afterwards.
    """
    s = np.linspace(0.0, 1.0, 2001)
    combos = np.array([(b, r) for b in range(1, NUM_PERM + 1) for r in range(1, NUM_PERM // b + 1)], dtype=float)
    p = 1.0 - (1.0 - s[None, :] ** combos[:, 1:2]) ** combos[:, 0:1]      # P(candidate | similarity s)
    below, above = s <= threshold, s >= threshold
    area = getattr(np, "trapezoid", None) or np.trapz                   # numpy 2 renamed it
    fp = area(p[:, below], s[below], axis=1) if below.sum() > 1 else np.zeros(len(combos))
    fn = area(1.0 - p[:, above], s[above], axis=1) if above.sum() > 1 else np.zeros(len(combos))
    b, r = combos[int(np.argmin(fp * weights[0] + fn * weights[1]))]   # first minimum, as datasketch
    best = (int(b), int(r))
    if best[0] < 2:                       # thresholds near 1 want one band; keep two for recall
        return 2, NUM_PERM // 2
    return best


def similarity(sig, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of the pairs (i[k], j[k]): the share of equal MinHash values in their rows
    of `sig` (an n x NUM_PERM array, or Signatures). Returns a float array shaped like `i`."""
    if isinstance(sig, Signatures):
        return (sig.rows(i) == sig.rows(j)).mean(axis=1)
    return (sig[i] == sig[j]).mean(axis=1)


def near_duplicates(texts: list[str], threshold: float, threads: int = 4) -> list[NearDuplicate]:
    """Documents to remove: each is near `kept` (a lower index), the first of its cluster."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    if len(texts) < 2:
        return []
    return near_duplicates_of(signatures(texts, threads), threshold)


def near_duplicates_of(sig, threshold: float, rows: np.ndarray | None = None) -> list[NearDuplicate]:
    """As near_duplicates, from the documents' signatures (an array from `signatures`, or Signatures). `rows`:
    the documents are these rows of `sig`, in this order (by default all, in order); the indexes returned are
    positions in `rows`, and the first of each cluster is the earliest position."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    if not isinstance(sig, Signatures):
        sig = Signatures([np.asarray(sig)])
    rows = np.arange(len(sig)) if rows is None else np.asarray(rows, dtype=np.int64)
    n = len(rows)
    if n < 2:
        return []
    maybe = np.flatnonzero(sig.rows(rows, slice(0, 1))[:, 0] == _EMPTY)   # a text too short to sign?
    empty = np.zeros(n, dtype=bool)
    if len(maybe):
        empty[maybe] = (sig.rows(rows[maybe]) == _EMPTY).all(axis=1)
    valid = np.flatnonzero(~empty)                   # positions of documents with a signature
    bands, width = lsh_params(threshold)
    hit_lo, hit_hi = [], []
    for band in range(bands):
        key = sig.band_keys(band, width)[rows[valid]]
        order = np.argsort(key, kind="stable")
        k = key[order]
        same = np.flatnonzero(k[1:] == k[:-1])                    # order[s] and order[s+1] collide
        if same.size == 0:
            continue
        run_start = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
        first = run_start[np.searchsorted(run_start, same + 1, side="right") - 1]
        a = valid[order[same + 1]]
        for b in (valid[order[same]], valid[order[first]]):
            lo, hi = np.minimum(b, a), np.maximum(b, a)
            lo, hi = lo[lo != hi], hi[lo != hi]
            for at in range(0, len(lo), _PAIRS):            # checked as they come: candidates are never all held
                pl, ph = lo[at:at + _PAIRS], hi[at:at + _PAIRS]
                near = similarity(sig, rows[pl], rows[ph]) >= threshold - 1e-9
                hit_lo.append(pl[near])
                hit_hi.append(ph[near])
    if not hit_lo:
        return []
    pairs = np.unique(np.stack([np.concatenate(hit_lo), np.concatenate(hit_hi)], axis=1), axis=0)
    if pairs.size == 0:
        return []
    sims = similarity(sig, rows[pairs[:, 0]], rows[pairs[:, 1]])
    parent: dict[int, int] = {}              # union-find over the positions in a hit only; the root is the lowest

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            up = parent.get(parent[x], parent[x])
            parent[x] = up
            x = up
        return x

    partner: dict[int, tuple[int, float]] = {}
    for (i, j), s in zip(pairs.tolist(), sims.tolist()):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
        if j not in partner or s > partner[j][1]:
            partner[j] = (i, s)
    out = []
    for j in sorted(partner):
        r = root(j)
        if r != j:
            out.append(NearDuplicate(j, r, round(partner[j][1], 3)))
    return out


def exact_duplicates(digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(duplicates, kept): for each row whose digest (n x 2 uint64) an earlier row has, that row and the
    first row with it."""
    n = len(digests)
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(n), digests[:, 1], digests[:, 0]))
    d = digests[order]
    same = (d[1:] == d[:-1]).all(axis=1)                       # sorted row k+1 repeats row k
    if not same.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.concatenate(([True], ~same))
    first = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]   # each sorted row's first holder
    at = np.flatnonzero(np.concatenate(([False], same)))
    return order[at], first[at]


def run(p, threshold: float) -> list[Removal]:
    """The dedup stage: exact, then near duplicates, among samples of the same status (a rejected answer close to an
    accepted one is a useful preference pair, not a duplicate). The first of each cluster (in content order)
    stays. `p`: the clean stage's Prepared (not imported: this stage only reads its columns), whose digests
    cover status, prompt key and output; its columns lose the removed samples. Returns the removals.
    """
    removed: list[Removal] = []
    ids = p.ids
    keep = np.ones(len(ids), dtype=bool)
    dup, kept = exact_duplicates(p.digests)        # same status, filled prompt and output
    for i, j in zip(dup.tolist(), kept.tolist()):
        removed.append(Removal(int(ids[i]), "exact duplicate", f"same prompt and output as #{ids[j]}"))
    keep[dup] = False
    if threshold < 1 and p.signatures is not None:
        codes: dict[str, int] = {}
        status = np.fromiter((codes.setdefault(str(x), len(codes)) for x in p.statuses), dtype=np.int32,
                             count=len(p.statuses))
        for code in codes.values():
            members = np.flatnonzero((status == code) & keep)          # in content order
            for nd in near_duplicates_of(p.signatures, threshold, p.sig_row[members]):
                i, k = int(members[nd.index]), int(members[nd.kept])
                keep[i] = False
                removed.append(Removal(int(ids[i]), "near duplicate",
                                       f"similar to #{ids[k]} (similarity {nd.similarity:.2f})"))
    if removed:
        p.take(keep)
    return removed
