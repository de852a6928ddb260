"""A run: expand a template, render each fill, generate (or render), run follow-ups, save to a session.

Shared by `studio run` and the TUI, so both make identical samples. Usage:

    run = Run(workspace, "contrast-pairs", session=session, model="openai/gpt-4o-mini", n=100)
    summary = await run.execute(on_sample=lambda sample: ...)   # sample has its "id"
    run.stop()                                                  # from any thread; keeps what completed
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from studio.core.errors import StudioError
from studio.core.expand import Fill, expand, sample_seed
from studio.core.hashing import prompt_hash
from studio.core.record import followup_inputs, followup_result, new_sample, scrub_params
from studio.core.render import Renderer, preview_text
from studio.core.secrets import template_secrets
from studio.core.template import Template, load_template
from studio.engine import Engine, Request, Result, default_model
from studio.engine.models import RENDER
from studio.workspace import Workspace

SAVE_EVERY = 0.25  # seconds between batched session writes
SAVE_BATCH = 500


@dataclass
class Summary:
    """What a run did; `as_dict()` is what `studio run --json` prints."""

    run_id: str | None
    session: str | None
    template: str
    template_version: str
    model: str
    mode: str
    total: int
    saved: int = 0
    done: int = 0
    failed: int = 0
    flagged: int = 0  # done, but cut off, filtered or a refusal (counted in done too)
    cached: int = 0
    requests: int = 0
    stopped: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cost_unknown: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Run:
    def __init__(self, workspace: Workspace, template: Template | str | Path, *, session: Any = None,
                 model: str | None = None, n: int | None = None, strategy: str | None = None,
                 seed: int | None = None, api_base: str | None = None, concurrency: int = 16,
                 timeout: float = 60.0, followups: bool = True, engine: Engine | None = None,
                 fills: list[Fill] | None = None, seeds: list[int] | None = None, cache: bool = True,
                 inputs: dict[str, Any] | list[dict[str, Any]] | None = None):
        self.workspace = workspace
        if not isinstance(template, Template):
            template = load_template(workspace.find_template(template))
        self.template = template
        self.session = session
        session_model = None
        if session is not None:
            session_model = (session.meta or {}).get("model")
        self.model = model or template.model or default_model(session_model)
        self.mode = RENDER if (template.mode == "render" or self.model == RENDER) else template.mode
        if self.mode == RENDER:
            self.model = RENDER
        self.seed = template.combine.seed if seed is None else int(seed)
        self.params = scrub_params(dict(template.params))
        # the template's api_key / extra_headers, read from the environment: sent, never stored
        self.secrets = template_secrets(template) if self.mode != RENDER else None
        self.renderer = Renderer(template)
        fills = fills if fills is not None else list(expand(template, n=n, strategy=strategy, seed=seed))
        if seeds is not None and len(seeds) != len(fills):
            raise ValueError("seeds: one per fill")
        # a regeneration passes the seeds of the samples it replaces; otherwise each fill's own
        self.seeds = list(seeds) if seeds is not None else [sample_seed(self.seed, f.index) for f in fills]
        self.jobs = self._jobs(fills, inputs)
        self.total = len(self.jobs)
        self.strategy = strategy or template.combine.strategy
        self.api_base = api_base
        self.followups = [self._load_followup(name) for name in template.followups] if followups else []
        self.engine = engine or (Engine(workspace.cache_dir if cache else None, concurrency=concurrency,
                                        timeout=timeout, api_base=api_base) if self.mode != RENDER else None)
        self.run_id: str | None = None
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.summary = Summary(None, getattr(session, "name", None), template.name, template.version, self.model,
                               self.mode, self.total)
        self.started = time.monotonic()

    def _jobs(self, fills: list[Fill], inputs: Any) -> list[tuple[Fill, dict | None, int]]:
        """(fill, input values) pairs: a dict of inputs applies to every fill, a list gives one prompt each."""
        t = self.template
        seeded = list(zip(fills, self.seeds))
        if not t.inputs:
            return [(f, None, seed) for f, seed in seeded]
        if inputs is None:
            raise StudioError(f"template {t.name!r} needs input values for {', '.join(t.inputs)}", path=t.where,
                              line=t.line_of("inputs"),
                              hint="it runs as a follow-up of another template, or with inputs from a command "
                                   "such as `studio feedback`")
        items = [inputs] if isinstance(inputs, dict) else list(inputs)
        for i, item in enumerate(items):
            missing = [k for k in t.inputs if k not in item]
            if missing:
                raise StudioError(f"input item {i + 1} lacks {', '.join(missing)}", path=t.where,
                                  line=t.line_of("inputs"), hint=f"give every item: {', '.join(t.inputs)}")
        return [(f, item, seed) for item in items for f, seed in seeded]

    def _load_followup(self, name: str) -> tuple[Template, Renderer]:
        try:
            t = load_template(self.workspace.find_template(name))
        except StudioError as exc:
            raise StudioError(f"follow-up {name!r} cannot be loaded: {exc.problem.message}",
                              path=self.template.where, line=self.template.line_of("followups"),
                              hint="name a template in templates/ (e.g. double-check)") from None
        return t, Renderer(t)

    # -- samples ---------------------------------------------------------------------------
    def _base(self, fill: Fill, messages: list[dict], seed: int, extra: dict | None = None) -> dict[str, Any]:
        s = new_sample({
            "template": self.template.name, "template_version": self.template.version, "fill_key": fill.fill_key,
            "prompt_hash": prompt_hash(messages), "slots": dict(fill.values), "persona": fill.persona,
            "messages": messages, "mode": self.mode, "model": self.model, "params": self.params, "seed": seed,
            "run_id": self.run_id, "latency": 0.0}, time.time())
        if extra:
            s["inputs"] = {k: extra[k] for k in self.template.inputs if k in extra}
        return s

    def _requests(self) -> Iterator[Request]:
        schema = self.template.schema if self.mode == "structured" else None
        for fill, extra, seed in self.jobs:
            if self._stopping:
                return
            messages = self.renderer.messages(fill, extra)
            yield Request(messages, self.model, self.params, seed, schema, (fill, messages, seed, extra),
                          self.api_base, self.secrets)

    def _rendered(self, fill: Fill, extra: dict | None, seed: int) -> dict[str, Any]:
        """Render mode (no model): the sections before the last `assistant:` are the prompt, that one the
        output. Without one (or a generate template run with the `render` model) the sample is a preview:
        the whole filled text as output, flagged "preview" so exports leave it out."""
        if self.template.mode == RENDER:
            prompt, reply, every = self.renderer.conversation(fill, extra)
        else:
            prompt = every = self.renderer.messages(fill, extra)
            reply = None
        s = self._base(fill, prompt, seed, extra)
        s["prompt_hash"] = prompt_hash(every)   # the whole sample: an edit of the reply is a new sample too
        s.update(output=reply if reply is not None else preview_text(every), tokens_in=0, tokens_out=0, cost=0.0)
        if reply is None:
            s["flag"] = "preview"
        return s

    def _sample(self, result: Result) -> dict[str, Any]:
        fill, messages, seed, extra = result.request.meta
        s = self._base(fill, messages, seed, extra)
        s.update(output=result.output, parsed=result.parsed, tokens_in=result.tokens_in,
                 tokens_out=result.tokens_out, cost=result.cost, latency=round(result.latency, 4),
                 cached=result.cached, finish_reason=result.finish_reason, reasoning=result.reasoning,
                 flag=result.flag, attempts=result.paid,  # tokens and cost: the sum over its paid calls
                 endpoint=result.request.api_base or self.api_base)
        if not result.ok:
            s["status"] = "failed"
            s["error"] = result.error
        return s

    async def _followups(self, sample: dict[str, Any]) -> dict[str, Any]:
        extra = followup_inputs(sample)
        out: dict[str, Any] = {}
        for t, renderer in self.followups:
            try:
                messages = renderer.messages(Fill.from_values({}), extra)
            except StudioError as exc:
                out[t.name] = followup_result(output=None, model=self.model, error=str(exc), at=time.time())
                continue
            model = t.model or self.model
            schema = t.schema if t.mode == "structured" else None
            try:
                r = await self.engine.complete(Request(messages, model, scrub_params(t.params), sample["seed"],
                                                       schema, None, self.api_base, template_secrets(t)))
            except StudioError as exc:
                out[t.name] = followup_result(output=None, model=model, error=str(exc), at=time.time())
                continue
            out[t.name] = followup_result(output=r.output, parsed=r.parsed, model=model, template_version=t.version,
                                          error=None if r.ok else (r.error or "failed"), tokens_in=r.tokens_in,
                                          tokens_out=r.tokens_out, cost=r.cost, cached=r.cached, at=time.time())
        sample["followups"] = out
        return sample

    # -- running ---------------------------------------------------------------------------
    def _start_session(self) -> None:
        if self.session is None:
            return
        if getattr(self.session, "read_only", False):
            raise StudioError(f"session {self.session.name!r} is open read-only (another studio is writing it)",
                              path=getattr(self.session, "path", None), hint="close the other studio or pick --session NEW")
        self.session.save_template_version(self.template.name, self.template.text)
        for t, _ in self.followups:
            self.session.save_template_version(t.name, t.text)
        self.run_id = self.session.add_run({
            "template": self.template.name, "template_version": self.template.version, "model": self.model,
            "mode": self.mode, "strategy": self.strategy, "n": self.total, "seed": self.seed, "params": self.params,
            "status": "running", "followups": [t.name for t, _ in self.followups],
        })
        self.summary.run_id = self.run_id

    async def execute(self, on_sample: Callable[[dict], Any] | None = None,
                      on_progress: Callable[["Run"], Any] | None = None) -> Summary:
        """Generate every prompt; samples are saved in batches and handed to `on_sample` with their id."""
        self._loop = asyncio.get_running_loop()
        self.started = time.monotonic()
        if self.engine is not None:  # an unknown model or missing key is reported before anything is saved
            self.engine.route(self.model, self.api_base)
            for t, _ in self.followups:
                self.engine.route(t.model or self.model, self.api_base)
        self.started = time.monotonic()  # rate and ETA count from here, not from litellm's import
        self._start_session()
        pending: list[dict] = []
        last_save = time.monotonic()
        followup_tasks: dict[asyncio.Task, dict] = {}

        def save(force: bool = False) -> None:
            nonlocal pending, last_save
            if not pending or (not force and len(pending) < SAVE_BATCH and time.monotonic() - last_save < SAVE_EVERY):
                return
            batch, pending = pending, []
            last_save = time.monotonic()
            if self.session is not None:
                ids = self.session.add_samples(batch)
                for sid, s in zip(ids, batch):
                    s["id"] = sid
            self.summary.saved += len(batch)
            if on_sample is not None:
                for s in batch:
                    on_sample(s)
            if on_progress is not None:
                on_progress(self)

        def collect(s: dict) -> None:
            if s["status"] == "failed":
                self.summary.failed += 1
                reason = (s["error"] or "").split(" (after")[0][:80]
                self.summary.errors[reason] = self.summary.errors.get(reason, 0) + 1
            else:
                self.summary.done += 1
                if s.get("flag"):
                    self.summary.flagged += 1
            pending.append(s)
            save()

        def followup_done(task: asyncio.Task) -> None:
            sample = followup_tasks.pop(task, None)
            if sample is not None:  # done: the sample now holds its follow-ups; cancelled (stop): kept without
                collect(sample)

        status = "done"
        try:
            if self.mode == RENDER:
                for fill, extra, seed in self.jobs:
                    if self._stopping:
                        break
                    s = self._rendered(fill, extra, seed)
                    collect(s)
                    if len(pending) >= SAVE_BATCH:
                        save(True)
                        await asyncio.sleep(0)
            else:
                async for result in self.engine.run(self._requests()):
                    s = self._sample(result)
                    if self.followups and result.ok:
                        task = asyncio.ensure_future(self._followups(s))
                        followup_tasks[task] = s
                        task.add_done_callback(followup_done)
                    else:
                        collect(s)
                if followup_tasks and not self._stopping:
                    await asyncio.gather(*followup_tasks, return_exceptions=True)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._stopping = True
            raise
        except BaseException:
            status = "failed"
            raise
        finally:
            for task in list(followup_tasks):
                task.cancel()
            for task, sample in list(followup_tasks.items()):
                followup_tasks.pop(task, None)
                collect(sample)
            if self._stopping and status == "done":
                status = "stopped"
            save(True)
            if self.engine is not None and self.engine.cache is not None:
                self.engine.cache.flush()
            self._finish(status)
        return self.summary

    def _finish(self, status: str) -> None:
        sm = self.summary
        sm.stopped = status == "stopped"
        sm.seconds = round(time.monotonic() - self.started, 3)
        if self.engine is not None:
            st = self.engine.stats
            sm.cached, sm.requests = st.cached, st.sent
            sm.tokens_in, sm.tokens_out = st.tokens_in, st.tokens_out
            sm.cost, sm.cost_unknown = round(st.cost, 8), st.cost_unknown
        if self.session is not None and self.run_id is not None and not getattr(self.session, "read_only", False):
            try:
                self.session.update_run(self.run_id, status=status, finished=time.time(), **{
                    k: v for k, v in sm.as_dict().items() if k not in ("run_id", "session", "template", "model",
                                                                          "mode", "template_version", "stopped")})
            except StudioError:
                pass

    def stop(self) -> None:
        """Stop admitting prompts and cancel what is in flight; everything completed is saved. Thread-safe."""
        self._stopping = True
        if self.engine is not None:
            self.engine.stop()

    @property
    def progress(self) -> dict[str, Any]:
        """Live figures for a progress display."""
        elapsed = time.monotonic() - self.started
        finished = self.summary.done + self.summary.failed
        rate = finished / elapsed if elapsed > 0 else 0.0
        st = self.engine.stats if self.engine is not None else None
        return {"total": self.total, "done": self.summary.done, "failed": self.summary.failed,
                "rate": rate, "eta": (self.total - finished) / rate if rate > 0 else None,
                "tokens": (st.tokens_in + st.tokens_out) if st else 0, "cost": st.cost if st else 0.0,
                "cost_unknown": st.cost_unknown if st else 0, "cached": st.cached if st else 0}
