"""Importing litellm takes seconds: `studio run --help`, `studio sessions`, `studio show` never import it, and a
run whose answers are all cached (into a fresh session) does not either once this litellm version has routed the
model (issue 15 §1). Each command runs in its own process; the process reports whether litellm was imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = ("import atexit, sys; atexit.register(lambda: print('\\nLITELLM-IMPORTED' if 'litellm' in sys.modules "
         "else '\\nNO-LITELLM', file=sys.stderr)); from studio.cli.main import main; raise SystemExit(main(sys.argv[1:]))")


def studio(*args, cwd: Path) -> tuple[int, bool, str]:
    """(exit code, whether litellm was imported, stdout+stderr)."""
    env = {**os.environ, "STUDIO_HOME": str(cwd), "NO_COLOR": "1", "COLUMNS": "100"}
    p = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=180)
    assert "LITELLM" in p.stderr, p.stdout + p.stderr
    return p.returncode, "LITELLM-IMPORTED" in p.stderr, p.stdout + p.stderr


def test_commands_that_need_no_model_and_a_cached_run_never_import_litellm(tmp_path, fake_llm):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/t.prompt").write_text(
        "---\nname: t\nslots:\n  x: [a, b, c]\n---\nuser:\nSay {{ x }}.\n")
    run = ["run", "t", "--model", fake_llm.model, "--api-base", fake_llm.base_url, "--json"]
    rc, imported, out = studio(*run, "--session", "first", cwd=tmp_path)
    assert rc == 0 and imported, out              # the first run routes the model through litellm
    sent = fake_llm.count
    rc, imported, out = studio(*run, "--session", "second", cwd=tmp_path)
    assert rc == 0, out
    summary = json.loads(out.splitlines()[0])
    assert (summary["cached"], summary["done"], fake_llm.count) == (3, 3, sent)
    assert not imported, "a fully cached run imported litellm"
    for cmd in (["run", "--help"], ["sessions"], ["show", "second"]):
        rc, imported, out = studio(*cmd, cwd=tmp_path)
        assert rc == 0, out
        assert not imported, f"studio {' '.join(cmd)} imported litellm"


def test_a_cached_run_after_litellm_changes_version_routes_again(tmp_path, fake_llm):
    """The remembered route is keyed by litellm's version: another version's memo is not trusted."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/t.prompt").write_text("---\nname: t\nslots:\n  x: [a]\n---\nuser:\nSay {{ x }}.\n")
    run = ["run", "t", "--model", fake_llm.model, "--api-base", fake_llm.base_url, "--json"]
    assert studio(*run, "--session", "a", cwd=tmp_path)[0] == 0
    memo = tmp_path / "sessions/.cache/routes.json"
    data = json.loads(memo.read_text())
    assert "sk-" not in memo.read_text()   # a provider name per route, never a key
    data["litellm"] = "0.0.0-other"
    memo.write_text(json.dumps(data))
    rc, imported, out = studio(*run, "--session", "b", cwd=tmp_path)
    assert rc == 0 and imported, out


GENERATE = ("---\nname: g\nparams: {temperature: 0.7, max_tokens: 64, top_p: 0.9, stop: [END]}\nslots:\n  x: [a, b, c]\n"
            "---\nsystem:\nYou write \"training\" data.\nuser:\nSay {{ x }} – ü 🙂.\n")
STRUCTURED = ("---\nname: s\nmode: structured\nparams: {temperature: 0.2, max_tokens: 80}\nschema:\n  type: object\n"
              "  properties: {answer: {type: string}}\n  required: [answer]\nslots:\n  x: [a, b]\n---\nuser:\n"
              "Answer about {{ x }} in JSON.\n")


def test_a_run_on_a_remembered_route_imports_no_litellm_and_sends_what_litellm_derived(tmp_path, fake_llm,
                                                                                       monkeypatch):
    """The first run of an OpenAI-compatible route imports litellm (it derives the route); the next, uncached,
    sends byte-identical requests (URL, headers, body with the mapped max_tokens/temperature/seed/
    response_format) and never imports litellm."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/g.prompt").write_text(GENERATE)
    (tmp_path / "templates/s.prompt").write_text(STRUCTURED)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "k" * 30)       # read from the environment on every run
    for model in ("openai/fake", "hosted_vllm/fake"):
        for template in ("g", "s"):
            run = ["run", template, "--model", model, "--api-base", fake_llm.base_url, "--json"]
            fake_llm.requests.clear()
            rc, imported, out = studio(*run, "--session", f"{template}-1", "--no-cache", cwd=tmp_path)
            assert rc == 0 and (imported or template == "s"), out    # the first run of a route derives it
            by_litellm = sorted((s.path, tuple(sorted(s.headers.items())), s.auth, s.raw) for s in fake_llm.requests)
            fake_llm.requests.clear()
            rc, imported, out = studio(*run, "--session", f"{template}-2", "--no-cache", cwd=tmp_path)
            assert rc == 0, out
            assert not imported, f"a run of {model} on its remembered route imported litellm"
            again = sorted((s.path, tuple(sorted(s.headers.items())), s.auth, s.raw) for s in fake_llm.requests)
            assert again == by_litellm and len(again) == (3 if template == "g" else 2)
            body = json.loads(again[0][3])
            assert body["max_tokens"] in (64, 80) and "seed" in body and "temperature" in body
            assert ("response_format" in body) == (template == "s")
            memo = (tmp_path / "sessions/.cache/routes.json").read_text()
            assert "sk-test-" not in memo and "kkkkkkkk" not in memo
    assert {s.auth for s in fake_llm.requests} == {"Bearer fake-api-key"}     # hosted_vllm's own stand-in


def test_a_remembered_route_is_derived_again_after_litellm_changes_version(tmp_path, fake_llm):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/g.prompt").write_text(GENERATE)
    run = ["run", "g", "--model", fake_llm.model, "--api-base", fake_llm.base_url, "--json", "--no-cache"]
    assert studio(*run, "--session", "a", cwd=tmp_path)[1]
    memo = tmp_path / "sessions/.cache/routes.json"
    data = json.loads(memo.read_text())
    data["litellm"] = "0.0.0-other"
    memo.write_text(json.dumps(data))
    rc, imported, out = studio(*run, "--session", "b", cwd=tmp_path)
    assert rc == 0 and imported, out
    assert json.loads(memo.read_text())["litellm"] != "0.0.0-other"
    rc, imported, out = studio(*run, "--session", "c", cwd=tmp_path)
    assert rc == 0 and not imported, out
