"""`studio lint`, `studio render` and `studio slots`, run as the real command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.workspace import shipped_templates_dir

SHIPPED = sorted(p.stem for p in shipped_templates_dir().glob("*.prompt"))


def studio(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "STUDIO_HOME": str(cwd), "NO_COLOR": "1", "COLUMNS": "100", **(env or {})}
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ws")


def test_a_new_workspace_starts_with_the_shipped_templates_and_they_lint_clean(workspace):
    result = studio("lint", cwd=workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout
    assert sorted(p.stem for p in (workspace / "templates").glob("*.prompt")) == SHIPPED
    assert (workspace / "sessions").is_dir()


# Every command works in an empty workspace as its first command: the shipped library is there before it reads.
@pytest.mark.parametrize("args, says", [
    (["lint", "templates/"], "no problems"),
    (["lint", "templates/contrast-pairs.prompt"], "no problems"),
    (["render", SHIPPED[0], "-n", "1"], ""),
    (["slots", SHIPPED[0]], ""),
])
def test_the_first_command_in_an_empty_workspace_finds_the_shipped_templates(tmp_path, args, says):
    result = studio(*args, cwd=tmp_path)
    assert result.returncode == 0 and says in result.stdout, result.stdout + result.stderr
    assert sorted(p.stem for p in (tmp_path / "templates").glob("*.prompt")) == SHIPPED


def test_a_workspace_that_cannot_be_written_still_answers_what_does_not_write(tmp_path):
    home = tmp_path / "ro"
    home.write_text("a file where the workspace folder should be")
    result = studio("lint", str(shipped_templates_dir()), cwd=tmp_path, env={"STUDIO_HOME": str(home)})
    assert result.returncode == 0 and "no problems" in result.stdout, result.stdout + result.stderr
    result = studio("render", "nope", cwd=tmp_path, env={"STUDIO_HOME": str(home)})
    assert result.returncode == 2 and "Traceback" not in result.stderr and "cannot create" in result.stderr


@pytest.mark.parametrize("name", SHIPPED)
def test_render_prints_filled_prompts_for_every_shipped_template(workspace, name):
    result = studio("render", name, "-n", "3", "--json", cwd=workspace)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert 1 <= len(rows) <= 3
    assert all(row["template"] == name and row["messages"][-1]["content"] for row in rows)
    assert not any("{{" in m["content"] for row in rows for m in row["messages"])


def test_render_is_reproducible_and_follows_strategy_and_seed(workspace):
    a = studio("render", "diversity-lists", "--strategy", "sample", "-n", "4", "--seed", "1", "--json", cwd=workspace)
    b = studio("render", "diversity-lists", "--strategy", "sample", "-n", "4", "--seed", "1", "--json", cwd=workspace)
    c = studio("render", "diversity-lists", "--strategy", "sample", "-n", "4", "--seed", "2", "--json", cwd=workspace)
    assert a.stdout == b.stdout != c.stdout


def test_slots_shows_sizes_sources_and_prompts_per_strategy(workspace):
    result = studio("slots", "persona-iteration", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert "built-in generator" in result.stdout
    assert "pairwise" in result.stdout and "too large to plan" in result.stdout


@pytest.mark.parametrize("args,text,fragment", [
    (["render", "no-such-template"], None, "no template named 'no-such-template'"),
    (["lint", "bad.prompt"], "---\nname: bad\nslots:\n  a: [x]\n---\nHi {{ b }}\n", "bad.prompt:6: {{ b }} is not a slot"),
    (["render", "bad.prompt"], "---\nname: bad\nmode: nope\n---\nHi\n", "bad.prompt:3: unknown mode 'nope'"),
    (["render", "bad.prompt"], "---\nname: bad\nslots:\n  a: {file: gone.txt}\n---\n{{ a }}\n", "data file 'gone.txt' not found"),
    (["lint", "bad.prompt"], "---\nname: bad\nslots:\n  a: [x]\n---\n{{ a.__class__ }}\n", "refused by the sandbox"),
    (["render", "bad.prompt", "-n", "-1"], "---\nname: bad\n---\nHi\n", "-n must be zero or more"),
])
def test_bad_input_gets_a_clear_message_and_exit_code_2(workspace, args, text, fragment):
    if text is not None:
        (workspace / "bad.prompt").write_text(text)
    result = studio(*args, cwd=workspace)
    assert result.returncode == 2, result.stdout + result.stderr
    assert fragment in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
