"""`studio sessions`: the sessions in the workspace with their review counts (and rename/copy/delete)."""

from __future__ import annotations

import json
import time

from studio.cli.console import console
from studio.core.errors import StudioError
from studio.core.workspace import Workspace


def register(sub) -> None:
    p = sub.add_parser("sessions", help="list sessions (or rename, copy, delete, merge)",
                       description="List the sessions under sessions/ with samples, review counts and "
                                   "last change. With an option, rename, copy or delete one, or merge several "
                                   "into a new one, instead.")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per session (with --merge: one object saying what was merged)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"), help="rename a session")
    g.add_argument("--copy", nargs=2, metavar=("SRC", "DST"), help="copy a session")
    g.add_argument("--delete", metavar="NAME", help="delete a session (needs --yes)")
    g.add_argument("--merge", nargs="+", metavar="NAME",
                   help="join sessions A B ... into a new session (the last name): runs, versions, samples, "
                        "decisions, judgements, feedback; the same sample twice is kept once")
    p.add_argument("--prefer", default=None, metavar="SESSION|latest",
                   help="with --merge: whose decision wins when two sessions decided one sample differently")
    p.add_argument("--yes", action="store_true", help="confirm --delete")
    p.set_defaults(handler=run)


def when(ts: float) -> str:
    """Recent times relative, older ones as a date: what a person scanning the list needs."""
    if not ts:
        return "-"
    age = time.time() - ts
    if age < 60:
        return "just now"
    if age < 3600:
        return f"{int(age // 60)} min ago"
    if age < 86400:
        return f"{int(age // 3600)} h ago"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def run(args) -> int:
    from studio.store import Store

    store = Store(Workspace.from_env().sessions_dir)
    out = console()
    if args.rename:
        store.rename(*args.rename)
        out.print(f"renamed {args.rename[0]} -> {args.rename[1]}", markup=False)
        return 0
    if args.copy:
        store.copy(*args.copy)
        out.print(f"copied {args.copy[0]} -> {args.copy[1]}", markup=False)
        return 0
    if args.merge:
        from studio.store.merge import merge

        *sources, into = args.merge
        done = merge(store, sources, into, prefer=args.prefer)
        if args.json:
            out.print(json.dumps(done.as_dict()), markup=False, soft_wrap=True)
        else:
            parts = ", ".join(f"{n:,} from {name}" for name, n in done.per_source.items())
            out.print(f"merged {', '.join(sources)} -> {into}: {done.samples:,} samples ({parts}), "
                      f"{done.duplicates:,} duplicates kept once"
                      + (f" ({done.resolved:,} decided by --prefer {args.prefer})" if done.resolved else "")
                      + f", {done.runs} runs, {done.versions} template versions, {done.judgements} judgements, "
                      f"{done.feedback} feedback records", markup=False)
        return 0
    if args.delete:
        if not args.yes:
            raise StudioError(f"not deleting session {args.delete!r} without --yes",
                              hint=f"run: studio sessions --delete {args.delete} --yes")
        store.delete(args.delete)
        out.print(f"deleted {args.delete}", markup=False)
        return 0
    infos = store.list()
    if args.json:
        for i in infos:
            out.print(json.dumps({"name": i.name, "path": str(i.path), "samples": i.samples, **i.counts,
                                  "flagged": i.flagged,
                                  "modified": i.modified, "locked_by": i.locked_by, "error": i.error or None}),
                      markup=False, soft_wrap=True)
        return 0
    if not infos:
        out.print(f"no sessions yet in {store.dir} — `studio run TEMPLATE` (or the studio) creates one",
                  markup=False)
        return 0
    from rich import box
    from studio.analysis.tables import PlainTable

    out.print(f"sessions in {store.dir}", markup=False)
    table = PlainTable(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", overflow="fold", min_width=min(24, max(len(i.name) for i in infos)))
    narrow = out.width < 100            # the long headers leave a name 10 cells at 80 columns: short ones
    for col, short in (("samples", "n"), ("accepted", "acc"), ("rejected", "rej"), ("pending", "pend"),
                       ("failed", "fail")):
        table.add_column(short if narrow else col, justify="right", no_wrap=True)
    if narrow:
        table.caption = "n samples: acc accepted, rej rejected, pend pending, fail failed"
        table.caption_justify = "left"
    table.add_column("modified", no_wrap=True)
    states = {i.name: "error" if i.error else (f"open: pid {i.locked_by}" if i.locked_by else "")
              for i in infos}
    show_state = any(states.values())                 # the column only when something needs saying
    if show_state:
        table.add_column("state", no_wrap=True)
    for i in infos:
        c = i.counts
        nums = ["-"] * 5 if i.error else [f"{i.samples:,}", *(f"{c.get(k, 0):,}" for k in
                                                              ("accepted", "rejected", "pending", "failed"))]
        table.add_row(i.name, *nums, when(i.modified), *([states[i.name]] if show_state else []))
    out.print(table)
    for i in infos:
        if i.error:
            out.print(f"{i.path}: {i.error}", markup=False)
    return 0
