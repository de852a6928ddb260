"""A run: expand a template, render each fill, generate (or render), run follow-ups, save to a session.

Shared by `studio run` and the TUI, so both make identical samples. Usage:

    run = Run(workspace, "contrast-pairs", session=session, model="openai/gpt-4o-mini", n=100)
    summary = await run.execute(on_sample=lambda sample: ...)   # sample has its "id"
    run.stop()                                                  # from any thread; keeps what completed
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from studio.core.errors import StudioError
from studio.core.bulk import gc_relaxed
from studio.core.cost import cost_of
from studio.core.expand import SEED_MOD, Fill, expand, sample_seed
from studio.core.hashing import prompt_hash
from studio.core.record import followup_inputs, followup_result, new_sample, scrub_params
from studio.core.render import Renderer, preview_text
from studio.core.secrets import template_secrets
from studio.core.template import Template, load_template
from studio.engine import Engine, Request, Result, default_model
from studio.engine.models import RENDER
from studio.store.errors import StoreError
from studio.store.interrupted import process_stamp
from studio.core.workspace import Workspace

#: a failure reason is kept whole for the summary (its "what to do" is at the end); this only bounds a runaway
REASON_CHARS = 2000
SAVE_EVERY = 0.25  # seconds between batched session writes
SAVE_BATCH = 500
KEEP_ON_REPLACE = ("tags", "note", "reviewed", "created", "id")   # a re-asked failed sample keeps these
ANSWER_STEP = 0x9E3779B1          # sample_seed's per-answer step: answer a's seed = answer 0's + a * this


def answer_seed(seed: int, answer: int) -> int:
    """The seed of answer `answer` to the fill whose answer 0 has `seed` (sample_seed's rule, applied to an
    explicit seed too, e.g. a regeneration's)."""
    return (seed + answer * ANSWER_STEP) % SEED_MOD


def answers_problem(answers: int, *, mode: str, model: str | None) -> tuple[str, str] | None:
    """(what is wrong, what to do) when `answers` answers per prompt would all be the same, else None.
    Several answers differ only by their seed; render mode (the `render` model's preview of the prompt, or a
    render-mode template whose filled sections are the sample) asks no model and ignores the seed, so K
    answers would be K identical copies. `mode` is the template's own mode. One rule for `studio run --answers`
    and the studio's form."""
    if answers <= 1:
        return None
    if mode == RENDER:
        return (f"{answers} answers per prompt of a render-mode template would be {answers} identical copies: its "
                "filled sections are the sample, and answers differ only by their seed, which rendering ignores",
                "use --answers 1 (raise -n or add slot values for more samples), or set mode: generate in the "
                "template to have a model answer it")
    if model == RENDER:
        return (f"{answers} answers per prompt with the render model would be {answers} identical copies: render "
                "makes a preview (the prompt, no answer), and answers differ only by their seed, which it ignores",
                "use a real model for several answers (--model openai/gpt-4o-mini, hosted_vllm/NAME, ...), "
                "or --answers 1 for the preview")
    return None


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) -> (K, N); a ValueError saying what is wrong otherwise."""
    k, sep, n = str(text).partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise ValueError(f"--shard {text!r} is not K/N (e.g. 1/3)")
    k_, n_ = int(k), int(n)
    if n_ < 1:
        raise ValueError(f"--shard {text!r}: N (the number of machines) must be ≥ 1")
    if not 1 <= k_ <= n_:
        raise ValueError(f"--shard {text!r}: K must be 1..N")
    return k_, n_


def in_shard(fill_key: str, answer: int, shard: tuple[int, int]) -> bool:
    """Whether the prompt (fill, answer) belongs to shard K of N: a hash of its identity, so N machines
    running the same command with 1/N .. N/N make disjoint parts whose union is the whole run."""
    k, n = shard
    digest = hashlib.blake2b(f"{fill_key}\x1f{int(answer or 0)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n == k - 1


def _inputs_digest(inputs: dict | None) -> str:
    if not inputs:
        return ""
    import orjson

    return hashlib.sha256(orjson.dumps(inputs, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)).hexdigest()[:12]


def params_key(params: dict | None, model: str) -> str:
    """The generation parameters as part of a sample's identity ("" for the `render` model, whose samples no
    parameter changes): an answer at temperature 0.3 is not the one at 0.7 the session holds."""
    if model == RENDER or not params:
        return ""
    import orjson

    return hashlib.sha256(orjson.dumps(scrub_params(params), option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def sample_identity(prompt: str | None, answer: int, model: str, endpoint: str | None,
                    params: dict | None = None) -> tuple:
    """The one rule for "already in the session" (a `studio run` re-run, the TUI's generate, a regeneration):
    the same rendered prompt (`prompt_hash`, inputs included), answer index, model, endpoint and generation
    parameters — whatever template version, fill position or seed made it. A re-run skips those it holds."""
    return (prompt, int(answer or 0), model, endpoint or None, params_key(params, model))


def stored_identity(sample: dict, endpoint: str | None = None) -> tuple:
    """`sample_identity` of a stored sample (`endpoint`: the one to count it for when it has none recorded)."""
    prompt = sample.get("prompt_hash")
    if not prompt and sample.get("messages"):
        prompt = prompt_hash(sample["messages"])
    ep = sample["endpoint"] if "endpoint" in sample else endpoint
    return sample_identity(prompt, sample.get("answer") or 0, sample.get("model") or "", ep, sample.get("params"))


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
    held: int = 0          # samples of this run the session already held: not asked again
    followed_up: int = 0   # held samples whose missing follow-ups this run added
    requests: int = 0
    stopped: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cost_unknown: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)   # a fleet's answers per deployment

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class _Writer:
    """Writes a run's sample batches to the session in a thread, in order, off the event loop. `put` hands
    one over (waiting only when four are behind); `close` waits for all and raises what a write raised (a
    session that cannot be written stops the run, as when it was written in the loop)."""

    def __init__(self, write: Callable[[list[dict]], None]):
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="studio-session-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self.error is None:
                try:
                    self._write(batch)
                except BaseException as exc:  # noqa: BLE001 - raised in the run's own thread by put/close
                    self.error = exc

    def put(self, batch: list[dict]) -> None:
        """Queue one batch; raises the error an earlier write met."""
        if self.error is not None:
            raise self.error
        self._queue.put(batch)

    def close(self) -> None:
        """Wait until every queued batch is written; raises the error a write met."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


class Run:
    def __init__(self, workspace: Workspace, template: Template | str | Path, *, session: Any = None,
                 model: str | None = None, n: int | None = None, strategy: str | None = None,
                 seed: int | None = None, api_base: str | None = None, concurrency: int = 16,
                 timeout: float = 60.0, followups: bool = True, engine: Engine | None = None,
                 fills: list[Fill] | None = None, seeds: list[int] | None = None, cache: bool = True,
                 inputs: dict[str, Any] | list[dict[str, Any]] | None = None, answers: int = 1,
                 answer_of: list[int] | None = None, shard: tuple[int, int] | None = None,
                 fleet: Any = None, resume: bool = True):
        self.workspace = workspace
        if not isinstance(template, Template):
            template = load_template(workspace.find_template(template))
        self.template = template
        self.session = session
        session_model = None
        if session is not None:
            session_model = (session.meta or {}).get("model")
        self.model = (fleet.name if fleet is not None else None) or model or template.model or \
            default_model(session_model)
        self.mode = RENDER if (template.mode == "render" or self.model == RENDER) else template.mode
        if self.mode == RENDER:
            self.model = RENDER
        self.seed = template.combine.seed if seed is None else int(seed)
        self.params = scrub_params(dict(template.params))
        # the template's api_key / extra_headers, read from the environment: sent, never stored
        self.secrets = template_secrets(template) if self.mode != RENDER else None
        self.renderer = Renderer(template)
        self.answers = max(1, int(answers))
        if answer_of is None and (problem := answers_problem(self.answers, mode=template.mode, model=self.model)):
            raise StudioError(problem[0], path=template.where if template.mode == RENDER else None, hint=problem[1])
        if session is not None:   # an edit of its slot files since the text first ran is a new version
            from studio.store.versions import pin_data_version

            pin_data_version(session, template)
        self._version = template.version   # a property that hashes the text: once per run, not per sample
        self._expand = (n, strategy, seed)
        if seeds is not None and fills is None:
            fills = list(expand(template, n=n, strategy=strategy, seed=seed))
        if seeds is not None and len(seeds) != len(fills):
            raise ValueError("seeds: one per fill")
        self._fills = fills   # given (a regeneration's few); otherwise drawn lazily from the expansion on each pass
        # a regeneration passes the seeds of the samples it replaces; otherwise each fill's own
        self.seeds = list(seeds) if seeds is not None else None
        # a regeneration redoes single answers: fill i is asked once, as answer answer_of[i], with seeds[i]
        self.answer_of = list(answer_of) if answer_of is not None else None
        self.shard = shard
        self.resume = resume   # False: a regeneration, whose plan already left out what the session holds
        self._items = self._input_items(inputs)
        per_fill = 1 if self.answer_of is not None else self.answers
        per_prompt = len(self._items) if self._items is not None else 1
        if shard is None:
            self.total = self._count_fills() * per_fill * per_prompt
        else:      # a pass over the fills (hashing each): a share's size is known only by counting it
            self.total = sum(1 for _ in self._seeded()) * per_prompt
        self.strategy = strategy or template.combine.strategy
        self.api_base = api_base
        self.endpoint: str | None = None      # the resolved endpoint (set once the model is routed)
        self.held = 0                         # samples of this run the session already holds (skipped)
        self._held: set[tuple] = set()
        self._redo: dict[tuple, int] = {}     # failed samples of this run: asked again, replaced in place
        self._unfollowed: list[tuple[tuple, int]] = []    # held samples whose follow-ups never ran (ids)
        self.followups = [self._load_followup(name) for name in template.followups] if followups else []
        self.fleet = fleet   # studio.engine.fleet.Fleet: this model on several deployments (its name is the model)
        self.engine = engine or (Engine(workspace.cache_dir, cache=cache, concurrency=concurrency,
                                        timeout=timeout, api_base=api_base,
                                        fleets={fleet.name: fleet} if fleet is not None else None)
                                 if self.mode != RENDER else None)
        self.run_id: str | None = None
        self._counts = threading.Lock()   # summary counts: changed by the event loop and the session writer
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.summary = Summary(None, getattr(session, "name", None), template.name, template.version, self.model,
                               self.mode, self.total)
        self.started = time.monotonic()

    def _fill_iter(self) -> Iterator[Fill]:
        if self._fills is not None:
            return iter(self._fills)
        n, strategy, seed = self._expand
        return expand(self.template, n=n, strategy=strategy, seed=seed)

    def _count_fills(self) -> int:
        """How many fills the run has, without holding them (a million fills are never all in memory)."""
        if self._fills is not None:
            return len(self._fills)
        n, strategy, _ = self._expand
        t = self.template
        if (strategy or t.combine.strategy) == "product":
            from studio.core.expand import Space

            space = Space(t)
            if not space.rules:
                n = t.combine.n if n is None else n
                return space.size if n is None else min(n, space.size)
        return sum(1 for _ in self._fill_iter())

    def _input_items(self, inputs: Any) -> list[dict] | None:
        """The input values: a dict applies to every fill, a list gives one prompt each (None: no inputs)."""
        t = self.template
        if not t.inputs:
            return None
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
        return items

    def _seeded(self) -> Iterator[tuple[Fill, int, int]]:
        """(fill, seed, answer), drawn lazily: each fill is asked `answers` times, each answer with its own seed."""
        seeds, base, answers, answer_of = self.seeds, self.seed, self.answers, self.answer_of
        shard = self.shard
        for i, f in enumerate(self._fill_iter()):
            s = seeds[i] if seeds is not None else sample_seed(base, f.fill_key)
            if answer_of is not None:
                if shard is None or in_shard(f.fill_key, answer_of[i], shard):
                    yield f, s, answer_of[i]
                continue
            for a in range(answers):
                if shard is None or in_shard(f.fill_key, a, shard):
                    yield f, answer_seed(s, a), a

    @property
    def jobs(self) -> Iterator[tuple[Fill, dict | None, int, int]]:
        """(fill, input values, seed, answer) of every prompt, a fresh lazy pass each time (never all held)."""
        if self._items is None:
            return ((f, None, seed, a) for f, seed, a in self._seeded())
        return ((f, item, seed, a) for item in self._items for f, seed, a in self._seeded())

    def _load_followup(self, name: str) -> tuple[Template, Renderer]:
        try:
            t = load_template(self.workspace.find_template(name))
        except StudioError as exc:
            raise StudioError(f"follow-up {name!r} cannot be loaded: {exc.problem.message}",
                              path=self.template.where, line=self.template.line_of("followups"),
                              hint="name a template in templates/ (e.g. double-check)") from None
        return t, Renderer(t)

    # -- samples ---------------------------------------------------------------------------
    def _base(self, fill: Fill, messages: list[dict], seed: int, extra: dict | None = None,
              answer: int = 0) -> dict[str, Any]:
        # what the run knows of the sample; the store makes it a record (core.record.new_sample: defaults, keys
        # redacted) when it saves it, once, and completes this dict in place
        s: dict[str, Any] = {
            "template": self.template.name, "template_version": self._version, "fill_key": fill.fill_key,
            "prompt_hash": prompt_hash(messages), "slots": dict(fill.values), "persona": fill.persona,
            "messages": messages, "mode": self.mode, "model": self.model, "params": self.params, "seed": seed,
            "run_id": self.run_id, "status": "pending", "latency": 0.0, "created": time.time(),
            "endpoint": self.endpoint, "answer": answer}
        if extra:
            s["inputs"] = {k: extra[k] for k in self.template.inputs if k in extra}
        return s

    def _requests(self) -> Iterator[Request]:
        schema = self.template.schema if self.mode == "structured" else None
        for fill, extra, seed, answer in self.jobs:
            if self._stopping:
                return
            messages = self.renderer.messages(fill, extra)
            if self._skip(fill, seed, answer, extra, messages):
                continue
            yield Request(messages, self.model, self.params, seed, schema, (fill, messages, seed, extra, answer),
                          self.api_base, self.secrets)

    def _rendered(self, fill: Fill, extra: dict | None, seed: int, answer: int = 0) -> dict[str, Any]:
        """Render mode (no model): the sections before the last `assistant:` are the prompt, that one the
        output. Without one (or a generate template run with the `render` model) the sample is a preview:
        the whole filled text as output, flagged "preview" so exports leave it out."""
        if self.template.mode == RENDER:
            prompt, reply, every = self.renderer.conversation(fill, extra)
        else:
            prompt = every = self.renderer.messages(fill, extra)
            reply = None
        s = self._base(fill, prompt, seed, extra, answer)
        s["prompt_hash"] = prompt_hash(every)   # the whole sample: an edit of the reply is a new sample too
        s.update(output=reply if reply is not None else preview_text(every), tokens_in=0, tokens_out=0, cost=0.0)
        if reply is None:
            s["flag"] = "preview"
        return s

    # -- resuming: what the session already holds of this run -----------------------------
    def _prompt_hash(self, fill: Fill, extra: dict | None, messages: list[dict] | None = None) -> str | None:
        """The `prompt_hash` this run's sample of `fill` gets (None when the fill cannot render)."""
        try:
            if messages is None:
                if self.mode == RENDER and self.template.mode == RENDER:
                    messages = self.renderer.conversation(fill, extra)[2]
                else:
                    messages = self.renderer.messages(fill, extra)
        except StudioError:
            return None
        return prompt_hash(messages)

    def _identity(self, fill: Fill, seed: int, answer: int, extra: dict | None,
                  messages: list[dict] | None = None) -> tuple:
        return sample_identity(self._prompt_hash(fill, extra, messages), answer, self.model, self.endpoint,
                               self.params)

    def _skip(self, fill: Fill, seed: int, answer: int, extra: dict | None,
              messages: list[dict] | None = None) -> bool:
        """True for a prompt the session already holds a sample of (a re-run adds only what is missing)."""
        return bool(self._held) and self._identity(fill, seed, answer, extra, messages) in self._held

    def _scan_session(self) -> None:
        """Find this run's samples already in the session: held ones are skipped, failed ones asked again.

        Same sample = `sample_identity`: same rendered prompt, answer index, model and endpoint, made by
        any version of the template. Samples from before the endpoint was recorded count for whichever
        endpoint is used now.
        """
        self._held, self._redo, self._unfollowed = set(), {}, []
        if not self.resume or self.session is None or not (len(self.session) or getattr(self.session, "guest", False)):
            return
        wanted = {t.name for t, _ in self.followups}
        aliases = self.fleet.labels() if self.fleet is not None else set()
        for s in self._session_samples():
            ident = stored_identity(s, self.endpoint)
            if self.fleet is not None and ident[3] in aliases:
                ident = (*ident[:3], self.endpoint, *ident[4:])    # any deployment of the fleet: one source
            if s.get("status") == "failed":
                if ident not in self._held:
                    self._redo.setdefault(ident, s["id"])
            else:
                self._held.add(ident)
                self._redo.pop(ident, None)
                if wanted and s.get("output") is not None and not wanted <= set(s.get("followups") or {}):
                    self._unfollowed.append((ident, s["id"]))   # stopped before its follow-ups ran
        if self._held:
            self.held = sum(self._identity(f, seed, a, x) in self._held for f, x, seed, a in self.jobs)
        self.summary.held = self.held

    def _session_samples(self) -> Iterator[dict]:
        """This template's samples in the session (every version: an unchanged prompt is the same question);
        for a guest (another studio holds the session),
        also those still waiting in inbox files the holder has not folded in yet (a guest killed a moment
        ago): they are held too, so a re-run right away adds no second copy."""
        name = self.template.name
        yield from self.session.iter_samples(template=name)
        if not getattr(self.session, "guest", False):
            return
        from studio.store.inbox import pending_files, read_lines

        for path in pending_files(self.session.files.folder, self.session.name):
            entries, _, _ = read_lines(path, 0)
            for entry in entries:
                if entry.get("op") != "add_samples":
                    continue
                for doc in (entry.get("args") or [[]])[0]:
                    if isinstance(doc, dict) and doc.get("template") == name and doc.get("status") != "failed":
                        yield doc       # no id yet: held, never replaced in place

    def _sample(self, result: Result) -> dict[str, Any]:
        fill, messages, seed, extra, answer = result.request.meta
        s = self._base(fill, messages, seed, extra, answer)
        if self._redo:
            replaces = self._redo.get(self._identity(fill, seed, answer, extra, messages))
            if replaces is not None:
                s["_replaces"] = replaces
        s.update(output=result.output, parsed=result.parsed, tokens_in=result.tokens_in,
                 tokens_out=result.tokens_out, latency=round(result.latency, 4),
                 cost=cost_of(result.cost, cached=result.cached, failed=not result.ok, paid=result.paid),
                 cached=result.cached, finish_reason=result.finish_reason, reasoning=result.reasoning,
                 flag=result.flag, attempts=result.paid)  # tokens and cost: the sum over its paid calls
        if result.endpoint is not None:
            s["endpoint"] = result.endpoint          # the fleet deployment that answered
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
        self.session.save_template_version(self.template.name, self.template.text, data=self.template.data_digest)
        for t, _ in self.followups:
            self.session.save_template_version(t.name, t.text)
        self._scan_session()
        self.run_id = self.session.add_run({
            "template": self.template.name, "template_version": self.template.version, "model": self.model,
            "endpoint": self.endpoint, "mode": self.mode, "strategy": self.strategy, "n": self.total,
            "answers": self.answers, "seed": self.seed, "params": self.params, "status": "running",
            **({"shard": list(self.shard)} if self.shard else {}),
            "followups": [t.name for t, _ in self.followups], "held": self.held, "retried": len(self._redo),
            **process_stamp(),   # the process that runs it (not the one that stores it): a later open can tell
        })
        self.summary.run_id = self.run_id

    def check(self) -> None:
        """Route the model (and the follow-ups' models): an unknown model or a missing key raises here,
        before anything is saved or a session created."""
        if self.engine is not None:   # a model routed before by this litellm version: no litellm import here
            self.endpoint = self.engine.endpoint(self.model, self.api_base, self.secrets)
            for t, _ in self.followups:
                self.engine.endpoint(t.model or self.model, self.api_base)

    async def execute(self, on_sample: Callable[[dict], Any] | None = None,
                      on_progress: Callable[["Run"], Any] | None = None) -> Summary:
        """Generate every prompt; samples are saved in batches and handed to `on_sample` with their id."""
        with gc_relaxed():     # thousands of requests in flight: the collector at 700 objects cost a sixth of a run
            return await self._execute(on_sample, on_progress)

    async def _execute(self, on_sample: Callable[[dict], Any] | None,
                       on_progress: Callable[["Run"], Any] | None) -> Summary:
        self._loop = asyncio.get_running_loop()
        self.started = time.monotonic()
        self.check()
        self.started = time.monotonic()  # rate and ETA count from here, not from litellm's import
        self._start_session()
        pending: list[dict] = []
        last_save = time.monotonic()
        followup_tasks: dict[asyncio.Task, dict] = {}

        def write(batch: list[dict]) -> None:
            if self.session is not None:
                self._save(batch)
            with self._counts:
                self.summary.saved += len(batch)
            if on_sample is not None:
                for s in batch:
                    on_sample(s)
            if on_progress is not None:
                on_progress(self)

        # Generating, the session is written by a thread of its own (each write waits for the journal's fsync),
        # so the event loop goes on sending and reading replies meanwhile; batches are written in order.
        writer = _Writer(write) if self.session is not None and self.mode != RENDER else None

        def save(force: bool = False) -> None:
            nonlocal pending, last_save
            if not pending or (not force and len(pending) < SAVE_BATCH and time.monotonic() - last_save < SAVE_EVERY):
                return
            batch, pending = pending, []
            last_save = time.monotonic()
            if writer is not None:
                writer.put(batch)
            else:
                write(batch)

        def collect(s: dict) -> None:
            with self._counts:
                if s["status"] == "failed":
                    self.summary.failed += 1
                    reason = (s["error"] or "").split(" (after")[0][:REASON_CHARS]
                    self.summary.errors[reason] = self.summary.errors.get(reason, 0) + 1
                else:
                    self.summary.done += 1
                    if s.get("flag") and s["flag"] != "preview":  # a preview is what was asked for
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
                for fill, extra, seed, answer in self.jobs:
                    if self._stopping:
                        break
                    if self._skip(fill, seed, answer, extra):
                        continue
                    s = self._rendered(fill, extra, seed, answer)
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
                if self._unfollowed and not self._stopping:
                    await self._missing_followups(on_sample)
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
            try:
                save(True)
            finally:
                if writer is not None:
                    writer.close()     # every batch written (raises what the session refused, if anything)
            if self.engine is not None and self.engine.cache is not None:
                self.engine.cache.flush()
            self._finish(status)
        return self.summary

    async def _missing_followups(self, on_sample: Callable[[dict], Any] | None) -> None:
        """Run the follow-ups a held sample of this run lacks (its run was stopped before they ran)."""
        mine = {self._identity(f, seed, a, x) for f, x, seed, a in self.jobs}
        todo = [sid for ident, sid in self._unfollowed if ident in mine]
        self._unfollowed = []
        queue = iter(todo)

        async def worker() -> None:   # a few workers, samples read as they are needed (bounded memory)
            for sid in queue:
                if self._stopping:
                    return
                sample = self.session.get(sid)
                done = await self._followups(dict(sample))
                merged = {**(sample.get("followups") or {}), **done["followups"]}
                self.session.update_sample(sid, followups=merged)
                self.summary.followed_up += 1
                if on_sample is not None:
                    on_sample({**sample, "followups": merged})
        await asyncio.gather(*(worker() for _ in range(min(len(todo), 2 * self.engine.concurrency))))

    # -- saving ----------------------------------------------------------------------------
    def _save(self, batch: list[dict]) -> None:
        """Store a batch (new samples added, re-asked failed ones replaced in place); ids set on each.

        A sample the store refuses (e.g. text that is not valid UTF-8) is saved as failed with the
        reason, without the offending fields; only a store that cannot write at all stops the run.
        """
        new = [s for s in batch if "_replaces" not in s]
        try:
            ids = self.session.add_samples(new) if new else []
        except StoreError:
            ids = [self._save_one(s) for s in new]
        for sid, s in zip(ids, new):
            s["id"] = sid
        for s in batch:
            if "_replaces" in s:
                sid = s.pop("_replaces")
                s.update(new_sample(s, time.time()))      # a record, as add_samples makes one
                fields = {k: v for k, v in s.items() if k not in KEEP_ON_REPLACE}
                try:
                    self.session.update_sample(sid, **fields)
                except StoreError as exc:
                    fixed = self._unsaveable(s, exc)
                    s.update(fixed)
                    self.session.update_sample(sid, **{**fields, **fixed})
                s["id"] = sid

    def _save_one(self, s: dict) -> int:
        try:
            return self.session.add_samples([s])[0]
        except StoreError as exc:
            s.update(self._unsaveable(s, exc))
            return self.session.add_samples([s])[0]  # raises if nothing can be saved (the store is broken)

    def _unsaveable(self, s: dict, exc: StoreError) -> dict:
        """The fields that make a refused sample storable: its generated parts dropped, the reason kept."""
        reason = f"the sample could not be saved: {exc.problem.message}"
        key = reason[:REASON_CHARS]
        with self._counts:       # the writer thread and the event loop both count
            if s.get("status") != "failed":
                self.summary.done -= 1
                self.summary.failed += 1
            self.summary.errors[key] = self.summary.errors.get(key, 0) + 1
        cleared = {k: None for k in ("output", "parsed", "reasoning") if k in s}
        return {**cleared, "followups": {}, "status": "failed", "error": reason,
                **({"inputs": {}} if "inputs" in s else {})}

    def _finish(self, status: str) -> None:
        sm = self.summary
        sm.stopped = status == "stopped"
        sm.seconds = round(time.monotonic() - self.started, 3)
        if self.engine is not None:
            st = self.engine.stats
            sm.cached, sm.requests = st.cached, st.sent
            sm.tokens_in, sm.tokens_out = st.tokens_in, st.tokens_out
            sm.cost, sm.cost_unknown = round(st.cost, 8), st.cost_unknown
            sm.served = self.engine.served(self.model)
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
        left = self.total - self.held - finished
        st = self.engine.stats if self.engine is not None else None
        return {"total": self.total, "done": self.summary.done, "failed": self.summary.failed,
                "held": self.held, "rate": rate, "eta": left / rate if rate > 0 else None,
                "tokens": (st.tokens_in + st.tokens_out) if st else 0, "cost": st.cost if st else 0.0,
                "cost_unknown": st.cost_unknown if st else 0, "cached": st.cached if st else 0}
