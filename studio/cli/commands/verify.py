"""`studio verify SESSION`: the double-check template judges chosen samples; agreement with the person."""

from __future__ import annotations

import json

STATUSES = ("accepted", "rejected", "pending", "failed", "reviewed", "all")


def register(sub) -> None:
    p = sub.add_parser("verify", help="run the double-check verifier on samples; show where it disagrees",
                       description="Runs the double-check template on the chosen samples (by default every "
                                   "reviewed or pending sample without a verdict yet), stores each verdict with its "
                                   "sample, and shows per template how often the verifier agrees with your "
                                   "accept/reject, so you know when it can pre-screen. --disagreements only lists.")
    p.add_argument("session", help="session name")
    p.add_argument("--status", choices=STATUSES, default=None,
                   help="which samples (default: accepted, rejected and pending)")
    p.add_argument("--template", default=None, help="only this template")
    p.add_argument("--version", default=None, help="only this template version: its name (v2) or 4+ characters of "
                                                   "its hash")
    p.add_argument("--tag", default=None, help="only samples with this failure tag")
    p.add_argument("--limit", type=int, default=None, help="at most this many samples")
    p.add_argument("--redo", action="store_true", help="verify again samples that already have a verdict")
    p.add_argument("--model", default=None, help="verifier model (default: the session's, $STUDIO_MODEL, or the "
                                                 "embedded model)")
    p.add_argument("--api-base", default=None, help="base URL of an OpenAI-compatible server")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--disagreements", action="store_true",
                   help="run nothing: list the samples where verifier and person disagree")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def version_named(session, template: str | None, given: str | None) -> str | None:
    """The version hash `given` names: a name (v2, of `template` when given) or 4+ characters of a hash."""
    from studio.core.errors import StudioError

    if not given:
        return None
    labels = session.version_labels()           # {(template, hash): "v2"}
    mine = {(t, v): label for (t, v), label in labels.items() if not template or t == template}
    hits = {v for (_t, v), label in mine.items() if (label or "").lower() == given.lower()} or \
        {v for (_t, v) in mine if len(given) >= 4 and v.startswith(given)}
    if len(hits) == 1:
        return hits.pop()
    shown = ", ".join(f"{t} {label} {v[:6]}" for (t, v), label in mine.items()) or "(none)"
    if hits:
        raise StudioError(f"version {given!r} names a version of several templates",
                          hint=f"add --template NAME; versions here: {shown}")
    raise StudioError(f"no samples of template version {given!r}", hint=f"versions here: {shown}")


def _select(session, args) -> list[int]:
    from studio.analysis.verify import verdict_of

    status = args.status or "default"
    wanted = {"reviewed": ("accepted", "rejected"), "all": ("accepted", "rejected", "pending", "failed"),
              "default": ("accepted", "rejected", "pending")}.get(status, (status,))
    ids = []
    for s in session.iter_samples(template=args.template, version=args.version, tag=args.tag):
        if s.get("status") not in wanted or (not args.redo and verdict_of(s) is not None):
            continue
        ids.append(s["id"])
        if args.limit is not None and len(ids) >= args.limit:
            break
    return ids


def run(args) -> int:
    from studio.analysis.verify import agreement, checker_template, disagreements, verify_samples
    from studio.cli.commands.report import open_session
    from studio.core.errors import StudioError
    from studio.engine import default_model
    from studio.engine.models import RENDER

    if args.limit is not None and args.limit < 0 or args.concurrency < 1:
        raise StudioError("--limit must be zero or more and --concurrency at least 1", hint="e.g. --limit 100")
    ws, session = open_session(args.session, read_only=args.disagreements)
    try:
        args.version = version_named(session, args.template, args.version)
        result = None
        if not args.disagreements:
            model = args.model or default_model((session.meta or {}).get("model"))
            if model == RENDER:
                raise StudioError("the verifier needs a model, and none is set",
                                  hint="pass --model (e.g. openai/gpt-4o-mini) or install the local extra")
            ids = _select(session, args)
            result = verify_samples(session, ids, model=model, template=checker_template(ws), api_base=args.api_base,
                                    cache_dir=ws.cache_dir, concurrency=args.concurrency)
        filters = {"template": args.template, "version": args.version}
        verified = [s for s in session.iter_samples(**filters) if (s.get("followups") or {}).get("double-check")]
    finally:
        session.close()
    agree = agreement(verified)
    differ = disagreements(verified)
    if args.json:
        print(json.dumps({
            "verified": result.verified if result else 0, "failed": {str(k): v for k, v in (result.failed if result
                                                                                             else {}).items()},
            "verdicts": result.verdicts if result else {}, "agreement": {k: v.to_dict() for k, v in agree.items()},
            "disagreements": [s["id"] for s in differ]}, ensure_ascii=False))
    else:
        _print(session.name, result, agree, differ)
    return 1 if result and result.failed else 0


def _print(name, result, agree, differ) -> None:
    from studio.analysis.tables import agreement_table, disagreements_table
    from studio.cli.console import console

    out = console()
    if result is not None:
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(result.verdicts.items())) or "none"
        out.print(f"session {name}: verified {result.verified} sample(s) ({verdicts}); {len(result.failed)} failed; "
                  f"{result.skipped} without output skipped", markup=False)
        for sid, reason in list(result.failed.items())[:10]:
            out.print(f"  sample {sid}: {reason}", markup=False)
    if agree:
        out.print(agreement_table(agree))
    if differ:
        out.print(disagreements_table(differ, more="--json lists every id"))
    elif agree:
        out.print("no disagreements", markup=False)
