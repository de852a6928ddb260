"""A run through the provider's batch API: submit once, save the batch id at once, collect whenever.

    summary = await BatchRun(run).execute(wait=True)

The batch (id, input/output/error file ids, state) lives on the run's record in the session
(`runs` table, field `batch`) from the moment the provider returns it, so a closed studio, a lost SSH
connection or a reboot loses nothing: the same command again (or `--resume`) finds the pending batch,
polls it and saves every result once. Samples are made exactly as a live run makes them
(`Run._sample`, the reply normaliser, structured validation, follow-ups, the cache); a request the
batch never ran (expired, failed, cancelled) is saved as failed with the reason, so a later run asks it
again. Nothing is saved twice: a sample the session already holds is skipped, a failed one replaced.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from studio.core.errors import StudioError
from studio.engine import batch as bapi
from studio.engine.types import Request
from studio.runs.run import Run, Summary, _inputs_digest

PENDING = "batch"            # a run's status while its batch is with the provider
COLLECT_EVERY = 500          # samples per session write while collecting


def poll_seconds() -> float:
    """Seconds between looks at a pending batch ($STUDIO_BATCH_POLL, default 30)."""
    from studio.core.settings import settings

    return settings().batch_poll


def batches_of(run: dict) -> list[dict]:
    """A run record's batches (`batches`, or the single `batch` of a record written before there were several)."""
    return list(run.get("batches") or ([run["batch"]] if run.get("batch") else []))


def pending_batch(session: Any, template: str, version: str | None = None, model: str | None = None) -> dict | None:
    """The session's run of `template` whose batch is not collected yet (the newest), or None."""
    for run in reversed(session.runs()):
        if not batches_of(run) or run.get("status") != PENDING or run.get("template") != template:
            continue
        if version is not None and run.get("template_version") != version:
            continue
        if model is not None and run.get("model") != model:
            continue
        return run
    return None


class BatchRun:
    """Drive `run` (a prepared `Run`) through the batch API instead of live calls."""

    def __init__(self, run: Run, *, on_status: Callable[[str, dict], Any] | None = None):
        self.run = run
        self.on_status = on_status or (lambda text, batch: None)
        self.batches: list[dict] = []
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Stop waiting (the batch stays with the provider and in the session). Thread-safe via the loop."""
        loop = self.run._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._stop.set)

    def _cid(self, fill, seed: int, answer: int, extra: dict | None) -> str:
        run = self.run
        inputs = {k: extra[k] for k in run.template.inputs if k in extra} if extra else None
        key = fill.fill_key
        return bapi.custom_id(key, answer, seed, _inputs_digest(inputs))

    def _request(self, fill, extra, seed: int, answer: int) -> Request:
        run = self.run
        messages = run.renderer.messages(fill, extra)
        schema = run.template.schema if run.mode == "structured" else None
        return Request(messages, run.model, run.params, seed, schema, (fill, messages, seed, extra, answer),
                       run.api_base, run.secrets)

    @property
    def batch(self) -> dict | None:
        """The run's first batch (most runs have one; a run past the provider's limits has several)."""
        return self.batches[0] if self.batches else None

    async def execute(self, *, wait: bool = True, resume_only: bool = False,
                      on_sample: Callable[[dict], Any] | None = None) -> Summary:
        run = self.run
        if run.engine is None or run.session is None:
            raise StudioError("--batch needs a model (not render) and a session", hint="pass --model and --session")
        run._loop = asyncio.get_running_loop()
        run.check()
        route = run.engine.route(run.model, run.api_base, run.secrets)
        bapi.provider_of(route)                      # no batch API: said before anything is saved
        run.started = time.monotonic()
        found = pending_batch(run.session, run.template.name, run.template.version, run.model)
        status = "done"
        try:
            if found is None:
                if resume_only:
                    raise StudioError(f"session {run.session.name!r} has no pending batch of "
                                      f"{run.template.name!r}", hint="start one with `studio run TEMPLATE --batch`")
                run._start_session()
                if not await self._submit(route, on_sample):
                    run._finish("done")
                    return run.summary
            else:
                run.session.save_template_version(run.template.name, run.template.text,
                                                  data=run.template.data_digest)
                run._scan_session()
                run.run_id = run.summary.run_id = found["run_id"]
                self.batches = [dict(b) for b in batches_of(found)]
                self.on_status(f"resuming batch {', '.join(b['id'] for b in self.batches)}", self.batch)
            if not wait:
                return self._pending_summary()
            if not await self._wait(route):        # stopped waiting: the batches stay pending
                return self._pending_summary()
            await self._collect(route, on_sample)
        except BaseException:
            status = "failed"
            raise
        finally:
            if run.engine.cache is not None:
                run.engine.cache.flush()
        run._finish(status)
        for b in self.batches:
            b["status"] = "collected"
        self._record()
        return run.summary

    def _record(self, **fields: Any) -> None:
        """The batches onto the run's record (`batch` is the first, for a glance; `batches` all of them)."""
        self.run.session.update_run(self.run.run_id, batch=self.batch, batches=self.batches, **fields)

    def _pending_summary(self) -> Summary:
        sm = self.run.summary
        sm.stopped = True
        sm.seconds = round(time.monotonic() - self.run.started, 3)
        return sm

    async def _submit(self, route, on_sample) -> bool:
        """Cached answers saved at once; the rest sent as batches within the provider's limits, each one's ids
        saved the moment it exists."""
        run = self.run
        lines: list[bytes] = []
        size = 0
        cached: list[dict] = []

        async def send() -> None:
            nonlocal lines, size
            b = await bapi.submit(route, lines, {"studio_run": str(run.run_id)})
            self.batches.append(b)
            self._record(status=PENDING)            # before anything else
            self.on_status(f"batch {b['id']} created: {len(lines)} request(s)", b)
            lines, size = [], 0

        for fill, extra, seed, answer in run.jobs:
            if run._skip(fill, seed, answer, extra):
                continue
            req = self._request(fill, extra, seed, answer)
            key = run.engine._key(req, route)
            hit = run.engine._lookup(req, key)
            if hit is not None:
                r = run.engine._from_cache(req, key, hit)
                run.engine.stats.add(r)
                cached.append(run._sample(r))
                if len(cached) >= COLLECT_EVERY:
                    await self._save(cached, on_sample)
                    cached = []
                continue
            one = bapi.line(self._cid(fill, seed, answer, extra), req, route)
            if lines and (len(lines) >= bapi.MAX_REQUESTS or size + len(one) > bapi.MAX_BYTES):
                await send()
            lines.append(one)
            size += len(one) + 1
        if cached:
            await self._save(cached, on_sample)
        if lines:
            await send()
        return bool(self.batches)

    async def _wait(self, route) -> bool:
        """Poll until every batch has ended (True), or until stopped (False)."""
        while True:
            for b in self.batches:
                if b.get("status") in bapi.DONE:
                    continue
                state = await bapi.retrieve(route, b["id"])
                if state["status"] != b.get("status"):
                    b.update(status=state["status"], output_file_id=state.get("output_file_id"),
                             error_file_id=state.get("error_file_id"))
                    self._record()
                    self.on_status(f"batch {b['id']}: {b['status']}", b)
            if all(b.get("status") in bapi.DONE for b in self.batches):
                return True
            try:
                await asyncio.wait_for(self._stop.wait(), poll_seconds())
                return False
            except asyncio.TimeoutError:
                pass

    async def _collect(self, route, on_sample) -> None:
        """Every request of the batches saved once: its result, its error, or why its batch never ran it."""
        run = self.run
        results: dict[str, dict] = {}
        sent: dict[str, str] = {}                  # custom_id -> how its batch ended
        for b in self.batches:
            for raw in (await bapi.content(route, b.get("error_file_id")),
                        await bapi.content(route, b.get("output_file_id"))):   # an answer wins over an error
                for item in bapi.read_jsonl(raw):
                    if item.get("custom_id"):
                        results[str(item["custom_id"])] = item
            for x in bapi.read_jsonl(await bapi.content(route, b["input_file_id"])):
                sent[str(x.get("custom_id"))] = b["status"]
        run.engine.stats.sent += len(sent)
        chunk: list = []
        for fill, extra, seed, answer in run.jobs:
            cid = self._cid(fill, seed, answer, extra)
            ended = sent.get(cid)
            if ended is None or run._skip(fill, seed, answer, extra):
                continue
            req = self._request(fill, extra, seed, answer)
            missing = f"the batch ended {ended} before this request ran: run again to ask it"
            chunk.append(bapi.result(req, results.get(cid), route, run.engine._key(req, route), missing))
            if len(chunk) >= COLLECT_EVERY:
                await self._keep(chunk, on_sample)
                chunk = []
        if chunk:
            await self._keep(chunk, on_sample)

    async def _keep(self, results: list, on_sample) -> None:
        """Results into the cache (one commit for the lot), follow-ups run, samples saved."""
        run = self.run

        async def store(r) -> None:
            unstorable = await run.engine._store(r.key, {
                "output": r.output, "parsed": r.parsed, "tokens_in": r.tokens_in, "tokens_out": r.tokens_out,
                "cost": r.cost, "latency": 0.0, "model": run.model, "finish_reason": r.finish_reason,
                "reasoning": r.reasoning, "flag": r.flag, "paid": 1})
            if unstorable is not None:
                r.ok, r.error = False, unstorable

        await asyncio.gather(*(store(r) for r in results if r.ok))
        samples = []
        for r in results:
            run.engine.stats.add(r)
            samples.append(run._sample(r))
        if run.followups:
            await asyncio.gather(*(run._followups(s) for s in samples if s["status"] != "failed"))
        await self._save(samples, on_sample)

    async def _save(self, samples: list[dict], on_sample) -> None:
        run = self.run
        sm = run.summary
        for s in samples:
            if s["status"] == "failed":
                sm.failed += 1
                reason = (s["error"] or "").split(" (after")[0][:80]
                sm.errors[reason] = sm.errors.get(reason, 0) + 1
            else:
                sm.done += 1
                if s.get("flag") and s["flag"] != "preview":
                    sm.flagged += 1
        run._save(samples)
        sm.saved += len(samples)
        if on_sample is not None:
            for s in samples:
                on_sample(s)
        await asyncio.sleep(0)
