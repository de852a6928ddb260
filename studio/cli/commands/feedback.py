"""`studio feedback import|list|draft`: production feedback into structured signals and new templates."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("feedback", help="import production feedback, group it, draft templates from it",
                       description="import: read JSONL or CSV rows with prompt, response, comment and/or rating; "
                                   "bad rows are reported by line and skipped; each comment is structured by the "
                                   "feedback-structuring template (category, severity, concerned part, desired "
                                   "behaviour). list: the groups by category. draft: a new template targeting a "
                                   "group, seeded with the real prompts behind it, added to the session.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    imp = actions.add_parser("import", help="read, structure and store a feedback file")
    imp.add_argument("file", help="a .jsonl or .csv file")
    imp.add_argument("--session", default=None, help="session name (default: the most recent; created if new)")
    imp.add_argument("--model", default=None, help="model that structures the comments (default: the session's, "
                                                   "$STUDIO_MODEL, or the embedded model)")
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
    dr.set_defaults(handler=run_draft)


def run_import(args) -> int:
    from studio.analysis.feedback import group_feedback, import_feedback
    from studio.cli.commands.report import open_session
    from studio.cli.console import console, error_console
    from studio.core.errors import StudioError
    from studio.engine import default_model
    from studio.engine.models import RENDER

    if args.concurrency < 1:
        raise StudioError("--concurrency must be at least 1", hint="pass e.g. --concurrency 16")
    ws, session = open_session(args.session, read_only=False, create=True, fallback="feedback")
    try:
        model = args.model or default_model((session.meta or {}).get("model"))
        if model == RENDER:
            raise StudioError("structuring feedback needs a model, and none is set",
                              hint="pass --model (e.g. openai/gpt-4o-mini) or install the local extra")
        result = import_feedback(session, args.file, model=model, api_base=args.api_base, cache_dir=ws.cache_dir,
                                 workspace=ws, concurrency=args.concurrency)
        groups = group_feedback(session.feedback())
    finally:
        session.close()
    err = error_console()
    for problem in result.problems:
        err.print(f"skipped {problem}", markup=False, style="yellow")
    if args.json:
        print(json.dumps({"session": session.name, "added": len(result.added), "skipped": len(result.problems),
                          "duplicates": result.duplicates, "status": result.status,
                          "problems": [str(p) for p in result.problems]}, ensure_ascii=False))
    else:
        out = console()
        status = ", ".join(f"{n} {s}" for s, n in sorted(result.status.items())) or "nothing new"
        out.print(f"session {session.name}: added {len(result.added)} feedback record(s) ({status}); "
                  f"{len(result.problems)} bad row(s) skipped; {result.duplicates} already there", markup=False)
        _print_groups(groups, 1)
    return 1 if result.problems else 0


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
                           "prompts": len(g.prompts), "desired": g.desired(),
                           "examples": [{k: e.get(k) for k in ("prompt", "response", "comment", "rating", "source",
                                                                "line")} for e in g.examples(args.examples)]}
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
    drafts = [g.category for g in groups if g.category not in ("unstructured", "rating-only")]
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
        draft = save_draft(draft_template(group, name=args.name, templates_dir=ws.templates_dir), ws.templates_dir,
                           session)
    finally:
        session.close()
    console().print(f"wrote {draft.path} ({draft.prompts} prompt(s) from {group.count} '{group.category}' feedback "
                    f"record(s)); added to session {session.name} as version {draft.version}\n"
                    f"next: studio run {draft.name} --session {session.name}", markup=False)
    return 0
