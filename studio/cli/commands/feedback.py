"""`studio feedback import|list|draft`: production feedback into structured signals and new templates."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("feedback", help="import production feedback, group it, draft templates from it",
                       description="import: read feedback as it comes (app-store exports, thumbs-down notes, "
                                   "tickets as JSONL/JSON/CSV with a comment and/or a rating, optional prompt, "
                                   "response, date, id; or a .txt file, one comment a line); bad rows are reported "
                                   "by line and skipped; each comment gets a signal (category, polarity, severity, "
                                   "desired behaviour) from the offline rules, refined by --model when given. "
                                   "list: the groups by category. restructure: structure again (another model). "
                                   "set: correct a record's category by hand. draft: a new template targeting a "
                                   "group, seeded with the prompts behind it, added to the session.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    imp = actions.add_parser("import", help="read, structure and store a feedback file")
    imp.add_argument("file", nargs="+", help=".jsonl, .json, .csv/.tsv or .txt files")
    imp.add_argument("--session", default=None, help="session name (default: the most recent; created if new)")
    imp.add_argument("--model", default=None, help="a model that refines the offline rules' signals (default: "
                                                   "none, the rules alone; see the README for each path's accuracy)")
    imp.add_argument("--api-base", default=None, help="base URL of an OpenAI-compatible server")
    imp.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    imp.add_argument("--json", action="store_true", help="print a machine-readable summary")
    imp.set_defaults(handler=run_import)

    ls = actions.add_parser("list", help="feedback grouped by category, with counts and examples")
    ls.add_argument("--session", default=None, help="session name (default: the most recent)")
    ls.add_argument("--examples", type=int, default=2, help="examples per group (default 2)")
    ls.add_argument("--json", action="store_true", help="print the groups as JSON")
    ls.set_defaults(handler=run_list)

    dr = actions.add_parser("draft", help="draft a template targeting one category of feedback")
    dr.add_argument("category", help="a category from `studio feedback list`, e.g. verbosity")
    dr.add_argument("--session", default=None, help="session name (default: the most recent)")
    dr.add_argument("--name", default=None, help="template name (default: from the category, e.g. concise-answers)")
    dr.add_argument("--prompts", default=None, metavar="FILE",
                    help="prompts to seed the draft with, one a line (added to those the feedback points at)")
    dr.set_defaults(handler=run_draft)

    rs = actions.add_parser("restructure", help="structure stored feedback again (another model, or the rules)")
    rs.add_argument("--session", default=None, help="session name (default: the most recent)")
    rs.add_argument("--model", default=None, help="a model that refines the rules (default: the rules alone)")
    rs.add_argument("--api-base", default=None, help="base URL of an OpenAI-compatible server")
    rs.add_argument("--all", action="store_true", help="every record but those corrected by hand "
                                                      "(default: only the unstructured ones)")
    rs.add_argument("--id", type=int, action="append", metavar="N", help="only these records")
    rs.set_defaults(handler=run_restructure)

    st = actions.add_parser("set", help="correct a feedback record's category by hand (kept by restructure)")
    st.add_argument("id", type=int, help="the record's id (`studio feedback list --json --examples N`)")
    st.add_argument("category", help="the category it belongs to")
    st.add_argument("--session", default=None, help="session name (default: the most recent)")
    st.set_defaults(handler=run_set)


def run_import(args) -> int:
    from studio.analysis.feedback import group_feedback, import_feedback
    from studio.cli.commands.report import open_session
    from studio.cli.console import console, error_console
    from studio.core.errors import StudioError

    if args.concurrency < 1:
        raise StudioError("--concurrency must be at least 1", hint="pass e.g. --concurrency 16")
    model = _model(args.model)
    ws, session = open_session(args.session, read_only=False, create=True, fallback="feedback", adding=True)
    results = []
    try:
        for path in args.file:
            results.append(import_feedback(session, path, model=model, api_base=args.api_base,
                                           cache_dir=ws.cache_dir, workspace=ws, concurrency=args.concurrency))
        groups = group_feedback(session.feedback())
    finally:
        session.close()
    err = error_console()
    problems = [p for r in results for p in r.problems]
    for problem in problems:
        err.print(f"skipped {problem}", markup=False, style="yellow")
    added = sum(len(r.added) for r in results)
    duplicates = sum(r.duplicates for r in results)
    status: dict[str, int] = {}
    by: dict[str, int] = {}
    for r in results:
        for k, n in r.status.items():
            status[k] = status.get(k, 0) + n
        for k, n in r.by.items():
            by[k] = by.get(k, 0) + n
    if args.json:
        print(json.dumps({"session": session.name, "added": added, "skipped": len(problems),
                          "duplicates": duplicates, "status": status, "structured_by": by,
                          "problems": [str(p) for p in problems]}, ensure_ascii=False))
    else:
        out = console()
        text = ", ".join(f"{n} {s}" for s, n in sorted(status.items())) or "nothing new"
        path = ", ".join(f"{n} by {k}" for k, n in sorted(by.items()) if k != "-")
        out.print(f"session {session.name}: added {added} feedback record(s) ({text}"
                  + (f"; {path}" if path else "") + f"); {len(problems)} bad row(s) skipped; "
                  f"{duplicates} already there", markup=False)
        _print_groups(groups, 1)
    return 1 if problems else 0


def _model(name: str | None) -> str | None:
    """None (the offline rules alone) unless a model is named; `rules` names the rules."""
    from studio.core.errors import StudioError
    from studio.engine.models import RENDER

    if name in (None, "", "rules"):
        return None
    if name == RENDER:
        raise StudioError("the render model cannot structure feedback",
                          hint="leave --model out for the offline rules, or name a model (e.g. openai/gpt-4o-mini)")
    return name


def run_restructure(args) -> int:
    from studio.analysis.feedback import group_feedback, restructure
    from studio.cli.commands.report import open_session
    from studio.cli.console import console

    model = _model(args.model)
    ws, session = open_session(args.session, read_only=False)
    try:
        status = restructure(session, model=model, ids=args.id, everything=args.all, api_base=args.api_base,
                             cache_dir=ws.cache_dir, workspace=ws)
        groups = group_feedback(session.feedback())
    finally:
        session.close()
    text = ", ".join(f"{n} {s}" for s, n in sorted(status.items())) or "nothing to redo"
    console().print(f"restructured with {model or 'the offline rules'}: {text}", markup=False)
    _print_groups(groups, 1)
    return 0


def run_set(args) -> int:
    from studio.analysis.feedback import correct
    from studio.cli.commands.report import open_session
    from studio.cli.console import console

    _, session = open_session(args.session, read_only=False)
    try:
        rec = correct(session, args.id, args.category)
    finally:
        session.close()
    was = rec["was"]
    console().print(f"feedback {args.id}: {was.get('category') or 'none'} ({was.get('by') or '-'}) -> "
                    f"{rec['category']} (by hand)", markup=False)
    return 0


def run_list(args) -> int:
    from studio.analysis.feedback import group_feedback
    from studio.cli.commands.report import open_session

    _, session = open_session(args.session)
    try:
        groups = group_feedback(session.feedback())
    finally:
        session.close()
    if args.json:
        print(json.dumps([{"category": g.category, "count": g.count, "severity": g.severity,
                           "polarity": g.polarity, "structured_by": g.by, "said": g.said(5),
                           "prompts": len(g.prompts), "desired": g.desired(),
                           "examples": [{k: e.get(k) for k in ("id", "prompt", "response", "comment", "rating",
                                                                "polarity", "source", "line", "key")}
                                        for e in g.examples(args.examples)]}
                          for g in groups], ensure_ascii=False))
        return 0
    _print_groups(groups, args.examples)
    return 0


def _print_groups(groups, examples: int) -> None:
    from studio.analysis.tables import feedback_table
    from studio.cli.console import console

    out = console()
    if not groups:
        out.print("no feedback in this session yet — `studio feedback import FILE`", markup=False)
        return
    out.print(feedback_table(groups, examples))
    from studio.analysis.drafting import NOT_DRAFTABLE

    drafts = [g.category for g in groups if g.category not in NOT_DRAFTABLE]
    if drafts:
        out.print(f"draft a template from a group: studio feedback draft {drafts[0]}", markup=False)


def run_draft(args) -> int:
    from studio.analysis.drafting import draft_template, save_draft
    from studio.analysis.feedback import find_group
    from studio.cli.commands.report import open_session
    from studio.cli.console import console

    ws, session = open_session(args.session, read_only=False)
    try:
        ws.ensure()
        group = find_group(session.feedback(), args.category)
        given = None
        if args.prompts:
            from studio.core.files import lines, read_user_text

            given = [x for x in lines(read_user_text(args.prompts, what="prompts file")) if x.strip()]
        draft = save_draft(draft_template(group, name=args.name, templates_dir=ws.templates_dir, session=session,
                                          prompts=given), ws.templates_dir, session)
    finally:
        session.close()
    console().print(f"wrote {draft.path} ({draft.prompts} prompt(s) from {draft.source}; {group.count} "
                    f"'{group.category}' feedback record(s)); added to session {session.name} as version {draft.version}\n"
                    f"next: studio run {draft.name} --session {session.name}", markup=False)
    return 0
