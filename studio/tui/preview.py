"""Parse, lint, plan and render one fill of a template's text: what the editor and slots panes show.

Pure calls into core; kept out of the widgets so they stay display-only, run in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from studio.core.errors import Problem, StudioError


@dataclass
class Analysis:
    """What core says about the text being edited (computed off the UI thread)."""

    text: str
    fill_index: int = 0
    template: Any = None
    problems: list[Any] = field(default_factory=list)
    preview: str = ""
    fill_label: str = ""
    plan: Any = None
    file_values: dict[str, Any] = field(default_factory=dict)  # data-file slot -> its values, or the StudioError


def analyse_template(text: str, where: str, fill_index: int = 0) -> Analysis:
    from studio.core.template import parse_template

    out = Analysis(text=text, fill_index=fill_index)
    try:
        template = parse_template(text, where)
    except StudioError as exc:  # lint goes on past it: every other problem of the file is shown too
        from studio.core.lint import lint_text

        out.problems = lint_text(text, where) or [exc.problem]
        out.preview = f"(cannot preview: {exc.problem.message})"
        return out
    out.template = template
    out.file_values = read_file_values(template)  # the slots pane lists them: read here, never on the UI thread
    try:
        from studio.core.lint import lint_template

        out.problems = [p for p in lint_template(template) if getattr(p, "severity", "error") != "info"]
    except StudioError as exc:
        out.problems = [exc.problem]
    except Exception as exc:  # noqa: BLE001 - lint is advisory; show the failure, never crash
        out.problems = [Problem(where, 0, f"lint failed: {exc}")]
    try:
        from studio.core.expand import expand, plan

        out.plan = plan(template)
        count = prompt_count(out.plan, template.combine.strategy)
        total = max(1, min(count, 1000))
        index = fill_index % total
        fill = next(islice(expand(template), index, index + 1), None)
        if fill is None:
            out.preview = "(no fills: every combination is excluded)"
            return out
        from studio.core.render import Renderer

        messages = Renderer(template).messages(fill)
        out.fill_label = f"fill {index + 1} of {total}" + ("+" if count > total else "")
        out.preview = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
    except StudioError as exc:
        if not any(p.line == exc.problem.line and getattr(p, "severity", "error") == "error" for p in out.problems):
            out.problems = [*out.problems, exc.problem]  # lint has usually said it already, on that line
        out.preview = f"(cannot preview: {exc.problem.message})"
    except Exception as exc:  # noqa: BLE001
        out.preview = f"(cannot preview: {type(exc).__name__}: {exc})"
    return out


def read_file_values(template: Any) -> dict[str, Any]:
    """Each data-file slot's values as its file holds them (a slow disk or a large file is read here, in the
    worker), or the StudioError that says why they cannot be listed."""
    from studio.core.slot_files import file_values

    out: dict[str, Any] = {}
    for name, spec in template.slots.items():
        if spec.values is None and spec.file:
            try:
                out[name] = file_values(template, name)
            except StudioError as exc:
                out[name] = exc
    return out


def prompt_count(space_plan, strategy: str) -> int:
    """Prompts the strategy gives (unknown counts fall back to the space size)."""
    value = (space_plan.counts or {}).get(strategy)
    return int(value) if value is not None else int(space_plan.size)
