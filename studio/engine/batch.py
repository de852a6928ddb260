"""Provider batch APIs (files + batches) through litellm: build the JSONL, upload, create, poll, read results.

Plain protocol, no session: `studio.runs.batch` decides what to send and saves what comes back.
litellm's `acreate_file` / `acreate_batch` / `aretrieve_batch` / `afile_content` take the route's
api_base and key, so an OpenAI-compatible server (`openai/`, `hosted_vllm/`, ... with an api_base)
is reached at its own `/v1/files` and `/v1/batches`. A result line is read by the same reply
normaliser as a live reply (`reply.from_dict`) and validated the same way in structured mode.
Cost is litellm's batch price (`input_cost_per_token_batches` / `output_cost_per_token_batches`);
a model without one has an unknown cost, never a guess.
"""

from __future__ import annotations

from typing import Any

import orjson

from studio.engine import llm, reply
from studio.engine.structured import validate
from studio.engine.transport import FAST_PROVIDERS, Route
from studio.engine.types import AttemptError, EngineError, Invalid, Request, Result

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000                # OpenAI's limits per batch (the strictest litellm's providers have)
MAX_BYTES = 190 * 1024 * 1024        # of 200 MB per input file
DONE = frozenset({"completed", "failed", "expired", "cancelled"})   # a batch in one of these ends no more
# providers whose batches litellm runs itself; OpenAI-compatible ones with an api_base speak OpenAI's protocol
NATIVE = frozenset({"openai", "azure", "vertex_ai", "bedrock", "anthropic", "mistral", "xai", "hosted_vllm"})


def provider_of(route: Route) -> str:
    """The litellm provider name for files/batches calls, or EngineError when litellm has no batch API for it."""
    if route.provider in FAST_PROVIDERS and route.api_base:
        return "openai"      # an OpenAI-compatible server: /v1/files and /v1/batches at its own base
    if route.provider in NATIVE:
        return route.provider
    raise EngineError(f"{route.model}: litellm has no batch API for provider {route.provider!r}",
                      hint="run without --batch, or pick a model of openai, azure, vertex_ai, bedrock, anthropic, "
                           "mistral or an OpenAI-compatible server (--api-base)")


def _kwargs(route: Route) -> dict[str, Any]:
    kw: dict[str, Any] = {"custom_llm_provider": provider_of(route)}
    if route.api_base:
        kw["api_base"] = route.api_base
    if route.api_key:
        kw["api_key"] = route.api_key
    return kw


def custom_id(fill_key: str, answer: int, seed: int | None, inputs_digest: str = "") -> str:
    """A request's id in the batch: the sample's identity within one run (fill, answer, seed, inputs)."""
    cid = f"{fill_key}/{int(answer or 0)}/{seed}"
    return f"{cid}/{inputs_digest}" if inputs_digest else cid


def line(cid: str, req: Request, route: Route) -> bytes:
    """One JSONL line: the chat-completions body as the live call would send it (litellm's param mapping)."""
    params, seed_ok = route.optional_params(req.params, req.schema)
    body: dict[str, Any] = {"model": route.model_name, "messages": req.messages, **params}
    if seed_ok and req.seed is not None:
        body["seed"] = req.seed
    return orjson.dumps({"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": body})


async def submit(route: Route, lines: list[bytes], metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Upload the requests and create the batch; {"id", "input_file_id", "status", "endpoint", "provider"}."""
    lib = llm.litellm()
    kw = _kwargs(route)
    data = b"\n".join(lines) + b"\n"
    try:
        f = await lib.acreate_file(file=("studio-batch.jsonl", data, "application/jsonl"), purpose="batch", **kw)
        b = await lib.acreate_batch(completion_window="24h", endpoint=ENDPOINT, input_file_id=f.id,
                                    metadata=metadata, **kw)
    except Exception as exc:  # noqa: BLE001 - the provider's refusal, said plainly
        raise EngineError(f"{route.model}: the batch could not be created: {_why(exc)}",
                          hint="check the model, key and --api-base; or run without --batch") from None
    return {"id": b.id, "input_file_id": f.id, "status": b.status, "endpoint": route.endpoint,
            "provider": kw["custom_llm_provider"], "requests": len(lines)}


async def retrieve(route: Route, batch_id: str) -> dict[str, Any]:
    """The batch's state: {"status", "output_file_id", "error_file_id", "request_counts"}."""
    lib = llm.litellm()
    try:
        # litellm's logging would download and price the whole output on every look (seconds per 1,000
        # results, over and over while polling): its own switch turns that off; the studio prices each result
        b = await lib.aretrieve_batch(batch_id=batch_id, litellm_metadata={"batch_ignore_default_logging": True},
                                      **_kwargs(route))
    except Exception as exc:  # noqa: BLE001
        raise EngineError(f"batch {batch_id}: cannot be read: {_why(exc)}",
                          hint="the batch id is saved in the session: `studio run ... --resume` tries again") from None
    counts = getattr(b, "request_counts", None)
    return {"status": b.status, "output_file_id": getattr(b, "output_file_id", None),
            "error_file_id": getattr(b, "error_file_id", None),
            "request_counts": counts.model_dump() if hasattr(counts, "model_dump") else counts}


async def content(route: Route, file_id: str | None) -> bytes:
    """A file's bytes (b"" for no file)."""
    if not file_id:
        return b""
    lib = llm.litellm()
    try:
        got = await lib.afile_content(file_id=file_id, **_kwargs(route))
    except Exception as exc:  # noqa: BLE001
        raise EngineError(f"file {file_id}: cannot be downloaded: {_why(exc)}",
                          hint="`studio run ... --resume` tries again") from None
    return got.content if hasattr(got, "content") else bytes(got)


def read_jsonl(raw: bytes) -> list[dict]:
    """The JSON objects of a JSONL body, in order; blank lines and lines that do not parse are skipped."""
    out = []
    for text in raw.splitlines():
        if text.strip():
            try:
                out.append(orjson.loads(text))
            except orjson.JSONDecodeError:
                continue
    return out


def batch_cost(route: Route, tokens_in: int | None, tokens_out: int | None) -> float | None:
    """USD at litellm's batch price for the model; None when litellm lists none (never the live price)."""
    if tokens_in is None and tokens_out is None:
        return None
    lib = llm.litellm()
    for key in (route.model, route.model_name, f"{route.provider}/{route.model_name}"):
        entry = lib.model_cost.get(key) or {}
        cin, cout = entry.get("input_cost_per_token_batches"), entry.get("output_cost_per_token_batches")
        if cin is not None and cout is not None:
            return (tokens_in or 0) * float(cin) + (tokens_out or 0) * float(cout)
    return None


def result(req: Request, found: dict | None, route: Route, key: str = "", why_missing: str = "") -> Result:
    """One batch result line (from the output or the error file) as the engine's Result for `req`."""
    if found is None:
        return Result(req, False, error=why_missing or "the batch returned no result for this request", key=key)
    resp = found.get("response") or {}
    error = found.get("error")
    body = resp.get("body") if isinstance(resp, dict) else None
    status = resp.get("status_code") if isinstance(resp, dict) else None
    if error or not isinstance(body, dict) or (status is not None and status != 200):
        detail = error or (body or {}).get("error") or {}
        msg = detail.get("message") if isinstance(detail, dict) else str(detail)
        code = detail.get("code") if isinstance(detail, dict) else None
        tin, tout = reply._usage((body or {}).get("usage"))
        return Result(req, False, error=f"the batch request failed: {msg or code or status}"[:400], tokens_in=tin,
                      tokens_out=tout, cost=batch_cost(route, tin, tout), key=key, paid=int(tin is not None))
    try:
        rep = reply.from_dict(body, req.params)
    except AttemptError as exc:
        return Result(req, False, error=exc.reason, tokens_in=exc.tokens_in, tokens_out=exc.tokens_out,
                      cost=batch_cost(route, exc.tokens_in, exc.tokens_out), key=key, paid=1,
                      finish_reason=exc.finish_reason)
    cost = batch_cost(route, rep.tokens_in, rep.tokens_out)
    parsed = None
    if req.schema is not None:
        try:
            parsed = validate(rep.output, req.schema)
        except Invalid as exc:
            return Result(req, False, rep.output, None, exc.reason, rep.tokens_in, rep.tokens_out, cost, 0.0,
                          False, 1, key, rep.finish_reason, rep.reasoning, None, 1)
    return Result(req, True, rep.output, parsed, None, rep.tokens_in, rep.tokens_out, cost, 0.0, False, 1, key,
                  rep.finish_reason, rep.reasoning, rep.flag, 1)


def _why(exc: Exception) -> str:
    from studio.engine.engine import redact

    return redact(f"{type(exc).__name__}: {str(exc)[:300]}", None)
