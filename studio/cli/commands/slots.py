"""`studio slots TEMPLATE`: each slot's size and source, the space size, and prompts per strategy."""

from __future__ import annotations

from studio.cli.console import console
from studio.workspace import Workspace


def register(sub) -> None:
    p = sub.add_parser("slots", help="show a template's slots and combination space",
                       description="Show each slot, its value count and source, and how many prompts each strategy gives.")
    p.add_argument("template", help="template name or path")
    p.add_argument("-n", type=int, default=None, help="sample size to count for the sample strategy")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.table import Table

    from studio.core.expand import plan
    from studio.core.template import load_template

    ws = Workspace.from_env().ensure()
    template = load_template(ws.find_template(args.template))
    result = plan(template, args.n)
    table = Table(title=f"{template.name}@{template.version} — slots")
    table.add_column("slot")
    table.add_column("values", justify="right")
    table.add_column("source")
    for name, size, source in result.slots:
        table.add_row(name, f"{size:,}", source)
    out = console()
    out.print(table)
    out.print(f"combination space: [bold]{result.size:,}[/]")
    strategies = Table(title="prompts by strategy")
    strategies.add_column("strategy")
    strategies.add_column("prompts", justify="right")
    for name, count in result.counts.items():
        mark = " (default)" if name == template.combine.strategy else ""
        strategies.add_row(name + mark, "too large to plan" if count is None else f"{count:,}")
    out.print(strategies)
    for note in result.notes:
        out.print(f"[dim]{note}[/]", markup=True)
    return 0
