"""`studio slots TEMPLATE`: each slot's size and source, the space size, and prompts per strategy."""

from __future__ import annotations

from studio.cli.console import console
from studio.core.workspace import Workspace


def register(sub) -> None:
    p = sub.add_parser("slots", help="show a template's slots and combination space",
                       description="Show each slot, its value count and source, and how many prompts each strategy gives.")
    p.add_argument("template", help="template name or path")
    p.add_argument("-n", type=int, default=None, help="sample size to count for the sample strategy")
    p.set_defaults(handler=run)


def run(args) -> int:
    from studio.analysis.tables import PlainTable

    from studio.core.expand import plan
    from studio.core.template import load_template

    ws = Workspace.from_env().ensure()
    template = load_template(ws.find_template(args.template))
    result = plan(template, args.n)
    out = console()
    # the title on its own line: as a table's title it would wrap to the (narrow) table's width
    out.print(f"{template.name}@{template.version} — slots", markup=False, style="italic")
    table = PlainTable()
    table.add_column("slot")
    table.add_column("values", justify="right")
    table.add_column("source")
    for name, size, source in result.slots:
        table.add_row(name, f"{size:,}", source)
    out.print(table)
    out.print(f"combination space: [bold]{result.size:,}[/]", markup=True)
    strategies = PlainTable(title="prompts by strategy")
    strategies.add_column("strategy")
    strategies.add_column("prompts", justify="right")
    for name, count in result.counts.items():
        mark = " (default)" if name == template.combine.strategy else ""
        strategies.add_row(name + mark, "too large to plan" if count is None else f"{count:,}")
    out.print(strategies)
    for note in result.notes:
        out.print(note, style="dim")
    for note in _text_file_notes(template):
        out.print(note, markup=False, style="dim")
    return 0


def _text_file_notes(template) -> list[str]:
    """What reading each .txt slot file skipped, so no value is dropped silently."""
    from studio.core.errors import StudioError
    from studio.core.files import read_user_text
    from studio.core.slots import TXT_RULES, text_skipped

    notes = []
    for name, spec in template.slots.items():
        source = spec.file or (spec.personas if spec.personas != "builtin" else None)
        if not source or not source.lower().endswith((".txt", ".text", ".lst")):
            continue
        try:
            comments, blanks = text_skipped(read_user_text(template.base_dir / source))
        except StudioError:
            continue
        notes.append(f"{name}: {source}: {TXT_RULES}; skipped {comments} comment line(s), {blanks} blank line(s)")
    return notes
