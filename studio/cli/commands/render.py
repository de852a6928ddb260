"""`studio render TEMPLATE`: print the filled prompts, without calling any model."""

from __future__ import annotations

import json

from studio.cli.console import console
from studio.core.template import STRATEGIES
from studio.core.workspace import Workspace


def register(sub) -> None:
    p = sub.add_parser("render", help="print filled prompts of a template",
                       description="Expand a template's slots and print the filled prompts (no model is called).")
    p.add_argument("template", help="template name or path")
    p.add_argument("-n", type=int, default=None, help="how many prompts (default: the template's combine.n)")
    p.add_argument("--seed", type=int, default=None, help="seed for sampling (default: the template's)")
    p.add_argument("--strategy", choices=STRATEGIES, default=None, help="how slots combine")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=run)


def run(args) -> int:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.text import Text

    from studio.analysis.tables import plain

    from studio.core.errors import StudioError
    from studio.core.expand import expand
    from studio.core.render import Renderer
    from studio.core.template import load_template

    if args.n is not None and args.n < 0:
        raise StudioError("-n must be zero or more", hint="pass e.g. -n 10")
    ws = Workspace.from_env().ensure()
    template = load_template(ws.find_template(args.template))
    renderer = Renderer(template)
    extra = {name: f"<{name}>" for name in template.inputs}
    out = console()
    count = 0
    for fill in expand(template, n=args.n, strategy=args.strategy, seed=args.seed):
        messages = renderer.messages(fill, extra)
        count += 1
        if args.json:
            print(json.dumps({"template": template.name, "version": template.version, "index": fill.index,
                              "fill_key": fill.fill_key, "slots": fill.values, "messages": messages},
                             ensure_ascii=False))
            continue
        body = Text()
        for m in messages:
            if len(messages) > 1:
                body.append(f"{m['role']}: ", style="bold")
            body.append(plain(m["content"] + ("\n" if m is not messages[-1] else "")))
        slots = ", ".join(f"{k}={v if len(v) <= 40 else v[:39] + '…'}" for k, v in fill.values.items())
        title, subtitle = plain(f"#{count} {template.name}@{template.version}"), plain(slots)
        title.overflow = subtitle.overflow = "ellipsis"    # a border line longer than the terminal: `…`, not cut
        out.print(Panel(body, title=title, subtitle=subtitle, title_align="left"))
    if not args.json:
        if template.inputs:
            out.print(f"[dim]inputs {escape(', '.join(template.inputs))} are supplied at run time; shown as "
                      "<name>[/]", markup=True)
        out.print(f"[dim]{count} prompt(s)[/]", markup=True)
    return 0
