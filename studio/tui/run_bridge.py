"""The one place the TUI calls `studio.runs` / `studio.analysis.regenerate` (shared with the CLI).

Runs in the run worker thread: an asyncio loop of its own, progress handed back through callbacks
that post messages. `control["run"]` is the live Run so the stop key can stop it from the UI thread.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from studio.core.errors import StudioError

REDO_STATUSES = ("rejected", "failed")


def regeneration_fills(session: Any, template: Any) -> list:
    """Fills of rejected or failed samples of older versions of this template, to redo with this version."""
    from studio.analysis.regenerate import plan_regeneration

    versions = {v for (name, v) in (session.counts().get("versions") or {}) if name == template.name}
    versions.discard(template.version)
    fills, seen = [], set()
    for old in sorted(versions):
        try:
            plan = plan_regeneration(session, template, old, redo_rejected=True, base_seed=template.combine.seed)
        except StudioError:
            continue
        for sample, fill in plan.changed + plan.redo:
            if sample.get("status") in REDO_STATUSES and fill.fill_key not in seen:
                seen.add(fill.fill_key)
                fills.append(fill)
    return fills


def in_flight(run: Any) -> int:
    """Requests sent and not yet answered (the engine counts them; render mode has no engine)."""
    return run.engine.in_flight if run.engine is not None else 0


def run_generation(workspace: Any, session: Any, text: str, path: str | None, opts: dict, control: dict,
                   stats: dict, *, only: str | None, on_samples: Callable[[list[int]], None],
                   on_progress: Callable[[], None]) -> None:
    from studio.core.template import parse_template
    from studio.runs import Run

    template = parse_template(text, path)
    fills = None
    if only == "regenerate":
        fills = regeneration_fills(session, template)
        if not fills:
            raise StudioError(f"no rejected or failed samples of older versions of {template.name} to redo",
                              hint="reject samples, edit and save the template (ctrl+s), then regenerate")
    model = opts.get("model")
    run = Run(workspace, template, session=session, model=model, n=opts.get("count"),
              strategy=opts.get("strategy"), seed=opts.get("seed"), fills=fills)
    control["run"] = run
    stats["total"] = run.total
    stats["model"] = run.model

    def sample(s: dict) -> None:
        if "id" in s:
            on_samples([s["id"]])

    def progress(r: Any) -> None:
        p = r.progress
        stats.update(done=p["done"], failed=p["failed"], tokens=p["tokens"], cost=p["cost"],
                     cost_unknown=p["cost_unknown"], in_flight=in_flight(r))
        on_progress()

    if control.get("stop"):
        run.stop()
    summary = asyncio.run(run.execute(on_sample=sample, on_progress=progress))
    stats.update(done=summary.done, failed=summary.failed, tokens=summary.tokens_in + summary.tokens_out,
                 cost=summary.cost, cost_unknown=summary.cost_unknown, in_flight=0, stopped=summary.stopped)
