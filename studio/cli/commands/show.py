"""`studio show SESSION`: a summary of one session: review counts, tags, template versions, runs, cost."""

from __future__ import annotations

import time

from studio.cli.console import console
from studio.core.workspace import Workspace


def register(sub) -> None:
    p = sub.add_parser("show", help="summarise a session",
                       description="Print a session's review counts, failure tags, template versions, runs "
                                   "and cost per accepted sample (read-only: safe while the studio has it open).")
    p.add_argument("session", help="session name (see `studio sessions`)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.markup import escape

    from studio.analysis.tables import table   # compact: no padding at the edges, one space between columns

    from studio.core.record import FLAGS
    from studio.store import Store
    from studio.store.interrupted import finished_later, held_by, run_state
    from studio.store.lock import is_locked

    store = Store(Workspace.from_env().sessions_dir)
    out = console()
    with store.open(args.session, read_only=True) as s:
        meta = s.meta
        counts = s.counts()
        status = counts["status"]
        total = len(s)
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(meta.get("created") or 0))
        out.print(f"[bold]{escape(s.name)}[/]  {escape(str(s.path))}", markup=True)
        schema = (f"schema {s.migrated_from} (migrated on the next open for writing)" if s.migrated_from
                  else f"schema {meta.get('schema_version')}")      # a read-only view of an older session
        out.print(f"created {created} · model {meta.get('model') or '-'} · {schema} · "
                  f"{total:,} samples", markup=False)
        if s.hand_edits:                # a read-only view says what a hand edit left wrong (fixed on the next open)
            out.print(f"{len(s.hand_edits)} problem(s) in files edited by hand, shown made safe; fixed in the "
                      "files on the next open for writing:", markup=False)
            for line in s.hand_edits[:20]:
                out.print(f"  {line}", markup=False, soft_wrap=True)      # whole: a line to grep for
            if len(s.hand_edits) > 20:
                out.print(f"  … and {len(s.hand_edits) - 20} more", markup=False)
        locked = is_locked(s.files.lock)
        if locked:
            out.print(f"open for writing in another studio process (pid {locked}); figures as of now", markup=False)

        flagged = {f: n for f in FLAGS if (n := s.count(flag=f))}  # from the index: no sample is read
        t = table("review")
        for col in ("accepted", "rejected", "pending", "failed", "flagged", "reviewed"):
            t.add_column(col, justify="right")
        reviewed = status["accepted"] + status["rejected"]
        t.add_row(*(f"{status[k]:,}" for k in ("accepted", "rejected", "pending", "failed")),
                  f"{sum(flagged.values()):,}", f"{reviewed / total:.0%}" if total else "-")
        out.print(t)
        if flagged:
            pending = s.count(flag=list(flagged), status="pending")
            kept = [f for f in flagged if f != "preview"]
            where = []   # what the export does with each kind (export.clean): previews have no answer to keep
            if kept:
                where.append(f"{', '.join(kept)} left out of export unless --include-flagged or --flag NAME")
            if "preview" in flagged:
                where.append("previews (prompts with no answer) only in --format raw")
            out.print("flagged: " + ", ".join(f"{n:,} {f}" for f, n in flagged.items())
                      + f" ({pending:,} of them pending; counted in their status too) — " + "; ".join(where)
                      + "; the studio's / filter shows them", markup=False)

        if counts["tags"]:
            t = table("failure tags")
            t.add_column("tag")
            t.add_column("samples", justify="right")
            for tag, n in sorted(counts["tags"].items(), key=lambda kv: -kv[1]):
                t.add_row(tag, f"{n:,}")
            out.print(t)

        if counts["versions"]:
            t = table("template versions")
            for col, j in (("template", "left"), ("version", "left"), ("samples", "right"),
                           ("accepted", "right"), ("rejected", "right"), ("accept rate", "right")):
                t.add_column(col, justify=j, no_wrap=col != "template", ident=col == "version")
            from studio.store.versions import display

            labels = s.version_labels()
            for (tp, v), n in sorted(counts["versions"].items()):
                acc = s.count(template=tp, version=v, status="accepted")
                rej = s.count(template=tp, version=v, status="rejected")
                t.add_row(tp or "-", display(labels.get((tp, v)), v, 12) if v else "-", f"{n:,}", f"{acc:,}", f"{rej:,}",
                          f"{acc / (acc + rej):.0%}" if acc + rej else "-")
            out.print(t)

        runs = s.runs()
        if s.read_only:   # guests' runs nobody has folded in yet (a holder that does not poll, or none)
            from studio.store.inbox import waiting_runs

            runs += waiting_runs(s.files.folder, s.name, (str(r.get("run_id")) for r in runs))
        counted: dict[str, int] = {}

        def saved(r: dict) -> int | None:
            """How many samples run `r` saved: its record's count, else (a run that died before it could
            say, seen from a read-only view) counted from the session."""
            if isinstance(r.get("saved"), int):
                return r["saved"]
            if run_state(r) != "interrupted":
                return None
            key = str(r.get("run_id"))
            if key not in counted:
                counted[key] = held_by(s, r)["samples"]
            return counted[key]

        if runs:
            t = table("runs")
            for col in ("run", "template", "model", "status", "samples", "started"):
                # a run id gives way first, to a prefix that still tells the runs apart; words stay whole
                t.add_column(col, no_wrap=col not in ("template", "model", "started"), ident=col == "run")
            for r in runs[-10:]:
                started = r.get("started")
                t.add_row(str(r.get("run_id")), str(r.get("template") or "-"),
                          str(r.get("model") or "-"), run_state(r), "-" if (n := saved(r)) is None else f"{n:,}",
                          time.strftime("%m-%d %H:%M", time.localtime(started)) if isinstance(started, (int, float))
                          else "-")
            out.print(t)
            for r in runs[-10:]:
                served = r.get("served")
                if isinstance(served, dict) and served:     # a fleet: which deployment answered how many
                    t = table(f"run {r.get('run_id')} served by")
                    t.add_column("answers", justify="right", no_wrap=True)
                    t.add_column("deployment")                          # a long URL folds, its count stays
                    for k, v in served.items():
                        t.add_row(f"{v:,}" if isinstance(v, int) else str(v), str(k))
                    out.print(t)
            for i, r in enumerate(runs):
                if run_state(r) == "interrupted" and (later := finished_later(runs, i)) is not None:
                    out.print(f"run {r.get('run_id')} ({r.get('template') or '-'}) was interrupted; run "
                              f"{later.get('run_id')}, the same command again, finished it.", markup=False)
                elif run_state(r) == "interrupted":
                    held = f"{n:,} sample(s) kept" if (n := saved(r)) is not None else "its samples are kept"
                    out.print(f"run {r.get('run_id')} ({r.get('template') or '-'}) was interrupted: the process ended "
                              f"before it finished (a crash, a kill or a power loss); {held}. To continue, run the "
                              f"same command again: it asks only for what the session does not hold yet.",
                              markup=False)
                if r.get("status") == "batch":
                    ids = ", ".join(str(b.get("id")) for b in (r.get("batches") or [r.get("batch") or {}]))
                    out.print(f"run {r.get('run_id')} ({r.get('template') or '-'}) waits for its batch at the provider "
                              f"({ids}): `studio run {r.get('template') or 'TEMPLATE'} --resume --session {s.name}` "
                              "collects it", markup=False)

        cost = s.cost()
        line = f"cost {cost.text()}"
        if status["accepted"]:
            line += f" · {cost.per(status['accepted'])} per accepted sample"
        out.print(line, markup=False)
    return 0
