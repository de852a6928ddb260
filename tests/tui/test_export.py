"""The export dialog: options, a live preview of counts and first rows, then the files, never half-written."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from textual.widgets import Checkbox, Input, Select

from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle


async def open_dialog(app, pilot, accept: int = 3):
    await ready(app, pilot)
    await pilot.press("home", *["space"] * accept)       # accept the first samples (their writes queued)
    await pilot.press("ctrl+o")                           # no settling: the dialog flushes queued decisions
    assert type(app.screen).__name__ == "ExportScreen"
    await done(app, pilot)


async def done(app, pilot) -> None:
    await pilot.pause(0.4)                                # past the re-plan debounce
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_preview_shows_counts_and_first_rows_and_writes_nothing(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_dialog(app, pilot)
        text = screen_text(app)
        assert "review: 3 of 12 samples selected (status accepted)" in text
        assert "files: train.jsonl" in text and '{"messages":[{"role":"user","content":"Hi, this is customer 0' in text
        assert not (seeded.root / "exports").exists()


async def test_changing_the_format_or_a_field_plans_again(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_dialog(app, pilot)
        app.screen.query_one("#format", Select).value = "kto"
        await done(app, pilot)
        text = screen_text(app)
        assert "status accepted, rejected" in text and '{"prompt":[{"role":"user","content":"Hi, this is customer 0' in text
        app.screen.query_one("#statuses", Input).value = "pending"
        await done(app, pilot)
        assert "9 of 12 samples selected (status pending)" in screen_text(app)
        assert "nothing to export" in screen_text(app) and "no verdict" in screen_text(app)


async def test_a_wrong_field_is_named_and_nothing_is_written(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_dialog(app, pilot)
        app.screen.query_one("#templates", Input).value = "suport"
        await done(app, pilot)
        assert "the session has no samples of template 'suport'" in screen_text(app)
        app.screen.query_one("#templates", Input).value = "support-madlib"
        app.screen.query_one("#val_fraction", Input).value = "lots"
        await done(app, pilot)
        assert "validation fraction 'lots' is not a number" in screen_text(app)
        await pilot.press("ctrl+s")
        await done(app, pilot)
        assert "✗ validation fraction 'lots' is not a number" in screen_text(app)
        assert "Traceback" not in screen_text(app)
    assert not (seeded.root / "exports").exists()


async def test_export_writes_the_previewed_rows_and_an_earlier_export_needs_replace(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_dialog(app, pilot)
        await pilot.press("ctrl+s")
        await done(app, pilot)
        assert "✓ wrote train 3" in screen_text(app)
        folder = seeded.root / "exports" / "review"
        first = (folder / "train.jsonl").read_bytes()
        assert first.count(b"\n") == 3 and (folder / "README.md").exists()
        await pilot.press("ctrl+s")
        await done(app, pilot)
        assert "already holds an export" in screen_text(app) and "replace an earlier export" in screen_text(app)
        app.screen.query_one("#force", Checkbox).value = True
        app.screen.query_one("#parquet", Checkbox).value = True
        await done(app, pilot)
        await pilot.press("ctrl+s")
        await done(app, pilot)
        assert "✓ wrote" in screen_text(app)
        await pilot.press("escape")
        assert type(app.screen).__name__ == "MainScreen"
    assert pq.read_table(folder / "train.parquet").num_rows == 3
    assert not (folder / "train.jsonl").exists()                # the earlier export's files were replaced


async def test_decisions_made_after_opening_are_in_the_written_export(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_dialog(app, pilot, accept=2)
        assert "2 of 12 samples selected" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("space")                       # a third accept, then export at once
        await pilot.press("ctrl+o", "ctrl+s")
        await done(app, pilot)
        await settle(app, pilot)
        assert "✓ wrote train 3" in screen_text(app)


async def test_closing_the_dialog_while_it_plans_or_writes_is_safe(seeded):
    app = StudioApp(seeded)
    async with app.run_test(size=(110, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("home", "space", "ctrl+o", "ctrl+s", "escape")   # plan and write still running
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "MainScreen"
        await pilot.press("j")                                            # the app still answers keys
        await settle(app, pilot)
    assert app.return_code in (None, 0)
    assert (seeded.root / "exports" / "review" / "train.jsonl").exists()   # the write it started finished


async def test_each_change_of_the_options_is_planned_once(seeded, monkeypatch):
    from studio.tui import export_bridge

    planned = []
    real = export_bridge.plan
    monkeypatch.setattr(export_bridge, "plan", lambda session, opts: planned.append(opts.licence) or real(session, opts))
    app = StudioApp(seeded)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_dialog(app, pilot)
        assert planned == ["unknown"]                          # opening plans once
        app.screen.query_one("#licence", Input).focus()
        await pilot.press("end", *["backspace"] * 7, *"cc-by-4.0")   # 16 keys, planned after the typing pauses
        await done(app, pilot)
        assert planned[-1] == "cc-by-4.0" and len(planned) <= 3     # not 16 plans (a slow machine may pause)


def written(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]


async def export_with(app, pilot, folder, flagged: str, fmt: str = "openai-chat") -> str:
    """Set the dialog's format and flagged field (exact dedup, no validation split), wait for the plan, write it
    into `folder`; the preview's text as it was shown before writing."""
    screen = app.screen
    screen.query_one("#format", Select).value = fmt
    screen.query_one("#flagged", Select).value = flagged
    screen.query_one("#val_fraction", Input).value = "0"
    screen.query_one("#dedup_threshold", Input).value = "1"
    screen.query_one("#path", Input).value = str(folder)
    await done(app, pilot)
    shown = screen_text(app)
    await pilot.press("ctrl+s")
    await done(app, pilot)
    assert "✓ wrote" in screen_text(app), screen_text(app)
    return shown


async def test_the_flagged_field_leaves_out_or_keeps_flagged_samples_as_the_cli_does(flagged, monkeypatch, capsys):
    """leave out (the default), keep all (--include-flagged) and only one flag (--flag NAME): the dialog says how
    many flagged samples are left out and kept before writing, the file holds exactly those rows, and
    `studio export` with the same option writes the same bytes (one export function)."""
    from studio.cli.main import main

    out = flagged.root / "out"
    app = StudioApp(flagged, "flags")
    async with app.run_test(size=(110, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("ctrl+o")
        await done(app, pilot)
        assert str(app.screen.query_one("#flagged", Select).value) == "out"

        shown = await export_with(app, pilot, out / "default", "out")
        assert "flagged samples: 4 left out (2 cut-off, 1 preview, 1 refusal)" in shown
        assert "the flagged field keeps them" in shown and "go to the raw format only" in shown
        assert [r["messages"][-1]["content"] for r in written(out / "default")] == \
            [sample_output(i) for i in (1, 6, 7, 8)]

        shown = await export_with(app, pilot, out / "all", "all")
        assert "flagged samples: 1 left out (1 preview), 3 kept (2 cut-off, 1 refusal)" in shown
        assert "the flagged field keeps them" not in shown
        assert sorted(r["messages"][-1]["content"] for r in written(out / "all")) == \
            sorted(sample_output(i) for i in (1, 2, 3, 4, 6, 7, 8))

        shown = await export_with(app, pilot, out / "cut-off", "cut-off")
        assert "flagged samples: 2 kept (2 cut-off)" in shown and "left out" not in shown
        assert sorted(r["messages"][-1]["content"] for r in written(out / "cut-off")) == \
            sorted(sample_output(i) for i in (2, 3))

        shown = await export_with(app, pilot, out / "raw", "all", fmt="raw")    # previews go to raw only
        assert "flagged samples: 4 kept (2 cut-off, 1 preview, 1 refusal)" in shown
        assert sorted(r["id"] for r in written(out / "raw")) == list(range(1, 9))

    monkeypatch.setenv("STUDIO_HOME", str(flagged.root))
    for name, args in [("default", []), ("all", ["--include-flagged"]), ("cut-off", ["--flag", "cut-off"]),
                       ("raw", ["--include-flagged"])]:
        fmt = "raw" if name == "raw" else "openai-chat"
        assert main(["export", "flags", "-f", fmt, "-o", str(out / f"cli-{name}"), "--val-fraction", "0",
                     "--dedup-threshold", "1", *args]) == 0
        assert (out / f"cli-{name}" / "train.jsonl").read_bytes() == (out / name / "train.jsonl").read_bytes(), name
    capsys.readouterr()


def sample_output(i: int) -> str:
    from tests.export.conftest import sample

    return sample(i)["output"]
