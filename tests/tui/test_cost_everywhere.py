"""One cost rule on every surface (studio.core.cost): `studio run`'s summary, `studio show`, `studio report`
and the TUI's status bar show the same cost for the same samples. A known cost is money (a small one never
reads $0.0000), an unknown one (a model litellm has no price for) says unknown and is never summed as $0, a
cached sample costs $0 and says it was cached, a failure nobody billed costs $0.

Each row makes its samples for real: `studio run` (in this process, the real entry point) against the fake
server on 127.0.0.1 into a real TinyDB session, and the same run started from the studio (Pilot) into a
second session; then every surface is read."""

from __future__ import annotations

import asyncio
import re

import pytest

from studio.core.cost import Cost, money
from studio.store import Store
from studio.tui.app import StudioApp
from tests.tui.conftest import ready, screen_text, settle

PRICED = "openai/gpt-4o-mini"    # litellm has a price: a known cost
UNPRICED = "openai/fake"         # litellm has none: unknown


# name, model, faults, warm the cache first?, (long phrase, short phrase, one sample's) as regexes
ROWS = [
    ("unpriced", UNPRICED, None, False, (r"unknown \(3 samples without a price\)", r"unknown", r"unknown")),
    ("cached, unpriced model", UNPRICED, None, True,
     (r"\$0 · 3 cached \(\$0\)", r"\$0 \(3 cached\)", r"\$0 \(cached\)")),
    ("cached, priced model", PRICED, None, True,
     (r"\$0 · 3 cached \(\$0\)", r"\$0 \(3 cached\)", r"\$0 \(cached\)")),
    ("all failed, nothing billed", PRICED, {"400": 1.0}, False, (r"\$0", r"\$0", r"\$0")),
    ("all failed, unpriced model", UNPRICED, {"400": 1.0}, False, (r"\$0", r"\$0", r"\$0")),
    ("priced", PRICED, None, False, (r"\$0\.0000[1-9]\d", r"\$0\.0000[1-9]\d", r"\$0\.0000[1-9]\d")),
]


def _studio(monkeypatch, capsys, home, *args) -> tuple[int, str]:
    from studio.cli.main import main

    monkeypatch.setenv("STUDIO_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")           # one line per table row
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, " ".join(out.split()) or " ".join(err.split())


async def _astudio(*args) -> tuple[int, str]:
    """`_studio` from a test that runs in an event loop (the command runs its own, in a thread)."""
    return await asyncio.to_thread(_studio, *args)


def _after(label: str, text: str) -> str:
    """The cost phrase after `label` up to the next ` · 0.` / ` · ` field that is not part of it."""
    m = re.search(label + r" (.+?)(?: · \d+\.\ds| · session|$| · (?:\$|unknown|—)[^·]* per accepted)", text)
    assert m, (label, text)
    return m.group(1)


@pytest.mark.parametrize("name,model,faults,warm,phrases", ROWS, ids=[r[0] for r in ROWS])
async def test_the_same_cost_on_every_surface(ws, fake_env, monkeypatch, capsys, name, model, faults, warm,
                                              phrases):
    long, short, one = phrases
    home = ws.root
    run = ("run", "contrast-pairs", "-n", "3", "--model", model, "--api-base", fake_env.base_url)
    if warm:
        assert (await _astudio(monkeypatch, capsys, home, *run, "--session", "warm"))[0] == 0
    fake_env.set(faults=faults or {})

    # the studio first (it pays, unless the cache is warm), into its own session: the status bar says the
    # cost the short way, and agrees with the store
    monkeypatch.setenv("STUDIO_HOME", str(home))
    app = StudioApp(ws, "tui", template="contrast-pairs")
    async with app.run_test(size=(160, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        app.screen.start_run({"model": model, "count": 3, "api_base": fake_env.base_url})
        for _ in range(400):
            if app.screen._run_control is None:
                break
            await pilot.pause(0.05)
        await settle(app, pilot)
        bar = str(app.screen.status.render())
        await pilot.press("home")                         # the review pane: the selected sample's own cost
        await settle(app, pilot)
        pane = screen_text(app)
        await pilot.press("ctrl+q")
    assert re.search(r" \d+ tok " + one + r"(?!\S)", pane), (name, pane)
    tok = re.search(r"[\d,]+ tok (.+?) · ✓", bar)
    assert tok and re.fullmatch(short, tok.group(1)), (name, bar)
    with Store(ws.sessions_dir).open("tui", read_only=True) as s:
        assert tok.group(1) == s.cost().text(short=True), (name, bar)

    # then `studio run` (--no-cache: it pays like the studio did, unless the row is about the cache)
    code, out = await _astudio(monkeypatch, capsys, home, *run, "--session", "cli", *(() if warm else ("--no-cache",)))
    assert code == (1 if faults else 0), out
    run_phrase = _after("cost", out)
    assert re.fullmatch(long, run_phrase), (name, out)

    code, shown = await _astudio(monkeypatch, capsys, home, "show", "cli")
    assert code == 0
    assert f"cost {run_phrase}" in shown, (name, run_phrase, shown)   # the very same words

    # the session `studio run` made, opened in the studio: its status bar says the session's cost (not the
    # cost of runs this studio made, which is none), the short way of the same rule
    app = StudioApp(ws, "cli")
    async with app.run_test(size=(160, 30)) as pilot:
        await ready(app, pilot)
        await settle(app, pilot)
        bar = str(app.screen.status.render())
        await pilot.press("ctrl+q")
    opened = re.search(r"[\d,]+ tok (.+?) · ✓", bar)
    with Store(ws.sessions_dir).open("cli", read_only=True) as s:
        assert opened and opened.group(1) == s.cost().text(short=True), (name, bar)
    assert re.fullmatch(short, opened.group(1)), (name, bar)

    with Store(ws.sessions_dir).open("cli") as s:                    # accept what has text: $ / accepted
        ids = s.ids(status="pending")
        for i in ids:
            s.set_status(i, "accepted")
        cost = s.cost()
    per = cost.per(len(ids))
    code, report = await _astudio(monkeypatch, capsys, home, "report", "cli")
    assert code == 0
    if ids:
        row = re.search(r"contrast-pairs v1 \S+ 3 3 0 0 0 100% — (\S+)", report)
        assert row and row.group(1) == per, (name, report)
        assert per == ("unknown" if cost.unknown else money(cost.known / len(ids)))
    code, shown = await _astudio(monkeypatch, capsys, home, "show", "cli")
    assert f"cost {run_phrase}" in shown and (f"· {per} per accepted sample" in shown) == bool(ids)



def test_a_mixed_session_never_sums_the_unknown_as_zero(tmp_path, fake_llm, monkeypatch, capsys):
    """Priced samples and unpriced ones in one session: the known part as money, the rest said apart; the
    cost per accepted sample is unknown (a partial sum would understate it)."""
    run = ("run", "contrast-pairs", "-n", "3", "--api-base", fake_llm.base_url, "--session", "mix")
    assert _studio(monkeypatch, capsys, tmp_path, *run, "--model", PRICED)[0] == 0
    assert _studio(monkeypatch, capsys, tmp_path, *run, "--model", UNPRICED)[0] == 0
    with Store(tmp_path / "sessions").open("mix") as s:
        for i in s.ids():
            s.set_status(i, "accepted")
        cost = s.cost()
    assert (cost.priced, cost.unknown) == (3, 3) and cost.known > 0
    _, shown = _studio(monkeypatch, capsys, tmp_path, "show", "mix")
    assert f"cost {money(cost.known)} + unknown (3 samples without a price) · unknown per accepted sample" in shown
    _, report = _studio(monkeypatch, capsys, tmp_path, "report", "mix")
    assert re.search(r"contrast-pairs v1 \S+ 6 6 0 0 0 100% — unknown", report), report


@pytest.mark.parametrize("cost,text", [(None, "unknown"), (0.0, "$0"), (0.000052, "$0.000052"),
                                       (0.00004749, "$0.000047"), (0.0123, "$0.0123"), (2.5, "$2.50"),
                                       (1234.5, "$1,234.50")])
def test_money_never_rounds_a_known_cost_to_nothing(cost, text):
    assert money(cost) == text


@pytest.mark.parametrize("cost,long,short", [
    (Cost(), "$0", "$0"),
    (Cost(0.01, 2), "$0.0100", "$0.0100"),
    (Cost(0.0, 0, 3), "unknown (3 samples without a price)", "unknown"),
    (Cost(0.02, 2, 1), "$0.0200 + unknown (1 sample without a price)", "$0.0200 + 1 unknown"),
    (Cost(0.0, 3, 0, 3), "$0 · 3 cached ($0)", "$0 (3 cached)"),
    (Cost(0.0, 3, 2, 3), "unknown (2 samples without a price) · 3 cached ($0)", "unknown (3 cached)"),
])
def test_the_rule_in_words(cost, long, short):
    assert (cost.text(), cost.text(short=True)) == (long, short)
