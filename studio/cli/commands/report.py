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
                   help="compare two versions of TEMPLATE, by name (v1 v2) or hash prefix (default: its last "
                        "two saved versions that render)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--html", default=None, metavar="FILE",
                   help="also write the report, pictures included, as a self-contained HTML page")
    p.add_argument("--no-pictures", action="store_true", help="tables only")
    p.set_defaults(handler=run)


def open_session(name: str | None, *, read_only: bool = True, create: bool = False, fallback: str | None = None,
                 adding: bool = False):
    """The named session (else the most recent, else `fallback`), read-only unless the command writes.
    `adding`: the command only adds (samples, runs, feedback), so a session another studio holds is
    added to through its inbox (studio.store.inbox) instead of refused."""
    from studio.core.errors import StudioError
    from studio.store import Store
    from studio.core.workspace import Workspace

    ws = Workspace.from_env()
    if create:
        ws.ensure()
    store = Store(ws.sessions_dir)
    name = name or store.most_recent() or fallback
    if not name:
        raise StudioError("there is no session yet", path=ws.sessions_dir,
                          hint="name one with --session, or make one with `studio run TEMPLATE`")
    session = store.open(name, create=create, read_only=read_only)
    if adding and not read_only and session.read_only and getattr(session, "locked_by", None):
        from studio.store.inbox import GuestSession

        return ws, GuestSession(session)
    if not read_only and session.read_only:
        session.close()
        raise StudioError(f"session {name!r} is being written by another studio process", path=session.path,
                          hint="close it there, or pick another session")
    return ws, session


def run(args) -> int:
    from studio.core.errors import StudioError

    if args.min_count < 1 or not 0 < args.alpha < 1 or args.top < 0:
        raise StudioError("--min-count must be at least 1, --alpha between 0 and 1, --top zero or more",
                          hint="e.g. --min-count 20 --alpha 0.01")
    _, session = open_session(args.session)
    try:
        if args.compare:
            return _compare(session, args)
        from studio.analysis.attribution import analyse_session
        from studio.analysis.verify import agreement, verified_samples

        # counted from the store's index; only the samples with a double-check verdict are read
        report = analyse_session(session, template=args.template, min_count=args.min_count, alpha=args.alpha)
        filters = {"template": args.template} if args.template else {}
        agree = agreement(verified_samples(session, **filters))
        labels = session.version_labels()
        pics = None
        if (not args.no_pictures and not args.json) or args.html:     # --json: the numbers only
            from studio.analysis.pictures import from_session

            pics = from_session(session, report)
        if args.json:
            out = report.to_dict()
            out["agreement"] = {k: v.to_dict() for k, v in agree.items()}
            out["version_labels"] = {f"{t}/{v}": label for (t, v), label in session.version_labels().items()}
            print(json.dumps(out, ensure_ascii=False))
        else:
            parts = _parts(session.name, report, agree, args.top, None if args.no_pictures else pics, labels)
            from studio.cli.console import console

            out = console()
            for part in parts:
                out.print(part)
        if args.html:
            _write_html(args.html, session.name, _parts(session.name, report, agree, args.top, pics, labels))
    finally:
        session.close()
    return 0


def _write_html(path: str, name: str, parts: list) -> None:
    from pathlib import Path

    from studio.analysis.pictures import html_page
    from studio.core.errors import StudioError
    from studio.core.files import atomic_write_text

    target = Path(path)
    if target.is_dir():
        raise StudioError(f"{target} is a folder", path=target, hint="give --html a file name, e.g. report.html")
    try:
        atomic_write_text(target, html_page(parts, f"studio report: {name}"))
        target.chmod(0o644)                      # a page to share, not a secret
    except OSError as exc:
        raise StudioError(f"cannot write {target}: {exc.strerror or exc}", path=target,
                          hint="choose a file in a folder you can write to") from None
    print(f"wrote {target}", file=__import__("sys").stderr)


def _parts(name: str, report, agree, top: int, pics=None, labels: dict | None = None) -> list:
    from rich.text import Text

    from studio.analysis.tables import agreement_table, flags_text, value_tables, versions_table

    if not report.templates:
        return [Text(f"session {name!r} has no samples yet")]
    parts: list = [versions_table(report, f"session {name}: templates and versions", labels), Text(""),
                   flags_text(report)]
    if pics is not None:
        from studio.analysis.pictures import pictures

        parts += [Text(""), pictures(pics, labels, more=f"the tables below list up to {top} values a slot "
                                                      "(--top N for more); --json lists every value and tag")]
    for tr in report.templates:
        parts += value_tables(tr, top, more="--top N shows more; --json lists every value and tag")
    if agree:
        parts.append(agreement_table(agree))
    return parts


def _compare(session, args) -> int:
    from studio.analysis.compare import compare_in_session
    from studio.cli.console import console
    from studio.core.errors import StudioError

    template, *versions = args.compare
    if len(versions) not in (0, 2):
        raise StudioError("--compare takes a template and either no versions or two",
                          hint="e.g. --compare support-madlib, or --compare support-madlib OLD NEW")
    saved = [v["version"] for v in session.template_versions(template)]
    versions = [_resolve(v, saved, template, session) for v in versions] or [None, None]
    cmp = compare_in_session(session, template, *versions)
    if args.json:
        print(json.dumps(cmp.to_dict(), ensure_ascii=False))
        return 0
    from studio.analysis.tables import comparison

    console().print(comparison(cmp))
    return 0


def _resolve(prefix: str, saved: list[str], template: str, session=None) -> str:
    """A version named by its name (v2) or a prefix of its hash."""
    from studio.core.errors import StudioError

    if session is not None:
        named = [v for v in saved if session.version_label(template, v) == prefix]
        if len(named) == 1:
            return named[0]
    hits = [v for v in saved if v.startswith(prefix)]
    if len(hits) != 1:
        raise StudioError(f"{'no' if not hits else 'more than one'} saved version of {template!r} starts with "
                          f"{prefix!r}", hint="saved versions: " + (", ".join(
                              f"{session.version_label(template, v)} {v[:6]}".strip() if session is not None else v
                              for v in saved) or "(none)"))
    return hits[0]
