"""Regenerate only what a template edit changed.

The older versions' fills are rebuilt against the template as it is now: each stored slot value is
looked up in the slot's current values (so a data row's other fields, `{{ pair.contrast }}`, come
along), and a value the edit changed is followed to its new text (`slot_edit.value_changes`, from the
older version's saved text); a value the edit removed retires its fill (counted, with the reason).
A fill whose rendered prompt is the same keeps its sample and the person's decision and is not
requested at all; a changed prompt is generated again with the sample's own seed (so the only
difference is the edit, and a prompt seen before is served by the engine's cache), by the model and
endpoint that made the sample unless the caller names another. Rejected or failed samples whose
prompt did not change are redone with a fresh seed only when asked. Generation goes through
`studio.runs.Run`, so the new samples are exactly what `studio run` would make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from studio.core.errors import StudioError
from studio.core.expand import Fill, sample_seed

REDO_STATUSES = ("rejected", "failed")


@dataclass
class Job:
    """One prompt to generate: the sample it replaces, the rebuilt fill and the seed to use."""

    sample: dict
    fill: Fill
    seed: int

    @property
    def answer(self) -> int:
        return int(self.sample.get("answer") or 0)

    def __iter__(self):  # (sample, fill), as the plan's lists were before seeds were explicit
        return iter((self.sample, self.fill))


@dataclass
class RegenPlan:
    template: str
    old_versions: list[str]
    new_version: str
    unchanged: list[dict] = field(default_factory=list)  # old samples whose prompt the edit did not change
    changed: list[Job] = field(default_factory=list)
    redo: list[Job] = field(default_factory=list)  # unchanged but rejected/failed, redone on request
    retired: list[tuple[dict, str]] = field(default_factory=list)  # a slot value the edit removed
    unbuildable: list[tuple[dict, str]] = field(default_factory=list)  # the new version fails on this fill
    done: list[dict] = field(default_factory=list)  # already generated with the new version

    @property
    def old_version(self) -> str:
        return self.old_versions[-1] if self.old_versions else ""

    @property
    def jobs(self) -> list[Job]:
        return self.changed + self.redo

    def describe(self) -> str:
        parts = [f"{len(self.changed)} changed prompt(s) to generate",
                 f"{len(self.unchanged)} unchanged kept with their decisions"]
        if self.redo:
            parts.append(f"{len(self.redo)} rejected/failed to redo")
        if self.retired:
            parts.append(f"{len(self.retired)} retired (their slot value was removed)")
        if self.done:
            parts.append(f"{len(self.done)} already regenerated")
        if self.unbuildable:
            parts.append(f"{len(self.unbuildable)} the new version cannot render")
        return ", ".join(parts)

    def models(self) -> list[tuple[str | None, str | None]]:
        """(model, endpoint) of the samples to replace, in order of first use."""
        return list(dict.fromkeys((j.sample.get("model"), j.sample.get("endpoint")) for j in self.jobs))


def file_changes(session, template: str) -> dict[str, dict[str, str | None]]:
    """{slot: {old value: new value or None}} of the data-file edits made in the studio for this template."""
    return dict(((session.meta or {}).get("value_changes") or {}).get(template) or {})


def record_file_changes(session, template: str, slot: str, changes: dict[str, str | None]) -> None:
    """Remember a data-file edit (studio.core.slot_files.FileEdit.changes) so a regeneration follows it."""
    if not changes:
        return
    every = dict((session.meta or {}).get("value_changes") or {})
    mine = dict(every.get(template) or {})
    mine[slot] = {**(mine.get(slot) or {}), **changes}
    every[template] = mine
    session.set_meta(value_changes=every)


def older_versions(session, template) -> list[str]:
    """Versions of this template, other than the current one, that made samples: oldest saved first."""
    made = {v for (name, v), n in (session.counts().get("versions") or {}).items() if name == template.name and n}
    made.discard(template.version)
    saved = [d["version"] for d in session.template_versions(template.name)]
    return sorted(made, key=lambda v: (saved.index(v) if v in saved else -1, v))


class _Rebuilder:
    """Fills of old samples, rebuilt against the current template's slot values."""

    def __init__(self, session, template):
        from studio.core.expand import Space
        from studio.core.slots import ValueSource, resolve_all

        self.session, self.template = session, template
        self.sources = resolve_all(template)  # a missing data file is the person's to fix: raise it
        self.space = Space(template, self.sources)  # which slots hold personas, as in a run
        self._lookup: dict[str, dict[str, int]] = {}
        self._changes: dict[str, dict[str, dict[str, str | None]]] = {}
        self._value_source = ValueSource

    def _index(self, name: str) -> dict[str, int]:
        found = self._lookup.get(name)
        if found is None:
            src = self.sources[name]
            found = {}
            for i in range(len(src)):
                found.setdefault(src.text(i), i)
            self._lookup[name] = found
        return found

    def changes(self, version: str) -> dict[str, dict[str, str | None]]:
        found = self._changes.get(version)
        if found is None:
            from studio.core.slot_edit import value_changes
            from studio.core.template import parse_template

            try:
                old = parse_template(self.session.template_text(self.template.name, version), self.template.path)
                found = value_changes(old, self.template)
            except StudioError:
                found = {}  # the old text is not in the session (or no longer parses): nothing to follow
            # data-file edits made in the studio (a file's earlier contents are kept nowhere else)
            for slot, changes in file_changes(self.session, self.template.name).items():
                found[slot] = {**changes, **found.get(slot, {})}
            self._changes[version] = found
        return found

    def follow(self, version: str, name: str, value: str) -> str | None:
        """What `value` of slot `name` became, through several edits (a -> b -> c); None when it was removed
        (or nothing says what it became)."""
        change = self.changes(version).get(name, {})
        seen: set[str] = set()
        while value in change and value not in seen:
            seen.add(value)
            new = change[value]
            if new is None:
                return None
            if self._index(name).get(new) is not None:
                return new
            value = new
        return None

    def fill(self, sample: dict) -> Fill | str:
        """The fill to render, or why there is none (a value removed, a slot added)."""
        stored = sample.get("slots") or {}
        persona = sample.get("persona") if isinstance(sample.get("persona"), dict) else None
        values: dict[str, str] = {}
        attrs: dict[str, dict] = {}
        for name in self.template.slots:
            if name not in stored:
                return f"slot {name!r} is new: the old sample has no value for it"
            value = str(stored[name])
            src = self.sources[name]
            if not isinstance(src, self._value_source):  # generated personas: the sample kept the attributes
                values[name] = value
                if persona is not None and persona.get("text") == value:
                    attrs[name] = persona
                continue
            i = self._index(name).get(value)
            if i is None:
                new = self.follow(sample.get("template_version") or "", name, value)
                if new is None:
                    where = "the slot's list" if self.template.slots[name].values is not None else src.origin
                    return f"{name}={value!r} is no longer in {where}"
                i = self._index(name).get(new)
                if i is None:
                    return f"{name}={value!r} became {new!r}, which is no longer in the slot either"
            values[name] = src.text(i)
            a = src.attrs(i)
            if a is not None:
                attrs[name] = a
        return Fill(-1, None, self.space, values=values, attrs=attrs)


def plan_regeneration(session, template, old_version: str | None = None, *,
                      redo_rejected: bool = False) -> RegenPlan:
    """Sort the old samples into unchanged / changed / redo / retired by rendering their fills with `template`.

    `old_version`: one older version; None takes every older version that made samples, the latest sample
    of each fill counting. Raises StudioError when there is nothing older (or the version is the current).
    """
    from studio.core.hashing import prompt_hash
    from studio.core.render import Renderer

    if old_version == template.version:
        raise StudioError(f"version {old_version} is the template as it is now", path=template.where,
                          hint="edit and save the template first, then regenerate")
    versions = [old_version] if old_version else older_versions(session, template)
    if not old_version and (file_changes(session, template.name) or not versions):
        versions.append(template.version)  # a data-file edit changes prompts without a new template version
    latest: dict[tuple[str, int], dict] = {}  # per fill and answer (several answers per prompt are separate)
    for version in versions:
        for s in session.iter_samples(template=template.name, version=version):
            key = (s.get("fill_key"), int(s.get("answer") or 0))
            if key[0] and (key not in latest or s["id"] > latest[key]["id"]):
                latest[key] = s
    if not latest:
        what = f"version {old_version}" if old_version else "an older version"
        raise StudioError(f"session {session.name!r} has no samples of {template.name!r} {what}",
                          hint="`studio report SESSION` lists the versions that made samples")
    plan = RegenPlan(template.name, versions, template.version)
    from studio.core.record import scrub_params
    from studio.runs.run import params_key, sample_identity, stored_identity

    new_params = scrub_params(dict(template.params))

    already = set()    # (fill, answer) made by the version as it is now: a redo done already
    held = set()       # the one rule for "already in the session" (studio.runs.run.sample_identity)
    for s in session.iter_samples(template=template.name):
        if s.get("template_version") == template.version:
            already.add((s.get("fill_key"), int(s.get("answer") or 0)))
        if s.get("status") != "failed":
            held.add(stored_identity(s))
    rebuild = _Rebuilder(session, template)
    renderer = Renderer(template)
    planned: set[tuple[str, int]] = set()
    targets: set[tuple] = set()   # what the changed samples become: a sample already that is their replacement
    kept: list[tuple[dict, tuple]] = []
    for old in sorted(latest.values(), key=lambda s: s["id"]):
        fill = rebuild.fill(old)
        if isinstance(fill, str):
            plan.retired.append((old, fill))
            continue
        try:
            messages = renderer.messages(fill)
        except StudioError as exc:
            plan.unbuildable.append((old, exc.problem.message))
            continue
        seed = int(old.get("seed") or 0)
        key = (fill.fill_key, int(old.get("answer") or 0))
        model = old.get("model") or ""
        ident = sample_identity(prompt_hash(messages), key[1], model, old.get("endpoint"), new_params)
        current = old.get("template_version") == template.version   # (a data-file edit: itself is no redo)
        same_params = params_key(old.get("params"), model) == params_key(new_params, model)
        if prompt_hash(messages) == old.get("prompt_hash") and same_params:
            kept.append((old, ident))
            if redo_rejected and old.get("status") in REDO_STATUSES:
                if key in already and not current:
                    plan.done.append(old)
                else:  # a fresh seed: the same prompt and seed would only bring the rejected answer back
                    plan.redo.append(Job(old, fill, sample_seed(seed, fill.fill_key, answer=1)))
        elif (key in already and not current) or key in planned or ident in held:   # generated already (by any version: the
            plan.done.append(old)    # same prompt, answer, model and endpoint), or two old fills now one
            targets.add(ident)
        else:
            planned.add(key)
            targets.add(ident)
            plan.changed.append(Job(old, fill, seed))
    # a sample that is the replacement of a changed one (a data-file edit regenerated before) is not kept
    # "unchanged": the old sample it replaced is counted as already regenerated
    plan.unchanged = [old for old, ident in kept
                      if ident not in targets or old.get("template_version") != template.version]
    return plan


@dataclass
class RegenResult:
    plan: RegenPlan
    summaries: list[Any] = field(default_factory=list)  # studio.runs.Summary per (model, endpoint) group

    @property
    def summary(self) -> Any:
        """The generation's figures summed over its runs; None when nothing needed generating."""
        if not self.summaries:
            return None
        if len(self.summaries) == 1:
            return self.summaries[0]
        from dataclasses import replace

        first = self.summaries[0]
        total = replace(first, errors=dict(first.errors))
        for s in self.summaries[1:]:
            for name in ("total", "saved", "done", "failed", "cached", "requests", "tokens_in", "tokens_out",
                         "cost", "cost_unknown", "seconds"):
                setattr(total, name, getattr(total, name) + getattr(s, name))
            total.stopped = total.stopped or s.stopped
            total.model = ", ".join(dict.fromkeys([*total.model.split(", "), s.model]))
            for k, v in s.errors.items():
                total.errors[k] = total.errors.get(k, 0) + v
        return total


def regeneration_runs(workspace, session, template, plan: RegenPlan, *, model: str | None = None,
                      api_base: str | None = None, concurrency: int = 16) -> list:
    """One `Run` per (model, endpoint) of the samples to replace, or one with the model the person picked."""
    from studio.runs.run import Run

    groups: dict[tuple[str | None, str | None], list[Job]] = {}
    for job in plan.jobs:
        if model is not None:
            key = (model, api_base)
        else:
            key = (job.sample.get("model") or None, api_base or job.sample.get("endpoint") or None)
        groups.setdefault(key, []).append(job)
    return [Run(workspace, template, session=session, model=m, api_base=endpoint, concurrency=concurrency,
                fills=[j.fill for j in jobs], seeds=[j.seed for j in jobs], answer_of=[j.answer for j in jobs],
                resume=False)   # the plan left out what the session holds (a redo asks a held prompt again)
            for (m, endpoint), jobs in groups.items()]


def regenerate(workspace, session, template, old_version: str | None = None, *, model: str | None = None,
               redo_rejected: bool = False, api_base: str | None = None, concurrency: int = 16,
               on_sample: Callable[[dict], Any] | None = None, plan: RegenPlan | None = None) -> RegenResult:
    """Generate the changed (and, on request, the redone) fills with the current template version."""
    import asyncio

    plan = plan or plan_regeneration(session, template, old_version, redo_rejected=redo_rejected)
    result = RegenResult(plan)
    for job in regeneration_runs(workspace, session, template, plan, model=model, api_base=api_base,
                                 concurrency=concurrency):
        result.summaries.append(asyncio.run(job.execute(on_sample=on_sample)))
    return result
