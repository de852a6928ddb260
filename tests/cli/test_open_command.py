"""`studio new` / `studio open` report command-line mistakes before any screen opens; start-up stays light."""

from __future__ import annotations

import subprocess
import sys

from studio.cli.main import main
from studio.tui.loader import open_session
from studio.core.workspace import Workspace


def test_new_with_an_unknown_template_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    assert main(["new", "s1", "--template", "no-such-template"]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the console may wrap long lines
    assert "no template named 'no-such-template'" in err and "templates here:" in err


def test_new_with_an_existing_name_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    ws = Workspace.from_env(tmp_path)
    open_session(ws, "taken").session.close()
    assert main(["new", "taken", "--template", "contrast-pairs"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_new_session_starts_on_its_template_and_holds_its_version(tmp_path):
    ws = Workspace.from_env(tmp_path)
    loaded = open_session(ws, "fresh", template="contrast-pairs", new=True)
    try:
        assert loaded.created and loaded.template_name == "contrast-pairs"
        assert [v["name"] for v in loaded.session.template_versions()] == ["contrast-pairs"]
    finally:
        loaded.session.close()
    again = open_session(ws, "fresh")  # reopening remembers the template
    try:
        assert again.template_name == "contrast-pairs" and not again.created
    finally:
        again.session.close()


def test_the_studio_start_up_path_imports_nothing_heavy():
    code = ("import sys; import studio.tui.app, studio.tui.screens.main, studio.cli.commands.open; "
            "heavy = [m for m in ('litellm', 'llama_cpp', 'pyarrow', 'datasets', 'studio.store', 'studio.engine',"
            " 'studio.runs.run', 'studio.export', 'tinydb') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
