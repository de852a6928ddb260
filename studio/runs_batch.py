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
from studio.runs import Run, Summary, _inputs_digest

PENDING = "batch"            # a run's status while its batch is with the provider
COLLECT_EVERY = 500          # samples per session write while collecting


def poll_seconds() -> float:
    """Seconds between looks at a pending batch ($STUDIO_BATCH_POLL, default 30)."""
    from studio.core.settings import settings

    return settings().batch_poll


def pending_batch(session: Any, template: str, version: str | None = None, model: str | None = None) -> dict | None:
    """The session's run of `template` whose batch is not collected yet (the newest), or None."""
    for run in reversed(session.runs()):
        b = run.get("batch")
        if not b or run.get("status") != PENDING or run.get("template") != template:
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
        self.batch: dict | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Stop waiting (the batch stays with the provider and in the session). Thread-safe via the loop."""
        loop = self.run._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._stop.set)

    def _cid(self, fill, seed: int, answer: int, extra: dict | None) -> str:
        run = self.run
        inputs = {k: extra[k] for k in run.template.inputs if k in extra} if extra else None
        key = run._identity(fill, seed, answer, extra)[0]
        return bapi.custom_id(key, answer, seed, _inputs_digest(inputs))

    def _request(self, fill, extra, seed: int, answer: int) -> Request:
        run = self.run
        messages = run.renderer.messages(fill, extra)
        schema = run.template.schema if run.mode == "structured" else None
        return Request(messages, run.model, run.params, seed, schema, (fill, messages, seed, extra, answer),
                       run.api_base, run.secrets)

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
                run.session.save_template_version(run.template.name, run.template.text)
                run._scan_session()
                run.run_id = run.summary.run_id = found["run_id"]
                self.batch = dict(found["batch"])
                self.on_status(f"resuming batch {self.batch['id']}", self.batch)
            if not wait:
                run.summary.stopped = True
                return self._pending_summary()
            state = await self._wait(route)
            if state is None:                      # stopped waiting: the batch stays pending
                return self._pending_summary()
            await self._collect(route, state, on_sample)
        except BaseException:
            status = "failed"
            raise
        finally:
            if run.engine.cache is not None:
                run.engine.cache.flush()
        run._finish(status)
        run.session.update_run(run.run_id, batch={**self.batch, "status": "collected"})
        return run.summary

    def _pending_summary(self) -> Summary:
        sm = self.run.summary
        sm.stopped = True
        sm.seconds = round(time.monotonic() - self.run.started, 3)
        return sm

    async def _submit(self, route, on_sample) -> bool:
        """Cached answers saved at once; the rest sent as one batch whose ids are saved before anything else."""
        run = self.run
        lines: list[bytes] = []
        cached: list[dict] = []
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
                continue
            lines.append(bapi.line(self._cid(fill, seed, answer, extra), req, route))
        if cached:
            await self._save(cached, on_sample)
        if not lines:
            return False
        self.batch = await bapi.submit(route, lines, {"studio_run": str(run.run_id)})
        run.session.update_run(run.run_id, status=PENDING, batch=self.batch)   # before anything else
        self.on_status(f"batch {self.batch['id']} created: {len(lines)} request(s)", self.batch)
        return True

    async def _wait(self, route) -> dict | None:
        run = self.run
        last = None
        while True:
            state = await bapi.retrieve(route, self.batch["id"])
            if state["status"] != last:
                last = state["status"]
                self.batch.update(status=last)
                run.session.update_run(run.run_id, batch=self.batch)
                self.on_status(f"batch {self.batch['id']}: {last}", self.batch)
            if state["status"] in bapi.DONE:
                return state
            try:
                await asyncio.wait_for(self._stop.wait(), poll_seconds())
                return None
            except asyncio.TimeoutError:
                pass

    async def _collect(self, route, state: dict, on_sample) -> None:
        """Every request of the batch saved once: its result, its error, or why the batch never ran it."""
        run = self.run
        self.batch.update(output_file_id=state.get("output_file_id"), error_file_id=state.get("error_file_id"))
        run.session.update_run(run.run_id, batch=self.batch)
        results: dict[str, dict] = {}
        for raw in (await bapi.content(route, state.get("error_file_id")),
                    await bapi.content(route, state.get("output_file_id"))):   # an answer wins over an error
            for item in bapi.read_jsonl(raw):
                if item.get("custom_id"):
                    results[str(item["custom_id"])] = item
        sent = {str(x.get("custom_id")) for x in bapi.read_jsonl(await bapi.content(route, self.batch["input_file_id"]))}
        run.engine.stats.sent += len(sent)
        missing = f"the batch ended {state['status']} before this request ran: run again to ask it"
        chunk: list = []
        for fill, extra, seed, answer in run.jobs:
            cid = self._cid(fill, seed, answer, extra)
            if cid not in sent or run._skip(fill, seed, answer, extra):
                continue
            req = self._request(fill, extra, seed, answer)
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
