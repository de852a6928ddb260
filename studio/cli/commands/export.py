"""`studio export SESSION --format F --out DIR`: a curated session as a training dataset."""

from __future__ import annotations

import argparse


def _fraction(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 0.1)") from None


def register(sub) -> None:
    from studio.export.formats import FORMATS

    p = sub.add_parser(
        "export", help="export a session as a training dataset (JSONL or Parquet, with a dataset card)",
        description="Write the session's samples as a dataset a trainer loads as it is: train/validation files "
                    "and a README.md dataset card in the --out folder. Formats: "
                    + "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values()) + ".",
        epilog="Preference and kto formats take accepted and rejected samples by default; the others accepted. "
               "Every row is checked before it is written (roles in a trainer's order, no empty turn, no section "
               "label in the text, no answer that repeats its prompt); rows that fail are removed and counted.")
    p.add_argument("session", help="session name (see `studio sessions`)")
    p.add_argument("--format", "-f", required=True, choices=list(FORMATS), metavar="F",
                   help=f"one of: {', '.join(FORMATS)}")
    p.add_argument("--out", "-o", required=True, help="folder to write into (created if missing)")
    p.add_argument("--parquet", action="store_true", help="write Parquet instead of JSONL")
    p.add_argument("--status", action="append", metavar="S", help="statuses to export (repeat or comma-separate)")
    p.add_argument("--tag", action="append", metavar="T", help="only samples with any of these tags")
    p.add_argument("--template", action="append", metavar="NAME", help="only these templates")
    p.add_argument("--version", action="append", metavar="V", help="only these template versions: a name (v2) or 4+ characters of a hash")
    p.add_argument("--flag", action="append", metavar="FLAG",
                   help="only flagged samples with these flags: cut-off, filtered, refusal, preview")
    p.add_argument("--include-flagged", action="store_true",
                   help="keep flagged samples (cut-off, filtered, refusal); they are left out by default")
    p.add_argument("--dedup-threshold", type=_fraction, default=0.9, metavar="X",
                   help="near-duplicate similarity (0-1, default 0.9; 1 removes exact duplicates only)")
    p.add_argument("--no-dedup", action="store_true", help="keep duplicates")
    p.add_argument("--val-fraction", type=_fraction, default=0.1, metavar="F",
                   help="validation share, stratified by template (default 0.1; 0 for train only)")
    p.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p.add_argument("--licence", "--license", default="unknown", help="licence for the dataset card (e.g. cc-by-4.0)")
    p.add_argument("--force", action="store_true", help="replace an earlier export in the folder")
    p.add_argument("--dry-run", action="store_true", help="show counts and the first rows; write nothing")
    p.add_argument("--preview", type=int, default=2, metavar="N", help="rows to show with --dry-run (default 2)")
    p.set_defaults(handler=run)


def run(args) -> int:
    import orjson

    from studio.cli.console import console
    from studio.export import ExportOptions, plan_export, write_export
    from studio.export.plan import names
    from studio.store import Store
    from studio.core.workspace import Workspace

    options = ExportOptions(
        format=args.format, statuses=names(args.status) or None, tags=names(args.tag),
        templates=names(args.template), versions=names(args.version), dedup=not args.no_dedup,
        dedup_threshold=args.dedup_threshold, val_fraction=args.val_fraction, seed=args.seed,
        parquet=args.parquet, licence=args.licence, include_flagged=args.include_flagged, flags=names(args.flag))
    options.check()
    session = Store(Workspace.from_env().sessions_dir).open(args.session, read_only=True)
    try:
        plan = plan_export(session, options)
    finally:
        session.close()
    out = console()
    for line in plan.summary():                 # prose: wrapped at the terminal's width
        out.print(line, markup=False)
    if args.dry_run:
        for row in plan.preview(args.preview):
            out.print(orjson.dumps(row, option=orjson.OPT_INDENT_2).decode(), markup=False, soft_wrap=True)
        out.print("dry run: nothing written", markup=False)
        return 0
    report = write_export(plan, args.out, force=args.force)
    for f in report.files:
        out.print(f"wrote {f}", markup=False, soft_wrap=True)
    return 0
