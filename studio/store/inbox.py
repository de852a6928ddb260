"""Adding to a session another process holds: each guest writes its own append-only inbox file, the
holder folds it in.

One writer per session file stays the rule: while a studio holds NAME.lock, a `studio run`,
`studio regenerate` or `studio feedback import` from another shell opens the session as a guest
(`GuestSession`): it reads through a read-only view and appends each write it would have made
(`add_samples`, `add_run`, `update_run`, `save_template_version`, `add_feedback`, `update_feedback`,
`update_sample`, `set_meta`) as one JSON line to `sessions/.inbox/NAME/<pid>-<random>.jsonl`,
fsynced, so no two processes ever write one file. The holder (`Session.fold_inbox`, called by the
studio on a timer and by every open that takes the lock) applies the complete lines in order and
records how far it read in the same journal write, so a crash on either side neither loses nor
repeats a write. Ids the guest could not know (new samples, feedback records) are negative
placeholders in its own answers and are mapped to the real ids when a later line names them.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from studio.core.record import new_sample

INBOX_DIR = ".inbox"
OPS = ("add_samples", "add_run", "update_run", "save_template_version", "add_feedback", "update_feedback",
       "update_sample", "set_meta", "end")


def inbox_dir(folder: Path, name: str) -> Path:
    """The folder of session `name`'s guest inboxes: `folder`/.inbox/NAME."""
    return Path(folder) / INBOX_DIR / name


def pending_files(folder: Path, name: str) -> list[Path]:
    """The inbox files waiting for session `name` (*.jsonl, sorted by name; [] when none)."""
    d = inbox_dir(folder, name)
    try:
        return sorted(p for p in d.iterdir() if p.suffix == ".jsonl")
    except OSError:
        return []


class InboxWriter:
    """One guest's inbox file: append-only JSON lines, each fsynced before the call returns."""

    def __init__(self, folder: Path, name: str):
        d = inbox_dir(folder, name)
        d.mkdir(parents=True, exist_ok=True)
        self.path = d / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.seq = 0

    def write(self, op: str, *args: Any, **kwargs: Any) -> None:
        """Append one operation (`op` and its arguments, JSON) as a line, fsynced when it returns."""
        self.seq += 1
        line = json.dumps({"seq": self.seq, "op": op, "args": list(args), "kwargs": kwargs},
                          ensure_ascii=False, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode())
        os.fsync(self._fd)

    def close(self) -> None:
        """Write the closing "end" line and close the file (nothing when already closed)."""
        if self._fd is not None:
            self.write("end")
            os.close(self._fd)
            self._fd = None


def read_lines(path: Path, offset: int) -> tuple[list[dict], int, bool]:
    """The complete lines after `offset` -> (entries, new offset, the guest said it ended)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return [], offset, False
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset, False
    entries, ended = [], False
    for raw in data[: end + 1].splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # a torn line cannot be complete: it ends before the next "\n" only if written whole
        if entry.get("op") == "end":
            ended = True
        elif entry.get("op") in OPS:
            entries.append(entry)
    return entries, offset + end + 1, ended


def waiting_runs(folder: Path, name: str, known: Iterable[str] = ()) -> list[dict]:
    """The run records guests of session `name` wrote that the holder has not folded in yet (a holder that
    does not poll, e.g. another `studio run`), for a read-only view: each `add_run` record with its later
    `update_run` fields applied and `saved` set to the samples of that run still in the inbox (a killed
    guest's run then reads as interrupted, with its count, before anyone folds it). Runs in `known` (ids
    the session already has) are left out. Unreadable files are skipped."""
    known = set(known)
    runs: dict[str, dict] = {}
    for path in pending_files(folder, name):
        entries, _, _ = read_lines(path, 0)
        for entry in entries:
            op, args, kw = entry.get("op"), entry.get("args") or [], entry.get("kwargs") or {}
            if op == "add_run" and args and isinstance(args[0], dict):
                rid = str(args[0].get("run_id"))
                if rid not in known:
                    runs.setdefault(rid, {**args[0], "saved": 0})
            elif op == "update_run" and args and str(args[0]) in runs:
                runs[str(args[0])].update(kw)
            elif op == "add_samples" and args and isinstance(args[0], list):
                for doc in args[0]:
                    run = runs.get(str(doc.get("run_id"))) if isinstance(doc, dict) else None
                    if run is not None:
                        run["saved"] = int(run.get("saved") or 0) + 1
    return list(runs.values())


def open_adding(store: Any, name: str, *, create: bool = False) -> Any:
    """The session to add samples or feedback to: the session itself when this process can take the lock,
    else (another studio holds it) a GuestSession writing to its own inbox file. A session that cannot be
    written for another reason (a read-only folder) stays a read-only view."""
    session = store.open(name, create=create)
    if session.read_only and getattr(session, "locked_by", None):
        return GuestSession(session)
    return session


class GuestSession:
    """A session another process holds, for a command that adds to it: reads go to a read-only view
    (reloaded on each read of samples), writes to this process's inbox file. Same API as Session for
    what runs, regeneration and feedback import use."""

    guest = True
    read_only = False

    def __init__(self, view: Any):
        self._view = view
        self.name, self.path, self.files = view.name, view.path, view.files
        self.locked_by = getattr(view, "locked_by", None)
        self._inbox = InboxWriter(view.files.folder, view.name)
        self._next_ref = 0
        self._templates: list[dict] = []
        self._feedback: list[dict] = []

    def __getattr__(self, name: str) -> Any:  # reads: the holder's latest, through the read-only view
        return getattr(self._view, name)

    def __len__(self) -> int:
        self._view.reload()
        return len(self._view)

    @property
    def inbox_path(self) -> Path:
        """The inbox file this guest writes."""
        return self._inbox.path

    def _refs(self, n: int) -> list[int]:
        out = [-(self._next_ref + i + 1) for i in range(n)]
        self._next_ref += n
        return out

    # -- writes go to the inbox --------------------------------------------------------------------
    def add_samples(self, samples: Iterable[dict]) -> list[int]:
        """Queue new samples for the holder, made records as `Session.add_samples` makes them (and completed
        in place); returns negative placeholder ids (mapped to real ids when folded)."""
        given = samples if isinstance(samples, list) else list(samples)
        now = time.time()
        docs = [new_sample(s, now) for s in given]
        refs = self._refs(len(docs))
        self._inbox.write("add_samples", docs, refs=refs)
        for s, doc in zip(given, docs):
            s.update(doc)
        return refs

    def add_run(self, run: dict) -> str:
        """Queue a run record; returns its run id (a new `guest-...` id unless the record has one)."""
        doc = dict(run)
        doc.setdefault("run_id", f"guest-{uuid.uuid4().hex[:10]}")
        self._inbox.write("add_run", doc)
        return doc["run_id"]

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Queue a change to run `run_id`."""
        self._inbox.write("update_run", run_id, **fields)

    def save_template_version(self, name: str, text: str, **kw: Any) -> str:
        """Queue a template version; returns its version (Session.save_template_version's hash), known to this
        guest at once."""
        from studio.core.template import version_hash

        data = kw.get("data")
        self._inbox.write("save_template_version", name, text, **({"data": data} if data else {}))
        version = version_hash(text, data)
        self._templates.append({"name": name, "version": version, "text": text, **({"data": data} if data else {})})
        return version

    def template_versions(self, name: str | None = None) -> list[dict]:
        """The holder's saved versions (reloaded) plus the ones this guest queued."""
        self._view.reload()
        mine = [d for d in self._templates if name is None or d["name"] == name]
        known = self._view.template_versions(name)
        have = {(d["name"], d["version"]) for d in known}
        return known + [d for d in mine if (d["name"], d["version"]) not in have]

    def template_text(self, name: str, version: str) -> str:
        """The text of a version this guest queued, else the holder's. Raises StoreError as Session.template_text."""
        for d in self._templates:
            if d["name"] == name and d["version"] == version:
                return d["text"]
        return self._view.template_text(name, version)

    def add_feedback(self, records: Iterable[dict]) -> list[int]:
        """Queue feedback records; returns negative placeholder ids."""
        docs = [{k: v for k, v in r.items() if k != "id"} for r in records]
        refs = self._refs(len(docs))
        self._inbox.write("add_feedback", docs, refs=refs)
        self._feedback += [{**d, "id": ref} for d, ref in zip(docs, refs)]
        return refs

    def feedback(self) -> list[dict]:
        """The holder's feedback records (reloaded) plus the ones this guest queued."""
        self._view.reload()
        return self._view.feedback() + [dict(d) for d in self._feedback]

    def update_feedback(self, feedback_id: int, **fields: Any) -> None:
        """Queue a change to feedback record `feedback_id` (also applied to this guest's own queued records)."""
        self._inbox.write("update_feedback", feedback_id, **fields)
        for d in self._feedback:
            if d["id"] == feedback_id:
                d.update(fields)

    def update_sample(self, sample_id: int, **fields: Any) -> None:
        """Queue a change to sample `sample_id` (a real id, or a placeholder this guest got)."""
        self._inbox.write("update_sample", sample_id, **fields)

    def set_meta(self, **fields: Any) -> None:
        """Queue a change to the session's meta."""
        self._inbox.write("set_meta", **fields)

    def iter_samples(self, *args: Any, **kwargs: Any):
        """The holder's samples as `Session.iter_samples` gives them (reloaded first; queued ones not included)."""
        self._view.reload()
        return self._view.iter_samples(*args, **kwargs)

    def close(self) -> None:
        """Close the inbox (its "end" line) and the read-only view."""
        self._inbox.close()
        self._view.close()

    def __enter__(self) -> "GuestSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
