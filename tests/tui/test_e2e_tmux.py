"""End to end: the real `studio` command in tmux (send-keys, capture-pane), render mode, no mouse.

Edit the template and save a version, generate samples, accept/reject/tag some, quit, reopen, and find
every decision still there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from studio.store import Store

ROOT = Path(__file__).resolve().parents[2]   # the checkout under test (tmux's server keeps its own environment)
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")


class Tmux:
    def __init__(self, home, width: int = 100, height: int = 30) -> None:
        self.name = f"studio-e2e-{uuid.uuid4().hex[:8]}"
        self.home, self.width, self.height = home, width, height

    def start(self) -> None:
        exe = shutil.which("studio")
        command = exe if exe else f"{sys.executable} -m studio"
        env = (f"env PYTHONPATH={ROOT} STUDIO_HOME={self.home} TERM=xterm-256color "
               "LITELLM_LOCAL_MODEL_COST_MAP=True")
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(self.width), "-y",
                        str(self.height), f"{env} {command}; sleep 30"], check=True)

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *(["-l"] if literal else []), *keys], check=True)
        time.sleep(0.15)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def wait_until(self, check, what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if check(shown):
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{what} never showed; the screen was:\n{self.screen()}")

    def wait_exit(self, timeout: float = 20.0) -> None:
        """The studio has quit when the shell moved on to the `sleep` after it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            panes = subprocess.run(["tmux", "list-panes", "-t", self.name, "-F", "#{pane_current_command}"],
                                   capture_output=True, text=True).stdout
            if "sleep" in panes:
                return
            time.sleep(0.1)
        raise AssertionError(f"the studio did not quit; the screen was:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def tmux(tmp_path):
    sessions = []

    def make() -> Tmux:
        t = Tmux(tmp_path)
        sessions.append(t)
        t.start()
        return t

    yield make
    for t in sessions:
        t.kill()


def test_edit_generate_review_quit_reopen(tmux, tmp_path):
    t = tmux()
    t.wait_for("support-madlib · saved")
    t.wait_for("no samples yet")

    t.keys("F2")  # the editor; the cursor starts on line 1
    t.keys("# edited in tmux", literal=True)
    t.keys("Enter")
    t.wait_for("UNSAVED")
    t.keys("C-s")
    t.wait_for("support-madlib · saved")

    t.keys("C-g")
    t.wait_for("Generate samples")
    t.keys("6", literal=True)
    t.keys("Enter")
    t.wait_for("6 shown")

    t.keys("F4")
    t.keys("Home")
    t.keys("Space")
    t.keys("Space")
    t.keys("x")
    t.keys("1")
    t.wait_until(lambda shown: "✗ rejected" in shown and shown.count("✓ accepted") == 2, "the decisions")
    t.keys("C-q")
    t.wait_exit()

    session = Store(tmp_path / "sessions").open("demo", read_only=True)
    labels = session.labels
    statuses = [session.get(i)["status"] for i in session.ids()]
    assert statuses == ["accepted", "accepted", "rejected", "pending", "pending", "pending"]
    assert session.get(3)["tags"] == [labels[0]]
    versions = session.template_versions("support-madlib")
    assert len(versions) == 2 and versions[-1]["text"].startswith("# edited in tmux")
    assert all(session.get(i)["template_version"] == versions[-1]["version"] for i in session.ids())
    session.close()
    assert (tmp_path / "templates" / "support-madlib.prompt").read_text().startswith("# edited in tmux")

    again = tmux()  # reopen: the most recent session, the cursor on its newest sample
    again.wait_until(lambda shown: "studio · demo" in shown and "6 shown" in shown and "▶· pending  6" in shown,
                     "the reopened session, on its newest sample")
    again.keys("F4")
    again.keys("Home")  # the oldest rows: every decision is there (the list shows 5 rows at 100×30)
    again.wait_until(lambda shown: "▶✓ accepted 1" in shown and " ✓ accepted 2" in shown
                     and "✗ rejected 3 v2 " in shown and f"[{labels[0]}]" in shown and " · pending  4" in shown,
                     "every decision, reopened")
    again.keys("C-q")
    again.wait_exit()


def test_export_dialog_previews_then_writes_in_a_real_terminal(tmux, tmp_path):
    from studio.core.workspace import Workspace
    from tests.tui.conftest import make_samples

    Workspace.from_env(tmp_path).ensure()
    session = Store(tmp_path / "sessions").create("review")
    samples = make_samples(8)
    for i, s in enumerate(samples):
        s["status"] = "accepted" if i < 5 else "rejected"
    session.add_samples(samples)
    session.close()

    t = tmux()
    t.wait_for("studio · review")
    t.keys("C-o")
    t.wait_for("review: 5 of 8 samples selected (status accepted)")
    t.wait_for('{"messages":[{"role":"user","content":"Hi, this is customer 0')     # the first rows, as written
    t.keys("C-s")
    t.wait_for("✓ wrote")
    t.keys("Escape")
    t.keys("C-q")
    t.wait_exit()
    folder = tmp_path / "exports" / "review"
    rows = [line for f in ("train.jsonl", "validation.jsonl") if (folder / f).exists()
            for line in (folder / f).read_text().splitlines()]
    assert len(rows) == 5 and (folder / "README.md").read_text().startswith("---\nlicense:")


def test_keys_typed_in_one_go_after_a_dialog_key_land_in_the_dialog(tmux, tmp_path):
    """`/Chi⏎` typed in one burst filters by "Chi": the keys after `/` reach the list before the dialog is
    open and must not be lost, nor read as review keys (here `a`, `x` and `u` would accept, reject, undo)."""
    from studio.core.workspace import Workspace
    from tests.tui.conftest import make_samples

    Workspace.from_env(tmp_path).ensure()
    session = Store(tmp_path / "sessions").create("review")
    session.add_samples(make_samples(8))
    session.close()

    t = tmux()
    t.wait_for("8 shown")
    t.keys("F4")
    t.keys("/customer 3", literal=True)     # one write to the terminal: the dialog opens mid-burst
    t.keys("Enter")
    t.wait_for("1 shown · filter text=customer 3")
    t.keys("/", literal=True)
    t.wait_for("Filter samples")
    t.keys("C-u")                            # clear the text field
    t.keys("Escape")
    t.keys("/xau", literal=True)             # review keys right after `/`: typed into the filter, not obeyed
    t.keys("Escape")
    t.keys("C-q")
    t.wait_exit()
    with Store(tmp_path / "sessions").open("review", read_only=True) as s:
        assert s.counts()["status"]["pending"] == 8


def test_a_character_typed_right_after_backspace_is_not_lost(tmux, tmp_path):
    """Backspace and the next characters in one write to the terminal (a fast typist over SSH): the backspace
    deletes one character and every character after it lands (studio.tui.typeahead: one key at a time)."""
    from studio.core.workspace import Workspace
    from tests.tui.conftest import make_samples

    Workspace.from_env(tmp_path).ensure()
    session = Store(tmp_path / "sessions").create("review")
    session.add_samples(make_samples(8))
    session.close()

    t = tmux()
    t.wait_for("8 shown")
    t.keys("F4")
    t.keys("/custo\x7fomer 4\x7f3", literal=True)   # the dialog opens mid-burst, then two backspaces
    t.keys("Enter")
    t.wait_for("1 shown · filter text=customer 3")
    t.keys("nabc\x7fd\x7f\x7fxy\x7fz", literal=True)  # a note, edited as it is typed
    t.keys("Enter")
    t.wait_for("axz")
    t.keys("C-q")
    t.wait_exit()
    with Store(tmp_path / "sessions").open("review", read_only=True) as s:
        assert s.get(4)["note"] == "axz"
