"""`studio import FILE...`: Prompty (.prompty) and Dotprompt (.prompt) files as studio templates."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "import", help="turn Prompty and Dotprompt files into studio templates",
        description="Read .prompty (Prompty) and .prompt (Dotprompt, Handlebars) files and write each as a studio "
                    "template: name, model, parameters, inputs as slots holding their sample values, role "
                    "sections, an output schema as structured mode; Handlebars blocks become Jinja2. Says what it "
                    "could not map, file:line; refuses what it cannot convert (partials, media, custom helpers).")
    p.add_argument("files", nargs="+", help=".prompty or .prompt files")
    p.add_argument("--out", default=None, help="folder to write into (default: the workspace's templates/)")
    p.add_argument("--force", action="store_true", help="replace a template file of the same name")
    p.add_argument("--print", dest="show", action="store_true", help="print the templates; write nothing")
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from studio.cli.console import console, error_console
    from studio.core.errors import StudioError
    from studio.core.files import atomic_write_text
    from studio.core.importers import import_file, source_line
    from studio.core.lint import lint_text
    from studio.core.workspace import Workspace

    out, err = console(), error_console()
    folder = Path(args.out) if args.out else Workspace.from_env().ensure().templates_dir
    failed = 0
    for name in args.files:
        try:
            imported = import_file(name)
        except StudioError as exc:
            err.print(f"refused {exc}", markup=False, highlight=False)
            failed += 1
            continue
        target = folder / f"{imported.name}.prompt"
        for note in imported.notes:
            out.print(f"note {note.render(name)}", markup=False, style="yellow", soft_wrap=True)
        problems = [p for p in lint_text(imported.text, target) if p.severity == "error"]
        if problems:                                  # never write a template that does not lint
            source = Path(name).read_text(encoding="utf-8", errors="replace")
            for p in problems:                        # said against the file the user has (nothing was written)
                hint = f" — {p.hint}" if p.hint else ""
                err.print(f"refused {name}:{source_line(source, p.message)}: the converted template has a problem: "
                          f"{p.message}{hint}", markup=False, highlight=False, soft_wrap=True)
            failed += 1
            continue
        if args.show:
            out.print(imported.text, markup=False, highlight=False, soft_wrap=True)
            continue
        if target.exists() and not args.force:
            err.print(f"refused {name}: {target} exists already — add --force to replace it", markup=False)
            failed += 1
            continue
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, imported.text)
        out.print(f"wrote {target} ({imported.kind}: {len(imported.notes)} thing(s) not mapped as they were)",
                  markup=False, soft_wrap=True)
    return 2 if failed else 0
