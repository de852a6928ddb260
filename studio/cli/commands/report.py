"""`studio report SESSION`: where the failures come from, as rich tables (studio.analysis does the work)."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("report", help="attribute failures to template versions, slot values and personas",
                       description="Per template and version: samples, accept rate, failure tags, cost per "
                                   "accepted sample. Per slot value and persona attribute: accept and tag rates, "
                                   "and the values whose failure rate stands out (one-sided Fisher exact test, "
                                   "Holm-corrected, never on a handful of samples). --compare shows two versions "
                                   "of a template side by side.")
    p.add_argument("session", help="session name")
    p.add_argument("--template", default=None, help="only this template")
    p.add_argument("--top", type=int, default=8, help="values shown per slot or attribute (default 8; flagged "
                                                      "values always show)")
    p.add_argument("--min-count", type=int, default=20, help="reviewed samples a value needs to be tested (20)")
    p.add_argument("--alpha", type=float, default=0.01, help="family-wise error rate per template (0.01)")
    p.add_argument("--compare", nargs="+", metavar=("TEMPLATE", "VERSION"),
                   help="compare two versions of TEMPLATE (default: its last two saved versions)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=run)


def open_session(name: str | None, *, read_only: bool = True, create: bool = False, fallback: str | None = None):
    """The named session (else the most recent, else `fallback`), read-only unless the command writes."""
    from studio.core.errors import StudioError
    from studio.store import Store
    from studio.workspace import Workspace

    ws = Workspace.from_env()
    if create:
        ws.ensure()
    store = Store(ws.sessions_dir)
    name = name or store.most_recent() or fallback
    if not name:
        raise StudioError("there is no session yet", path=ws.sessions_dir,
                          hint="name one with --session, or make one with `studio run TEMPLATE`")
    session = store.open(name, create=create, read_only=read_only)
    if not read_only and session.read_only:
        session.close()
        raise StudioError(f"session {name!r} is being written by another studio process", path=session.path,
                          hint="close it there, or pick another session")
    return ws, session


def _table(title: str):
    from rich import box
    from rich.table import Table

    return Table(title=title or None, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                 collapse_padding=True)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def money(x: float | None) -> str:
    return "unknown" if x is None else f"${x:.4f}"


def top_tags(tags: dict[str, int], k: int = 3) -> str:
    return ", ".join(f"{t} {n}" for t, n in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:k]) or "—"


def run(args) -> int:
    from studio.core.errors import StudioError

    if args.min_count < 1 or not 0 < args.alpha < 1 or args.top < 0:
        raise StudioError("--min-count must be at least 1, --alpha between 0 and 1, --top zero or more",
                          hint="e.g. --min-count 20 --alpha 0.01")
    _, session = open_session(args.session)
    try:
        if args.compare:
            return _compare(session, args)
        from studio.analysis.attribution import analyse
        from studio.analysis.verify import agreement

        verified: list[dict] = []

        def samples():  # one pass over the session: the verified ones are kept aside for the agreement table
            for s in session.iter_samples(template=args.template) if args.template else session.iter_samples():
                if s.get("followups"):
                    verified.append(s)
                yield s

        report = analyse(samples(), min_count=args.min_count, alpha=args.alpha)
        agree = agreement(verified)
        if args.json:
            out = report.to_dict()
            out["agreement"] = {k: v.to_dict() for k, v in agree.items()}
            print(json.dumps(out, ensure_ascii=False))
            return 0
        _print(session.name, report, agree, args.top)
    finally:
        session.close()
    return 0


def _print(name: str, report, agree, top: int) -> None:
    from studio.cli.console import console

    out = console()
    if not report.templates:
        out.print(f"session {name!r} has no samples yet", markup=False)
        return
    t = _table(f"session {name}: templates and versions")
    t.add_column("template", overflow="fold", min_width=8)
    t.add_column("version", no_wrap=True)
    for col in ("n", "acc", "rej", "fail", "pend", "acc %", "failure tags", "$ / acc"):
        t.add_column(col, justify="left" if col == "failure tags" else "right", no_wrap=col != "failure tags",
                     min_width=12 if col == "failure tags" else None)
    t.caption = "acc % = accepted / reviewed · $ / acc = all spend (rejected and failed too) per accepted sample"
    t.caption_justify = "left"
    for tr in report.templates:
        rows = [(tr.name, "all", tr.counts)] if len(tr.versions) > 1 else []
        rows += [(tr.name if len(tr.versions) == 1 else "", v, c) for v, c in tr.versions.items()]
        for label, version, c in rows:
            t.add_row(label, version[:8], str(c.samples), str(c.accepted), str(c.rejected), str(c.failed),
                      str(c.pending), pct(c.accept_rate), top_tags(c.tags), money(c.cost_per_accepted))
    out.print(t)

    flags = report.flags
    out.print()
    if flags:
        out.print(f"⚑ {len(flags)} value(s) stand out (Holm-corrected, alpha {report.settings.alpha}):", markup=False)
        for f in flags:
            out.print(f"  ⚑ {f.template}: {f.describe()}", markup=False)
    else:
        tests = sum(tr.tests for tr in report.templates)
        out.print(f"no value stands out ({tests} tests, Holm-corrected, alpha {report.settings.alpha}, values need "
                  f"{report.settings.min_count} reviewed samples)", markup=False)

    for tr in report.templates:
        flagged = {(f.dimension, f.value) for f in tr.flags}
        tags = sorted(tr.counts.tags, key=lambda x: -tr.counts.tags[x])[:4]
        for dim, values in tr.values.items():
            shown = values[:top] + [v for v in values[top:] if (dim, v.value) in flagged]
            table = _table(f"{tr.name} · {dim} ({len(values)} values)")
            table.add_column("value", overflow="fold", max_width=40)
            for col in ("samples", "reviewed", "accept rate", *(f"{x} rate" for x in tags), "flag"):
                table.add_column(col, justify="right" if col != "flag" else "left")
            for v in shown:
                c = v.counts
                mark = "⚑ stands out" if (dim, v.value) in flagged else ""
                table.add_row(v.value, str(c.samples), str(c.reviewed), pct(c.accept_rate),
                              *(pct(c.tag_rate(x)) for x in tags), mark)
            if len(values) > len(shown):
                table.caption = f"{len(values) - len(shown)} more value(s); --top N shows more"
            out.print(table)

    if agree:
        a = _table("double-check verifier vs the person")
        for col in ("template", "agree", "disagree", "unsure", "not reviewed", "agreement", "kappa"):
            a.add_column(col, justify="left" if col == "template" else "right")
        for name_, g in agree.items():
            a.add_row(name_, str(g.agree), str(g.disagree), str(g.unsure), str(g.unreviewed), pct(g.rate),
                      "—" if g.kappa is None else f"{g.kappa:.2f}")
        out.print(a)


def _compare(session, args) -> int:
    from studio.analysis.compare import compare_in_session
    from studio.cli.console import console
    from studio.core.errors import StudioError

    template, *versions = args.compare
    if len(versions) not in (0, 2):
        raise StudioError("--compare takes a template and either no versions or two",
                          hint="e.g. --compare support-madlib, or --compare support-madlib OLD NEW")
    saved = [v["version"] for v in session.template_versions(template)]
    versions = [_resolve(v, saved, template) for v in versions] or [None, None]
    cmp = compare_in_session(session, template, *versions)
    if args.json:
        print(json.dumps(cmp.to_dict(), ensure_ascii=False))
        return 0
    out = console()
    out.print(f"{template}: {cmp.old} → {cmp.new}", markup=False)
    if cmp.diff:
        for line in cmp.diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            out.print(line, style=style, markup=False, highlight=False)
    else:
        out.print("(the two versions have the same text)", markup=False)
    t = _table("")
    t.add_column("")
    t.add_column(f"old {cmp.old}", justify="right")
    t.add_column(f"new {cmp.new}", justify="right")
    o, n = cmp.old_counts, cmp.new_counts
    for label, a, b in (("samples", o.samples, n.samples), ("reviewed", o.reviewed, n.reviewed),
                        ("accept rate", pct(o.accept_rate), pct(n.accept_rate)),
                        ("failed", o.failed, n.failed),
                        ("cost / accepted", money(o.cost_per_accepted), money(n.cost_per_accepted))):
        t.add_row(label, str(a), str(b))
    for tag in cmp.tags:
        t.add_row(f"{tag} rate", pct(o.tag_rate(tag)), pct(n.tag_rate(tag)))
    out.print(t)
    p = cmp.pairs
    out.print(f"on the same {p.fills} fill(s): {p.improved} fixed (rejected/failed → accepted), {p.regressed} "
              f"broken (accepted → rejected/failed), {p.kept} accepted in both, {p.still_failing} failing in both, "
              f"{p.unreviewed} not reviewed in both; sign test p={p.p_better:.2g}", markup=False)
    return 0


def _resolve(prefix: str, saved: list[str], template: str) -> str:
    from studio.core.errors import StudioError

    hits = [v for v in saved if v.startswith(prefix)]
    if len(hits) != 1:
        raise StudioError(f"{'no' if not hits else 'more than one'} saved version of {template!r} starts with "
                          f"{prefix!r}", hint=f"saved versions: {', '.join(saved) or '(none)'}")
    return hits[0]
