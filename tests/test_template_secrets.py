"""Keys in a template's params: used from an environment reference, or refused with file:line — and never
written to a session file, the cache, an export or the screen (issue 14 §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.cli.main import main
from studio.core.errors import StudioError, TemplateError
from studio.core.lint import lint_text
from studio.core.secrets import redact_template_text
from studio.core.template import parse_template
from studio.runs.run import Run
from studio.store import Store
from studio.core.workspace import Workspace

KEY = "sk-live-0123456789abcdefTEMPLATEKEY"
HEADER_SECRET = "hdr-secret-9876543210zyxw"


def _text(params: str, name: str = "t") -> str:
    return f"---\nname: {name}\nslots:\n  s: [one, two]\nparams:\n{params}---\nuser:\nSay {{{{ s }}}}.\n"


@pytest.mark.parametrize("params,line,setting", [
    (f"  api_key: {KEY}\n", 6, "params.api_key"),
    (f"  temperature: 0.2\n  api_key: '{KEY}'\n", 7, "params.api_key"),
    (f"  token: {KEY}\n", 6, "params.token"),
    (f"  password: {KEY}\n", 6, "params.password"),
    (f"  aws_secret_access_key: {KEY}\n", 6, "params.aws_secret_access_key"),
    (f"  extra_headers:\n    X-Team: research\n    Authorization: Bearer {KEY}\n", 8, "params.extra_headers.Authorization"),
    (f"  extra_headers: {{X-Api-Key: {KEY}}}\n", 6, "params.extra_headers.X-Api-Key"),
    (f"  headers:\n    Cookie: session={KEY}\n", 7, "params.headers.Cookie"),
    (f"  extra_body:\n    api_key: {KEY}\n", 7, "params.extra_body.api_key"),
    (f"  api_key: ${{NOT CLOSED {KEY}\n", 6, "params.api_key"),
])
def test_a_literal_secret_in_params_is_refused_with_its_line_and_never_repeated(params, line, setting):
    text = _text(params)
    with pytest.raises(TemplateError) as err:
        parse_template(text, "t.prompt")
    message = str(err.value)
    assert message.startswith(f"t.prompt:{line}: {setting} holds a literal secret") and " — " in message
    assert KEY not in message
    problems = lint_text(text, "t.prompt")
    assert [(p.line, p.severity) for p in problems] == [(line, "error")] and KEY not in str(problems)


@pytest.mark.parametrize("params,problem", [
    ("  extra_headers: [a, b]\n", "params.extra_headers must be a mapping"),
    ("  extra_headers: {X-Team: [a]}\n", "params.extra_headers.X-Team must be text"),
])
def test_header_settings_of_the_wrong_shape_are_refused(params, problem):
    with pytest.raises(TemplateError, match=problem):
        parse_template(_text(params), "t.prompt")


@pytest.mark.parametrize("params", [
    "  api_key: ${OPENAI_API_KEY}\n",
    "  api_key: os.environ/OPENAI_API_KEY\n",
    "  api_key: '${OPENAI_API_KEY}'\n",
    "  extra_headers:\n    Authorization: 'Bearer ${TOKEN}'\n    X-Team: research\n",
    "  max_tokens: 10\n  top_k: 3\n",
])
def test_environment_references_and_plain_params_are_accepted(params):
    assert parse_template(_text(params), "t.prompt").params


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    return Workspace.from_env(tmp_path).ensure()


def _everything_written(ws: Workspace, *more: Path) -> bytes:
    out = b""
    for root in (ws.sessions_dir, *more):
        for p in sorted(root.rglob("*")):
            if p.is_file():
                out += p.read_bytes()
    return out


@pytest.mark.parametrize("engine_path", ["fast", "litellm"])
async def test_a_key_from_an_environment_reference_is_sent_and_never_stored(ws, fake_llm, monkeypatch, engine_path):
    if engine_path == "litellm":
        monkeypatch.setenv("STUDIO_ENGINE_PATH", "litellm")
    monkeypatch.setenv("STUDIO_T_KEY", KEY)
    monkeypatch.setenv("STUDIO_T_HDR", HEADER_SECRET)
    (ws.templates_dir / "keyed.prompt").write_text(_text(
        "  temperature: 0.3\n  api_key: ${STUDIO_T_KEY}\n"
        "  extra_headers:\n    X-Team: research\n    X-Api-Key: '${STUDIO_T_HDR}'\n", "keyed"))
    session = Store(ws.sessions_dir).open("keys", create=True)
    try:
        summary = await Run(ws, "keyed", session=session, model=fake_llm.model, api_base=fake_llm.base_url,
                            n=2).execute()
        samples = list(session.iter_samples())
    finally:
        session.close()
    assert summary.done == 2, summary
    assert {r.auth for r in fake_llm.requests} == {f"Bearer {KEY}"}  # the template's key was used
    assert all(r.headers.get("x-team") == "research" and r.headers.get("x-api-key") == HEADER_SECRET
               for r in fake_llm.requests)  # and its headers passed, not dropped
    assert all(s["params"] == {"temperature": 0.3} for s in samples)
    out = ws.root / "export"
    assert main(["export", "keys", "--format", "raw", "--out", str(out), "--status", "pending"]) == 0
    written = _everything_written(ws, out)
    assert b"STUDIO_T_KEY" in written  # the stored template text keeps the reference ...
    assert KEY.encode() not in written and HEADER_SECRET.encode() not in written  # ... never the values


async def test_a_provider_error_echoing_the_templates_key_is_redacted(ws, fake_llm, monkeypatch):
    monkeypatch.setenv("STUDIO_T_KEY", KEY)
    (ws.templates_dir / "keyed.prompt").write_text(_text("  api_key: ${STUDIO_T_KEY}\n", "keyed"))
    fake_llm.set(faults={"401": 1.0})
    session = Store(ws.sessions_dir).open("keys", create=True)
    try:
        summary = await Run(ws, "keyed", session=session, model=fake_llm.model, api_base=fake_llm.base_url,
                            n=1).execute()
        errors = [s["error"] for s in session.iter_samples()]
    finally:
        session.close()
    assert summary.failed == 1 and "Incorrect API key" in errors[0] and KEY not in errors[0]
    assert KEY.encode() not in _everything_written(ws)


def test_an_unset_variable_is_a_clear_error_before_anything_is_saved(ws, fake_llm, monkeypatch, capsys):
    monkeypatch.delenv("STUDIO_T_UNSET", raising=False)
    (ws.templates_dir / "keyed.prompt").write_text(_text("  api_key: ${STUDIO_T_UNSET}\n", "keyed"))
    code = main(["run", "keyed", "--model", fake_llm.model, "--api-base", fake_llm.base_url, "--session", "k"])
    err = capsys.readouterr().err.replace("\n", "")  # rich wraps long lines
    assert code == 2 and "keyed.prompt:6: params.api_key names the environment variable STUDIO_T_UNSET" in err
    assert "export STUDIO_T_UNSET=" in err and fake_llm.count == 0
    # render mode sends nothing, so it needs no key
    assert main(["run", "keyed", "--model", "render", "--session", "k2"]) == 0


def test_studio_lint_render_and_slots_never_print_a_literal_key(ws, capsys):
    (ws.templates_dir / "leaky.prompt").write_text(_text(f"  api_key: {KEY}\n", "leaky"))
    for args in (["lint"], ["render", "leaky"], ["slots", "leaky"], ["run", "leaky", "--model", "render"]):
        code = main(args)
        out = capsys.readouterr()
        text = (out.out + out.err).replace("\n", "")
        assert code == 2 and "params.api_key holds a literal secret" in text, args
        assert KEY not in text
    assert ws.find_template("contrast-pairs").name == "contrast-pairs.prompt"  # the others still load


@pytest.mark.parametrize("text,kept", [
    (_text(f"  api_key: {KEY}\n  temperature: 0.5\n"), "temperature: 0.5"),
    (_text(f"  extra_headers: {{Authorization: Bearer {KEY}, X-Team: research}}\n"), "X-Team: research"),
    (_text(f"  extra_body:\n    token: '{KEY}'\n"), "extra_body:"),
    ("---\nname: broken\nparams: {api_key: " + KEY + "\n  bad: [\n---\nhi\n", "name: broken"),
    (_text("  api_key: ${OPENAI_API_KEY}\n"), "api_key: ${OPENAI_API_KEY}"),
])
def test_a_session_never_stores_a_literal_key_even_from_a_file_the_parser_refuses(tmp_path, text, kept):
    assert KEY not in redact_template_text(text) and kept in redact_template_text(text)
    with Store(tmp_path).open("s", create=True) as session:
        version = session.save_template_version("t", text)  # the TUI saves every template file's text
        stored = session.template_text("t", version)
    assert KEY not in stored and kept in stored
    assert KEY.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())


def test_redaction_leaves_templates_without_secrets_unchanged():
    for path in sorted(Path(__file__).resolve().parent.parent.joinpath("templates").glob("*.prompt")):
        text = path.read_text()
        assert redact_template_text(text) == text, path
    with pytest.raises(StudioError):
        parse_template(_text(f"  api_key: {KEY}\n"))


def test_lint_warns_when_a_referenced_variable_is_not_set(monkeypatch):
    monkeypatch.delenv("STUDIO_T_UNSET", raising=False)
    text = _text("  api_key: ${STUDIO_T_UNSET}\n")
    assert [(p.line, p.severity, p.message) for p in lint_text(text, "t.prompt")] == [
        (6, "warning", "params.api_key names the environment variable STUDIO_T_UNSET, which is not set here")]
    monkeypatch.setenv("STUDIO_T_UNSET", KEY)
    assert lint_text(text, "t.prompt") == []
