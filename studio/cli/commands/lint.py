"""`studio lint PATH...`: every problem in template files, one line each."""

from __future__ import annotations

from studio.cli.console import console
from studio.core.workspace import Workspace


def register(sub) -> None:
    p = sub.add_parser("lint", help="check template files for problems",
                       description="Check template files (or folders of them) and print each problem as file:line.")
    p.add_argument("paths", nargs="*", help="template files or folders (default: the workspace's templates/)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from studio.core.lint import lint_paths

    paths = args.paths or [Workspace.from_env().ensure().templates_dir]
    problems = lint_paths(paths)
    out = console()
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        out.print(f"[{style}]{p.severity}[/]: ", end="", markup=True)
        out.print(str(p), markup=False)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if not problems:
        out.print("[green]ok[/]: no problems", markup=True)
    else:
        out.print(f"{errors} error(s), {warnings} warning(s)")
    return 2 if errors else 0
