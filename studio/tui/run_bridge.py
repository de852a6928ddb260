"""The one place the TUI calls `studio.runs.run` / `studio.analysis.regenerate` (shared with the CLI).

Runs in the run worker thread: an asyncio loop of its own, progress handed back through callbacks
that post messages. `control["run"]` is the live Run so the stop key can stop it from the UI thread.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from studio.core.errors import StudioError


def regeneration_plan(session: Any, template: Any, *, redo_rejected: bool = False) -> Any:
    """What ctrl+r would do: `studio.analysis.regenerate.plan_regeneration` over every older version."""
    from studio.analysis.regenerate import plan_regeneration

    return plan_regeneration(session, template, None, redo_rejected=redo_rejected)


def api_bases(text: str | None) -> list[str]:
    """The generate form's api_base field: one URL, or several (spaces or commas between) for a fleet."""
    return [b for b in (text or "").replace(",", " ").split() if b]


def served(run: Any) -> dict[str, int]:
    """{deployment: answers} of a fleet run so far (the engine's count, what `studio run` reports)."""
    return run.engine.served(run.model) if run.engine is not None and run.fleet is not None else {}


def in_flight(run: Any) -> int:
    """Requests sent and not yet answered (the engine counts them; render mode has no engine)."""
    return run.engine.in_flight if run.engine is not None else 0


def run_generation(workspace: Any, session: Any, text: str, path: str | None, opts: dict, control: dict,
                   stats: dict, *, only: str | None, on_samples: Callable[[list[int]], None],
                   on_progress: Callable[[], None]) -> None:
    from studio.core.template import parse_template
    from studio.runs.run import Run

    template = parse_template(text, path)
    if only == "regenerate":
        from studio.analysis.regenerate import regeneration_runs

        plan = regeneration_plan(session, template, redo_rejected=bool(opts.get("redo_rejected")))
        if not plan.jobs:
            raise StudioError(f"nothing to regenerate for {template.name}: {plan.describe()}",
                              hint="edit a slot value or the text, save (ctrl+s), then regenerate")
        runs = regeneration_runs(workspace, session, template, plan, model=opts.get("model"),
                                 api_base=opts.get("api_base"))
    else:
        bases = api_bases(opts.get("api_base"))
        fleet = None
        if len(bases) > 1:  # several endpoints: one model served by a fleet (studio.engine.fleet), as `studio run`
            from studio.engine.fleet import from_bases

            fleet = from_bases(opts.get("model") or template.model or "", bases)
        runs = [Run(workspace, template, session=session, model=opts.get("model"), n=opts.get("count"),
                    strategy=opts.get("strategy"), seed=opts.get("seed"), api_base=bases[0] if len(bases) == 1
                    else None, fleet=fleet, concurrency=opts.get("concurrency") or 16,
                    answers=opts.get("answers") or 1)]
    stats["total"] = sum(r.total for r in runs)
    stats["model"] = ", ".join(dict.fromkeys(r.model for r in runs))
    base = {"done": 0, "failed": 0, "tokens": 0, "cost": 0.0, "cost_unknown": 0, "cached": 0}
    for run in runs:
        if control.get("stop"):
            break
        _execute(run, control, stats, base, on_samples, on_progress)
        for k in base:
            base[k] = stats.get(k, 0)


def _execute(run: Any, control: dict, stats: dict, base: dict, on_samples: Callable[[list[int]], None],
             on_progress: Callable[[], None]) -> None:
    """One run; `base` holds the figures of the runs before it (a regeneration runs once per model)."""
    control["run"] = run

    def sample(s: dict) -> None:
        if "id" in s:
            on_samples([s["id"]])

    held = {"n": 0}

    def count_held(r: Any) -> None:  # samples the session already holds are not asked again: not to do
        if r.held != held["n"]:
            stats["total"] = stats.get("total", 0) - (r.held - held["n"])
            stats["held"] = stats.get("held", 0) + (r.held - held["n"])
            held["n"] = r.held

    def progress(r: Any) -> None:
        count_held(r)
        p = r.progress
        stats.update(done=base["done"] + p["done"], failed=base["failed"] + p["failed"],
                     tokens=base["tokens"] + p["tokens"], cost=base["cost"] + p["cost"],
                     cost_unknown=base["cost_unknown"] + p["cost_unknown"], cached=base["cached"] + p["cached"],
                     in_flight=in_flight(r))
        if r.fleet is not None:
            stats["served"] = served(r)
        on_progress()

    if control.get("stop"):
        run.stop()
    summary = asyncio.run(run.execute(on_sample=sample, on_progress=progress))
    count_held(run)
    stats.update(done=base["done"] + summary.done, failed=base["failed"] + summary.failed,
                 tokens=base["tokens"] + summary.tokens_in + summary.tokens_out, cost=base["cost"] + summary.cost,
                 cost_unknown=base["cost_unknown"] + summary.cost_unknown, cached=base["cached"] + summary.cached,
                 in_flight=0, stopped=summary.stopped)
    if run.fleet is not None:
        stats["served"] = dict(summary.served) or served(run)
