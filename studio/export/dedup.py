"""Exact and near-duplicate removal; near duplicates by MinHash over word shingles with LSH.

Signatures are computed in numpy for the whole batch at once (one-permutation MinHash with
rotation densification): hashing each shingle in Python, as `datasketch.MinHash.update` does, takes
about a minute for 100,000 samples, and exports must take seconds. The band/row split for the
threshold follows datasketch's MinHashLSH rule (weighted towards recall; tests check both against
datasketch); candidate pairs from the bands are then checked against the threshold on the full signature.
Everything is seeded by constants, so the same texts always give the same removals.
"""

from __future__ import annotations

import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

NUM_PERM = 64          # signature length (bins); a power of two
SHINGLE = 5            # words per shingle
_BITS = 6              # log2(NUM_PERM)
_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)
_CHUNK = 500


def _table(seed: int, n: int) -> np.ndarray:
    return np.random.Generator(np.random.PCG64(seed)).integers(1, 2**63, size=n, dtype=np.uint64) | np.uint64(1)


_SHINGLE_MUL = _table(2, SHINGLE)
_BAND_MUL = _table(3, NUM_PERM)


@dataclass(frozen=True)
class NearDuplicate:
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
    return _densify(_chunk_signatures(texts))


def signatures(texts: list[str], threads: int = 4) -> np.ndarray:
    """(len(texts), NUM_PERM) MinHash signatures; a row of all-max means fewer than SHINGLE words."""
    if any("\x00" in t for t in texts):          # NUL separates documents inside a chunk
        texts = [t.replace("\x00", " ") for t in texts]
    chunks = [texts[i:i + _CHUNK] for i in range(0, len(texts), _CHUNK)]
    workers = min(len(chunks), os.cpu_count() or 1, threads)
    if workers > 1:                              # numpy releases the GIL inside each pass: cores add up
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(_chunk_dense, chunks))
    else:
        parts = [_chunk_dense(c) for c in chunks]
    return np.concatenate(parts) if parts else np.zeros((0, NUM_PERM), dtype=np.uint64)


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


def similarity(sig: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    return (sig[i] == sig[j]).mean(axis=1)


def near_duplicates(texts: list[str], threshold: float, threads: int = 4) -> list[NearDuplicate]:
    """Documents to remove: each is near `kept` (a lower index), the first of its cluster."""
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    n = len(texts)
    if n < 2:
        return []
    sig = signatures(texts, threads)
    valid = ~(sig == _MAX).all(axis=1)
    bands, rows = lsh_params(threshold)
    cand_i, cand_j = [], []
    vidx = np.flatnonzero(valid)
    for band in range(bands):
        part = sig[vidx, band * rows:(band + 1) * rows]
        key = np.zeros(len(vidx), dtype=np.uint64)
        for c in range(rows):
            key += _mix(part[:, c].copy()) * _BAND_MUL[band * rows + c]
        order = np.argsort(key, kind="stable")
        k = key[order]
        same = np.flatnonzero(k[1:] == k[:-1])                    # order[s] and order[s+1] collide
        if same.size == 0:
            continue
        run_start = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
        first = run_start[np.searchsorted(run_start, same + 1, side="right") - 1]
        a = vidx[order[same + 1]]
        cand_i += [vidx[order[same]], vidx[order[first]]]
        cand_j += [a, a]
    if not cand_i:
        return []
    ci, cj = np.concatenate(cand_i), np.concatenate(cand_j)
    lo, hi = np.minimum(ci, cj), np.maximum(ci, cj)
    keep = lo != hi
    pairs = np.unique(np.stack([lo[keep], hi[keep]], axis=1), axis=0)
    if pairs.size == 0:
        return []
    sims = similarity(sig, pairs[:, 0], pairs[:, 1])
    hit = sims >= threshold - 1e-9
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    partner: dict[int, tuple[int, float]] = {}
    for (i, j), s in zip(pairs[hit].tolist(), sims[hit].tolist()):
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


# Off by default: measured on 100,000 samples it saved the parent ~1 s of CPU but no wall time (the
# child starts only after reading and cleaning, and its hand-over + signatures take as long as the
# in-process search). It is the base for streaming the texts to the child while the samples are read.
HELPER = False
BACKGROUND_MIN = 20_000    # documents; below this a second process costs more than it overlaps


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def core_free() -> bool:
    """Is about a core idle (1-minute load average at most cores - 1)? A helper process only pays
    when it gets a core of its own; on a busy machine it costs the texts' hand-over for nothing."""
    try:
        return os.getloadavg()[0] <= (os.cpu_count() or 1) - 1
    except OSError:
        return True


def _write_all_at(fd: int, data: bytes) -> None:
    view, at = memoryview(data), 0
    while at < len(data):
        at += os.pwrite(fd, view[at:], at)


class Helper:
    """A child process, forked early while this process is still small, that finds near duplicates.

    Forking late, with 100,000 samples' dicts in memory, costs more than it saves: every page the
    parent then touches (reference counts) is copied. Forked before the samples are read, the child
    holds almost nothing; it waits for the texts (pickled through a pipe), computes the signatures
    while this process formats and scans the rows (threads gain nothing: the Python work holds the
    GIL), and answers through a second pipe. It only touches plain lists and numpy, never the store
    or its locks, and leaves with os._exit. If it fails, the same computation runs here.
    """

    def __init__(self) -> None:
        # the texts (~80 MB for 100,000 samples) go through a shared memory file: through the pipe
        # they take a second of 64 KB hand-offs between the two processes
        self._memfd = os.memfd_create("studio-neardup") if hasattr(os, "memfd_create") else None
        to_child, self._send = os.pipe()
        self._recv, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:                                   # the child
            code = 1
            try:
                os.close(self._send)
                os.close(self._recv)
                with os.fdopen(to_child, "rb") as fh:
                    data = fh.read()                   # until the parent closes its end
                if data[:1] == b"M":                   # the texts are in the memory file
                    size, parts = int(data[1:]), []
                    while size > sum(map(len, parts)):
                        parts.append(os.pread(self._memfd, size - sum(map(len, parts)), sum(map(len, parts))))
                        if not parts[-1]:
                            raise EOFError
                    data = b"".join(parts)
                elif data:
                    data = data[1:]
                if data:
                    groups, threshold = pickle.loads(data)
                    _write_all(from_child, pickle.dumps(_near_groups(groups, threshold, 2),
                                                        protocol=pickle.HIGHEST_PROTOCOL))
                code = 0
            finally:
                os._exit(code)
        os.close(to_child)
        os.close(from_child)
        self.pid = pid
        self._used = False

    def _close_memfd(self) -> None:
        if self._memfd is not None:
            os.close(self._memfd)
            self._memfd = None

    @classmethod
    def start(cls) -> "Helper | None":
        """A helper when there are two cores to share and fork exists, else None."""
        if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
            return None
        try:
            return cls()
        except OSError:
            return None

    def submit(self, make_groups: Callable[[], list[list[str]]], threshold: float
               ) -> Callable[[], list[list[NearDuplicate]]]:
        self._used = True
        groups = make_groups()
        self.result = None
        data = pickle.dumps((groups, threshold), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if self._memfd is not None:
                _write_all_at(self._memfd, data)
                _write_all(self._send, b"M%d" % len(data))
            else:
                _write_all(self._send, b"P" + data)
        except OSError:
            pass                                       # the child is gone: result() computes here
        finally:
            os.close(self._send)
            self._close_memfd()
        taken: list = []

        def result() -> list[list[NearDuplicate]]:
            if not taken:
                with os.fdopen(self._recv, "rb") as fh:
                    data = fh.read()
                _, status = os.waitpid(self.pid, 0)
                try:
                    answer = pickle.loads(data) if status == 0 and data else None
                except Exception:
                    answer = None
                taken.append(answer if answer is not None else _near_groups(groups, threshold, 4))
            return taken[0]

        self.result = result
        return result

    def close(self) -> None:
        """Reap the child: an unused one exits on end of input; a busy one is waited for (an error
        between submit and result must leave no zombie and no open pipe)."""
        if not self._used:
            self._used = True
            os.close(self._send)
            os.close(self._recv)
            self._close_memfd()
            os.waitpid(self.pid, 0)
        elif self.result is not None:
            self.result()


def near_duplicates_later(make_groups: Callable[[], list[list[str]]], threshold: float,
                          helper: Helper | None = None) -> Callable[[], list[list[NearDuplicate]]]:
    """Start near-duplicate detection over several groups of texts; call the result to get them.

    With a helper (see Helper) the work runs beside this process; without, here and now.
    """
    if helper is not None:
        return helper.submit(make_groups, threshold)
    done = _near_groups(make_groups(), threshold, 4)
    return lambda: done


def _near_groups(groups: list[list[str]], threshold: float, threads: int) -> list[list[NearDuplicate]]:
    return [near_duplicates(texts, threshold, threads) for texts in groups]
