"""The embedded model `local/smollm2` — real llama-cpp inference on a real template, offline."""

from __future__ import annotations

import pytest

from studio.engine import default_model, local

pytestmark = pytest.mark.skipif(not local.available(), reason=f"local extra not installed: {local.missing_reason()}")


async def test_embedded_model_generates_a_sample_from_a_shipped_template(tmp_path, monkeypatch):
    from studio.core.template import load_template
    from studio.runs.run import Run
    from studio.store import Store
    from studio.core.workspace import Workspace

    monkeypatch.delenv("STUDIO_MODEL", raising=False)
    ws = Workspace.from_env(tmp_path).ensure()
    template = load_template(ws.find_template("contrast-pairs"))
    template.params["max_tokens"] = 24  # a short answer keeps the test quick on 2 cores
    session = Store(ws.sessions_dir).open("local", create=True)
    run = Run(ws, template, session=session, n=1)
    assert run.model == "local/smollm2" == default_model()
    summary = await run.execute()
    assert summary.done == 1, summary.errors
    [s] = list(session.iter_samples())
    assert s["model"] == "local/smollm2" and len(s["output"].split()) >= 3
    assert 0 < s["tokens_out"] <= 24 and s["cost"] == 0.0  # free, and known to be free
    again = await Run(ws, template, session=session, n=1).execute()
    assert (again.held, again.requests, len(session)) == (1, 0, 1)  # the session holds it: nothing added
    other = Store(ws.sessions_dir).open("local-2", create=True)
    again = await Run(ws, template, session=other, n=1).execute()
    assert again.cached == 1  # the same engine path: cached like any model
    other.close()
    session.close()


async def test_embedded_model_structured_output_matches_the_schema():
    from studio.engine import Engine, Request

    schema = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}
    req = Request([{"role": "user", "content": "Name a colour. Reply as JSON."}], "local/smollm2",
                  {"max_tokens": 24, "temperature": 0}, seed=1, schema=schema)
    [r] = [x async for x in Engine().run([req])]
    assert r.ok, r.error
    assert isinstance(r.parsed["colour"], str)
