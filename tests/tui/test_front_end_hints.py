"""A message the studio shows names what to do in the studio (a form field, a key), never a command-line flag
(issue 16: "use --model" in a toast). Errors raised below the front ends that hint at a flag carry a hint for
the studio too (`StudioError(..., hints={"tui": ...})`, shown by `studio.tui.guard.said`), unless only the
command line can reach them (listed here, with why)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "studio"
LOWER = ["core", "engine", "store", "runs", "analysis", "export"]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")

# (file, function): raised only on paths the studio never takes
CLI_ONLY = {
    ("engine/batch.py", "*"): "provider batches: studio run --batch",
    ("runs/batch.py", "*"): "provider batches: studio run --batch",
    ("store/merge.py", "*"): "studio sessions --merge",
    ("runs/run.py", "parse_shard"): "studio run --shard",
    ("runs/run.py", "_start_session"): "another process holds the session: the studio holds its own",
    ("analysis/feedback.py", "correct"): "the studio corrects records it lists",
}


def _flag_hints():
    """(file, function, line, text) of every error raised below the front ends whose message or hint names a
    flag and that gives no hint for the studio."""
    for layer in LOWER:
        for path in sorted((ROOT / layer).rglob("*.py")):
            tree = ast.parse(path.read_text())
            parents = {}
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    parents[child] = node
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if not (name.endswith("Error") or name in ("ExistingExport", "SessionLocked")):
                    continue
                words = {k.arg: k.value for k in node.keywords}
                if "hints" in words:
                    continue
                said = [words[k] for k in ("hint",) if k in words] + node.args[:1]     # the hint and the message
                text = " ".join(c.value for part in said for c in ast.walk(part) if isinstance(c, ast.Constant)
                                and isinstance(c.value, str))
                if not FLAG.search(text):
                    continue
                up = node
                while up in parents and not isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    up = parents[up]
                func = up.name if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)) else "<module>"
                yield path.relative_to(ROOT).as_posix(), func, node.lineno, text


def test_every_error_that_names_a_flag_says_what_to_do_in_the_studio_too():
    found = [(f, fn, line, text) for f, fn, line, text in _flag_hints()
             if (f, fn) not in CLI_ONLY and (f, "*") not in CLI_ONLY]
    assert not found, "hints naming a command-line flag with no hint for the studio (hints={'tui': ...}):\n" + \
        "\n".join(f"studio/{f}:{line} ({fn}): {text}" for f, fn, line, text in found)


def test_the_allow_list_names_real_places():
    listed = {(f, fn) for f, fn, *_ in _flag_hints()}
    for f, fn in CLI_ONLY:
        assert (ROOT / f).exists(), f
        if fn != "*":
            assert (f, fn) in listed, f"{f} {fn} no longer raises a flag hint: drop it from CLI_ONLY"


@pytest.mark.parametrize("hint,tui,front,shown", [
    ("pass --api-base URL", {"tui": "the form's api_base"}, "tui", "x — the form's api_base"),
    ("pass --api-base URL", {"tui": "the form's api_base"}, "cli", "x — pass --api-base URL"),
    ("pass --api-base URL", None, "tui", "x — pass --api-base URL"),
])
def test_text_for_picks_the_front_ends_hint(hint, tui, front, shown):
    from studio.core.errors import StudioError

    exc = StudioError("x", hint=hint, hints=tui)
    assert exc.text_for(front) == shown and str(exc) == f"x — {hint}"
    assert StudioError("x", path="t.prompt", line=3, hint=hint, hints=tui).text_for("tui").startswith("t.prompt:3: x")


FOLDER_CASES = [   # what the export folder is -> what the dialog says to do (in its own words)
    ("a file", "give 'folder' a folder"),
    ("a folder with someone's README.md", "give 'folder' a folder of its own"),
]


@pytest.mark.parametrize("kind,todo", FOLDER_CASES, ids=[k for k, _ in FOLDER_CASES])
async def test_the_export_dialog_names_its_fields_not_flags(seeded, kind, todo):
    from textual.widgets import Input

    from studio.tui.app import StudioApp
    from tests.tui.conftest import screen_text
    from tests.tui.test_export import done, open_dialog

    target = seeded.root / "elsewhere"
    if kind == "a file":
        target.write_text("not a folder")
    else:
        target.mkdir()
        (target / "README.md").write_text("# my notes\n")
    app = StudioApp(seeded)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_dialog(app, pilot)
        app.screen.query_one("#path", Input).value = str(target)
        await done(app, pilot)
        await pilot.press("ctrl+s")
        await done(app, pilot)
        shown = str(app.screen.query_one("#export-result").render())
        assert todo in shown and not FLAG.search(shown), shown
        assert not FLAG.search(screen_text(app))


MODEL_CASES = [   # the model typed in the generate form -> the studio's hint
    ("nosuchprovider/abc", "'or type' field"),
    ("hosted_vllm/qwen", "api_base"),
]


@pytest.mark.parametrize("typed,todo", MODEL_CASES, ids=[t for t, _ in MODEL_CASES])
async def test_a_generation_error_names_the_form_not_flags(ws, monkeypatch, typed, todo):
    from studio.tui.app import StudioApp
    from tests.tui.conftest import ready, settle

    for name in ("HOSTED_VLLM_API_BASE", "OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    app = StudioApp(ws, "hints", template="contrast-pairs")
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        app.screen.query_one("#count").value = "1"
        app.screen.query_one("#model-text").value = typed
        app.screen.action_submit()
        for _ in range(300):
            await pilot.pause(0.05)
            if app.screen._run_control is None:
                break
        await settle(app, pilot)
        said = [n.message for n in app._notifications if "Generation" in (n.title or "")]
        assert said and todo in said[-1] and not FLAG.search(said[-1]), said
        await pilot.press("ctrl+q")
