"""Regenerate only what a template edit changed.

The old version's fills are rendered with the new version. A fill whose rendered prompt is the same
keeps its sample and the person's decision, and is not requested at all; a changed prompt is
generated again with the same sample seed (so the only difference is the edit, and a prompt seen
before is served by the engine's cache). Rejected or failed samples whose prompt did not change are
redone with a fresh seed only when asked. Generation goes through `studio.runs.Run`, so the new
samples are exactly what `studio run` would make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from studio.core.errors import StudioError
from studio.core.expand import Fill, expand

SEED_STEP = 1_000_003  # studio.runs.sample_seed: (base * SEED_STEP + fill.index) % 2**31
SEED_MOD = 2**31


@dataclass
class RegenPlan:
    template: str
    old_version: str
    new_version: str
    unchanged: list[dict] = field(default_factory=list)  # old samples whose prompt the edit did not change
    changed: list[tuple[dict, Fill]] = field(default_factory=list)
    redo: list[tuple[dict, Fill]] = field(default_factory=list)  # unchanged but rejected/failed, redone on request
    unbuildable: list[tuple[dict, str]] = field(default_factory=list)  # (sample, why it cannot be rendered)

    @property
    def to_generate(self) -> int:
        return len(self.changed) + len(self.redo)

    def describe(self) -> str:
        return (f"{len(self.changed)} changed prompt(s) to generate, {len(self.unchanged)} unchanged kept with "
                f"their decisions, {len(self.redo)} rejected/failed to redo, {len(self.unbuildable)} not renderable")


def _latest_per_fill(samples) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for s in samples:
        key = s.get("fill_key")
        if key and (key not in latest or s["id"] > latest[key]["id"]):
            latest[key] = s
    return latest


def _fills_from_runs(session, template, old_version: str, wanted: set[str]) -> dict[str, Fill]:
    """Re-expand the new template as each old run did: same fills, with every slot attribute."""
    found: dict[str, Fill] = {}
    for run in session.runs():
        if run.get("template") != template.name or run.get("template_version") != old_version:
            continue
        try:
            for fill in expand(template, n=run.get("n"), strategy=run.get("strategy"), seed=run.get("seed")):
                key = fill.fill_key
                if key in wanted and key not in found:
                    found[key] = fill
        except StudioError:
            continue  # the edit changed the slots; the stored values below still rebuild most fills
    return found


def _fill_from_sample(s: dict) -> Fill:
    """A fill from the stored slot values (and the persona's attributes, on the slot that holds it)."""
    values = dict(s.get("slots") or {})
    attrs = {}
    persona = s.get("persona")
    if isinstance(persona, dict):
        for name, value in values.items():
            if value == persona.get("text"):
                attrs[name] = persona
                break
    return Fill(-1, values={k: str(v) for k, v in values.items()}, attrs=attrs)


def _with_seed(fill: Fill, base: int, seed: int) -> Fill:
    """The same fill, indexed so that runs.sample_seed(base, fill) == seed."""
    return Fill((seed - base * SEED_STEP) % SEED_MOD, values=dict(fill.values), attrs=dict(fill.attrs))


def plan_regeneration(session, template, old_version: str, *, redo_rejected: bool = False,
                      base_seed: int | None = None) -> RegenPlan:
    """Sort the old version's fills into unchanged / changed / redo by rendering them with `template`."""
    from studio.core.render import Renderer
    from studio.runs import prompt_hash

    if old_version == template.version:
        raise StudioError(f"version {old_version} is the template as it is now", path=template.where,
                          hint="edit and save the template first, then regenerate")
    latest = _latest_per_fill(session.iter_samples(template=template.name, version=old_version))
    if not latest:
        raise StudioError(f"session {session.name!r} has no samples of {template.name!r} version {old_version}",
                          hint="`studio report SESSION` lists the versions that made samples")
    plan = RegenPlan(template.name, old_version, template.version)
    already = {s.get("fill_key"): s for s in session.iter_samples(template=template.name, version=template.version)}
    rebuilt = _fills_from_runs(session, template, old_version, set(latest))
    renderer = Renderer(template)
    base = template.combine.seed if base_seed is None else base_seed
    for key, old in latest.items():
        fill = rebuilt.get(key) or _fill_from_sample(old)
        try:
            messages = renderer.messages(fill)
        except StudioError as exc:
            plan.unbuildable.append((old, exc.problem.message))
            continue
        seed = int(old.get("seed") or 0)
        if prompt_hash(messages) == old.get("prompt_hash"):
            plan.unchanged.append(old)
            if redo_rejected and old.get("status") in ("rejected", "failed") and key not in already:
                # a fresh seed: the same prompt and seed would only bring the rejected answer back from the cache
                plan.redo.append((old, _with_seed(fill, base, (seed + 1) % SEED_MOD)))
        elif key not in already:  # a changed prompt not yet generated with the new version
            plan.changed.append((old, _with_seed(fill, base, seed)))
    return plan


@dataclass
class RegenResult:
    plan: RegenPlan
    summary: Any = None  # studio.runs.Summary of the generation, None when nothing needed generating


def regenerate(workspace, session, template, old_version: str, *, model: str | None = None,
               redo_rejected: bool = False, api_base: str | None = None, concurrency: int = 16,
               on_sample: Callable[[dict], Any] | None = None, plan: RegenPlan | None = None) -> RegenResult:
    """Generate the changed (and, on request, the redone) fills with the new template version."""
    import asyncio

    from studio.runs import Run

    base = template.combine.seed
    plan = plan or plan_regeneration(session, template, old_version, redo_rejected=redo_rejected, base_seed=base)
    fills = [f for _, f in plan.changed] + [f for _, f in plan.redo]
    if not fills:
        return RegenResult(plan)
    if model is None:  # the model that made the old samples, so the edit is the only difference
        pairs = plan.changed + plan.redo
        model = next((s.get("model") for s, _ in pairs if s.get("model")), None)
    job = Run(workspace, template, session=session, model=model, seed=base, fills=fills, api_base=api_base,
              concurrency=concurrency)
    summary = asyncio.run(job.execute(on_sample=on_sample))
    return RegenResult(plan, summary)
