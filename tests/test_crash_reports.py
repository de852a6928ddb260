"""Errors that leave a trace: a bug in a TUI worker or a CLI command writes a crash report into the
workspace (traceback and versions; no keys, no sample text) and the person is told where it is; a user
mistake keeps its file:line message, exit 2 and leaves no report."""

from __future__ import annotations

import pytest

from studio.core import crash
from studio.store import Store
from studio.core.workspace import Workspace

KEY = "sk-proj-Zx81kQ0aa7Yb2Lc3Md4Ne5Of6"
SECRET_ENV = "hunter2-very-private"
SAMPLE = "Hello customer 3, I understand you're having an issue with the Aria phone."


def _boom(*_a, **_k):
    raise RuntimeError(f"deliberate bug while reading {SAMPLE!r} with key {KEY} and {SECRET_ENV}")


def _reports(ws: Workspace) -> list:
    return sorted(ws.crash_dir.glob("crash-*.txt"))


def _assert_redacted(text: str) -> None:
    assert "Traceback (most recent call last):" in text and "RuntimeError: deliberate bug" in text
    assert "_boom" in text                      # the frame that raised
    assert "textual:" in text and "python:" in text
    for leaked in (KEY, SECRET_ENV, SAMPLE, "Aria phone", "customer 3"):
        assert leaked not in text, leaked


@pytest.mark.parametrize("message,leaked", [
    ("key sk-abc123def456ghi789 refused", "sk-abc123def456ghi789"),
    ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
    ("token AIzaSyA1234567890abcdefghijk", "AIzaSyA1234567890abcdefghijk"),
    ("opaque 0123456789abcdef0123456789abcdef01 here", "0123456789abcdef0123456789abcdef01"),
    (f"env value {SECRET_ENV} leaked", SECRET_ENV),
    ("output 'The quick brown fox jumps' failed", "quick brown fox"),
    ('output "a longer answer written by the model" failed', "answer written"),
    ("could not parse the model said something long here at all", "the model said something"),
])
def test_redact_masks_every_kind_of_secret_and_sample_text(monkeypatch, message, leaked):
    monkeypatch.setenv("MY_SERVICE_API_KEY", SECRET_ENV)
    out = crash.redact(message)
    assert leaked not in out, out


@pytest.mark.parametrize("message", ["KeyError: 'status'", "list index out of range", "'NoneType' object"])
def test_redact_keeps_short_diagnostic_messages(message):
    assert crash.redact(message) == message


def test_only_the_newest_reports_are_kept(tmp_path):
    for i in range(5):
        crash.write_crash_report(tmp_path, ValueError(str(i)), where="test", keep=3)
    assert len(list(tmp_path.glob("crash-*.txt"))) == 3


def test_a_bug_in_a_cli_command_leaves_a_redacted_report_and_says_where(tmp_path, monkeypatch, capsys):
    from studio.cli.main import main

    ws = Workspace.from_env(tmp_path).ensure()
    Store(ws.sessions_dir).create("s").close()
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_ENV)
    monkeypatch.setattr("studio.store.session.Session.counts", _boom)
    code = main(["show", "s"])
    err = capsys.readouterr().err
    assert code == 1
    [report] = _reports(ws)
    assert str(report) in err and "bug" in err and "Traceback" not in err
    text = report.read_text()
    _assert_redacted(text)
    assert "where: studio show" in text


def test_a_user_mistake_in_the_cli_keeps_its_message_and_leaves_no_report(tmp_path, monkeypatch, capsys):
    from studio.cli.main import main

    ws = Workspace.from_env(tmp_path).ensure()
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    bad = tmp_path / "bad.prompt"
    bad.write_text("---\nname: bad\nslots: [1, 2\n---\nhi\n")
    code = main(["render", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}:2:" in err or f"{bad}:3:" in err, err
    assert "Traceback" not in err and "crash report" not in err
    assert _reports(ws) == []


async def test_a_bug_in_a_tui_worker_leaves_a_redacted_report_and_the_toast_says_where(tmp_path, monkeypatch):
    from tests.tui.conftest import make_samples, ready

    from studio.tui.app import StudioApp

    ws = Workspace.from_env(tmp_path).ensure()
    session = Store(ws.sessions_dir).create("crashy")
    session.add_samples(make_samples(5))
    session.close()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_ENV)
    monkeypatch.setattr("studio.analysis.attribution.analyse_session", _boom)
    app = StudioApp(ws, "crashy")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("f6")                                  # the analysis screen's worker calls _boom
        for _ in range(400):
            notes = [n for n in app._notifications if "Crash report" in n.message]
            if notes:
                break
            await pilot.pause(0.05)
        assert notes, [n.message for n in app._notifications]
        [report] = _reports(ws)
        assert str(report.relative_to(ws.root)) in notes[0].message
        assert notes[0].title == "Analysis"
        assert type(app.screen).__name__ == "AnalysisScreen"    # the studio carried on
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "MainScreen"
    text = report.read_text()
    _assert_redacted(text)
    assert "worker 'analysis'" in text


def test_every_screen_and_widget_of_the_studio_is_guarded():
    import importlib
    import inspect
    import pkgutil

    from textual.widget import Widget

    import studio.tui

    classes = set()
    for mod in pkgutil.walk_packages(studio.tui.__path__, "studio.tui."):
        module = importlib.import_module(mod.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Widget) and cls.__module__ == module.__name__:
                classes.add(cls)
    assert len(classes) >= 15
    unguarded = sorted(c.__qualname__ for c in classes if not vars(c).get("__guarded__"))
    assert unguarded == []
