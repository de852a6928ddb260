"""A fake OpenAI-compatible batch server on 127.0.0.1: `/v1/files` and `/v1/batches`.

Files: upload (multipart, purpose=batch), retrieve, content. Batches: create, retrieve, cancel, with the
states validating -> in_progress -> completed / failed / expired / cancelled. A batch is held
`in_progress` while `.hold` is set (a test kills the client meanwhile); `.finish_as` picks how it ends
("completed", or "expired"/"failed", which answer only the first `.partial` requests: partial results).
Requests whose prompt holds `.error_marker` (and every `.fail_every`-th) go to the error file (per-request errors). Answers are the
chat server's (`default_reply`), usage counted the same way; `.answered` counts every request answered,
so a test can see nothing was asked twice. Runs like FakeLLM (it is one: chat completions work too).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from tests.support.fake_llm import FakeLLM, default_reply


@dataclass
class FakeBatch(FakeLLM):
    hold: bool = False               # keep every batch in_progress until released
    finish_as: str = "completed"     # completed | expired | failed
    partial: int = 0                 # expired/failed: how many requests were answered before that
    error_marker: str = "FAIL-ME"    # a request whose prompt holds this lands in the error file
    fail_every: int = 0              # and every k-th request of a batch (the 1st, k+1-th, ...)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.retrieves = 0
        self.batch_answered = 0

    # -- files -----------------------------------------------------------------------------
    def _file(self, data: bytes, purpose: str, filename: str) -> dict:
        fid = f"file-{uuid.uuid4().hex[:12]}"
        self.files[fid] = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                           "filename": filename, "purpose": purpose, "status": "processed", "_data": data}
        return self.files[fid]

    @staticmethod
    def _public(doc: dict) -> dict:
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        data = upload.file.read() if hasattr(upload, "file") else str(upload or "").encode()
        name = getattr(upload, "filename", "batch.jsonl")
        return web.json_response(self._public(self._file(data, str(form.get("purpose") or "batch"), name)))

    async def _file_get(self, request: web.Request) -> web.Response:
        doc = self.files.get(request.match_info["fid"])
        if doc is None:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.json_response(self._public(doc))

    async def _file_content(self, request: web.Request) -> web.Response:
        doc = self.files.get(request.match_info["fid"])
        if doc is None:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.Response(body=doc["_data"], content_type="application/octet-stream")

    # -- batches ---------------------------------------------------------------------------
    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        fid = body.get("input_file_id")
        if fid not in self.files:
            return web.json_response({"error": {"message": f"no file {fid}"}}, status=400)
        lines = [json.loads(x) for x in self.files[fid]["_data"].splitlines() if x.strip()]
        bid = f"batch_{uuid.uuid4().hex[:12]}"
        self.batches[bid] = {
            "id": bid, "object": "batch", "endpoint": body.get("endpoint"), "errors": None, "input_file_id": fid,
            "completion_window": body.get("completion_window", "24h"), "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": int(time.time()),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": body.get("metadata"), "_lines": lines}
        return web.json_response(self._public(self.batches[bid]))

    def _advance(self, b: dict) -> None:
        """validating -> in_progress on the first look; then, unless held, to the end state with its files."""
        if b["status"] == "validating":
            b["status"] = "in_progress"
            return
        if b["status"] != "in_progress" or self.hold:
            return
        lines = b["_lines"]
        end = self.finish_as
        answered = lines if end == "completed" else lines[:self.partial]
        out, err = [], []
        for i, line in enumerate(answered):
            body = line["body"]
            messages = body.get("messages", [])
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
            self.batch_answered += 1
            if self.error_marker in prompt or (self.fail_every and i % self.fail_every == 0):
                err.append({"id": f"req_{uuid.uuid4().hex[:8]}", "custom_id": line["custom_id"], "response": None,
                            "error": {"code": "invalid_prompt", "message": "the prompt was refused by the fake"}})
                continue
            content = self.reply(messages) if self.reply is not None else default_reply(messages)
            ptok = sum(len(str(m.get("content", "")).split()) for m in messages) + 3 * len(messages)
            ctok = len(content.split())
            self.billed += ptok + ctok
            out.append({"id": f"req_{uuid.uuid4().hex[:8]}", "custom_id": line["custom_id"], "error": None,
                        "response": {"status_code": 200, "request_id": uuid.uuid4().hex, "body": {
                            "id": f"chatcmpl-{uuid.uuid4().hex[:8]}", "object": "chat.completion",
                            "created": int(time.time()), "model": body.get("model"),
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                         "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": ptok, "completion_tokens": ctok,
                                      "total_tokens": ptok + ctok}}}})
        if out:
            b["output_file_id"] = self._file("\n".join(json.dumps(x) for x in out).encode() + b"\n", "batch_output",
                                             "output.jsonl")["id"]
        if err:
            b["error_file_id"] = self._file("\n".join(json.dumps(x) for x in err).encode() + b"\n", "batch_output",
                                            "errors.jsonl")["id"]
        b["status"] = end
        b["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}
        b[f"{end}_at"] = int(time.time())

    async def _batch_get(self, request: web.Request) -> web.Response:
        b = self.batches.get(request.match_info["bid"])
        if b is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        self.retrieves += 1
        self._advance(b)
        return web.json_response(self._public(b))

    async def _cancel(self, request: web.Request) -> web.Response:
        b = self.batches.get(request.match_info["bid"])
        if b is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        b["status"] = "cancelled"
        return web.json_response(self._public(b))

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{fid}", self._file_get)
        app.router.add_get("/v1/files/{fid}/content", self._file_content)
        app.router.add_post("/v1/batches", self._create)
        app.router.add_get("/v1/batches/{bid}", self._batch_get)
        app.router.add_post("/v1/batches/{bid}/cancel", self._cancel)
        return app
