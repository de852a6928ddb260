"""`studio regenerate TEMPLATE`: after an edit, generate only the prompts the edit changed."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("regenerate", help="after a template edit, generate only the prompts that changed",
                       description="Renders the fills of older versions (default: every older one that made "
                                   "samples) with the template as it is now; a slot value you changed is followed "
                                   "to its new text, a removed one retires its fill. Unchanged prompts keep their samples "
                                   "and decisions and are not requested; changed ones are generated with the same "
                                   "seed, model and endpoint; --redo-rejected also redoes rejected or failed unchanged samples with a "
                                   "fresh seed. Then `studio report SESSION --compare TEMPLATE` compares them.")
    p.add_argument("template", help="template name or path (its current text is the new version)")
    p.add_argument("--session", default=None, help="session name (default: the most recent)")
    p.add_argument("--from", dest="old", default=None, metavar="VERSION",
                   help="the older version (its name, v1, or a hash prefix; default: the newest other version with samples)")
    p.add_argument("--redo-rejected", action="store_true", help="also redo rejected/failed unchanged samples")
    p.add_argument("--model", default=None, help="model (default: the one that made each old sample)")
    p.add_argument("--api-base", default=None,
                   help="base URL of an OpenAI-compatible server (default: the one that answered each old sample)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be generated")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p.set_defaults(handler=run)


def run(args) -> int:
    from studio.analysis.regenerate import plan_regeneration, regenerate
    from studio.cli.commands.report import open_session
    from studio.cli.console import console
    from studio.core.errors import StudioError
    from studio.core.template import load_template
    from studio.store.versions import pin_data_version

    if args.concurrency < 1:
        raise StudioError("--concurrency must be at least 1", hint="pass e.g. --concurrency 16")
    ws, session = open_session(args.session, read_only=args.dry_run, adding=True)
    try:
        template = load_template(ws.find_template(args.template))
        pin_data_version(session, template)   # its slot files edited since the text first ran: a new version
        old = _old_version(session, template, args.old)
        plan = plan_regeneration(session, template, old, redo_rejected=args.redo_rejected)
        old = old or plan.old_version
        summary = None
        if not args.dry_run:
            summary = regenerate(ws, session, template, old, model=args.model, api_base=args.api_base,
                                 concurrency=args.concurrency, plan=plan).summary
        shown = {v: session.version_display(template.name, v, 12) for v in [*plan.old_versions, template.version]}
        labels = {v: session.version_label(template.name, v) for v in shown}
    finally:
        session.close()
    if args.json:
        print(json.dumps({"template": template.name, "old": old, "new": template.version,
                          "changed": len(plan.changed), "unchanged": len(plan.unchanged), "redo": len(plan.redo),
                          "retired": len(plan.retired), "done": len(plan.done),
                          "unbuildable": len(plan.unbuildable), "old_versions": plan.old_versions,
                          "summary": summary.as_dict() if summary else None}, ensure_ascii=False))
    else:
        out = console()
        olds = ", ".join(shown[v] for v in plan.old_versions)
        new = shown[template.version]
        out.print(f"{template.name}: {olds} → {new}: {plan.describe()}", markup=False)
        for sample, why in (plan.retired + plan.unbuildable)[:5]:
            out.print(f"  sample {sample.get('id')}: {why}", markup=False)
        if summary is not None:
            out.print(f"generated {summary.done}, failed {summary.failed}, from cache {summary.cached}; "
                      f"compare: studio report {session.name} --compare {template.name} {labels[old] or old[:8]} "
                      f"{labels[template.version] or template.version[:8]}", markup=False)
    return 1 if summary is not None and summary.failed else 0


def _old_version(session, template, prefix: str | None) -> str | None:
    """The version named by --from, or None: every older version (the latest sample of each fill)."""
    from studio.core.errors import StudioError

    made = [v for (name, v), n in (session.counts().get("versions") or {}).items() if name == template.name and n]
    others = [v for v in made if v != template.version]
    if prefix:
        hits = [v for v in made if session.version_label(template.name, v) == prefix] or \
            [v for v in made if v.startswith(prefix)]
        if len(hits) != 1:
            raise StudioError(f"{'no' if not hits else 'more than one'} version of {template.name!r} with samples "
                              f"starts with {prefix!r}", hint=f"versions with samples: {', '.join(made) or '(none)'}")
        return hits[0]
    if not others and template.version not in made:   # one version: a data-file edit may still change prompts
        raise StudioError(f"no older version of {template.name!r} made samples in session {session.name!r}",
                          hint="generate with the template, edit and save it, then regenerate")
    return None
