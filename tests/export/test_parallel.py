"""Large selections are prepared in two processes; the export is the same as with one."""

from __future__ import annotations

import os
import threading

import pytest

from studio.export import ExportOptions, parallel, plan_export
from studio.export.formats import FORMATS
from studio.export.clean import Prepared, prepare_selection
from studio.export.dedup import Signer
from studio.export.parallel import processes_for
from tests.export.conftest import prose, sample


@pytest.fixture
def big(session):
    """The curated session plus 300 samples, with exact and near duplicates in both halves."""
    extra = [sample(i) for i in range(41, 341)]
    for i in range(60, 341, 50):
        extra[i - 41]["output"] = extra[i - 42]["output"]                       # exact duplicate
        extra[i - 40]["output"] = prose(i - 1).upper().replace(" ", ", ")        # near duplicate of i-1
        extra[i - 40]["prompt_hash"] = extra[i - 42]["prompt_hash"]
    session.add_samples(extra)
    return session


def columns(p: Prepared) -> dict:
    out = {name: _plain(getattr(p, name)) for name in Prepared.COLUMNS}
    out["lines"] = list(p.lines)
    out["signatures"] = None if p.signatures is None else p.signatures.rows(p.sig_row).tolist()
    del out["sig_row"]
    out["removed"], out["selected"] = p.removed, p.selected
    return out


def _plain(column):
    return column.tolist() if hasattr(column, "tolist") else column


@pytest.mark.parametrize("fmt", ["openai-chat", "raw", "kto", "preference"])
def test_two_processes_prepare_exactly_what_one_does(big, fmt):
    ids = big.ids(status=["accepted", "rejected", "failed"])
    one = prepare_selection(big.samples, ids, FORMATS[fmt], signer=Signer, processes=1)
    two = prepare_selection(big.samples, ids, FORMATS[fmt], signer=Signer, processes=2)
    assert columns(two) == columns(one)
    assert len(one.ids) > 300


def test_the_export_is_byte_identical_with_the_child_process(big, monkeypatch):
    options = ExportOptions(format="openai-chat", statuses=("accepted", "rejected"))
    monkeypatch.setattr(parallel, "processes_for", lambda n: 1)
    alone = plan_export(big, options)
    monkeypatch.setattr(parallel, "processes_for", lambda n: 2)
    forked = plan_export(big, options)
    assert forked.lines == alone.lines and forked.splits == alone.splits and forked.ids == alone.ids
    assert forked.removed == alone.removed and forked.card == alone.card
    assert {r.reason for r in alone.removed} >= {"exact duplicate", "near duplicate"}


def test_the_second_half_is_read_in_a_child_process(big, tmp_path):
    ids = big.ids(status=["accepted"])
    readers = tmp_path / "readers"

    def read(part):
        with open(readers, "a") as fh:
            fh.write(f"{os.getpid()} {part[0]}\n")
        return big.samples(part)

    prepare_selection(read, ids, FORMATS["sft"], signer=None, processes=2)
    seen = dict(line.split() for line in readers.read_text().splitlines())
    assert seen.pop(str(os.getpid())) == str(ids[0])
    assert list(seen.values()) == [str(ids[len(ids) // 2])]       # one other process read the second half


def test_a_child_that_fails_leaves_its_half_to_this_process(big):
    ids = big.ids(status=["accepted"])
    me = os.getpid()

    def read(part):
        if os.getpid() != me:
            raise OSError("disk went away in the child")
        return big.samples(part)

    one = prepare_selection(big.samples, ids, FORMATS["sft"], signer=Signer, processes=1)
    two = prepare_selection(read, ids, FORMATS["sft"], signer=Signer, processes=2)
    assert columns(two) == columns(one)


def test_an_error_here_still_ends_the_child(big, monkeypatch):
    ids = big.ids(status=["accepted"])
    children = []

    class Watched(parallel._Child):
        def __init__(self, work):
            super().__init__(work)
            children.append(self.pid)

    def read(part):
        if part[0] == ids[0]:
            raise ValueError("a bad record in this half")
        return big.samples(part)

    monkeypatch.setattr(parallel, "_Child", Watched)
    with pytest.raises(ValueError):
        prepare_selection(read, ids, FORMATS["sft"], signer=None, processes=2)
    assert len(children) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(children[0], os.WNOHANG)               # already reaped: no zombie left behind


def test_small_selections_and_threaded_processes_stay_in_one_process():
    assert processes_for(100) == 1
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert processes_for(10**6) == 1                  # a fork would copy the other thread mid-step
    finally:
        stop.set()
        t.join()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if threading.active_count() == 1 and os.name == "posix" and os.uname().sysname == "Linux":
        assert processes_for(10**6) == (2 if cores >= 2 else 1)
