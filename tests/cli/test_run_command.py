"""`studio run` and `studio cache` as a user types them (real processes, fake server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest


class Done:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, " ".join(stderr.split())


@pytest.fixture
def studio(monkeypatch, capsys):
    """The real `studio` entry point, in this process (litellm is imported once, not per command)."""
    from studio.cli.main import main

    def call(tmp_path, *args):
        monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
        monkeypatch.delenv("STUDIO_MODEL", raising=False)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Done(code, " ".join(out.split()) if "--json" not in args else out, err)
    return call


def test_run_saves_into_the_session_and_prints_a_json_summary(studio, tmp_path, fake_llm):
    out = studio(tmp_path, "run", "contrast-pairs", "-n", "5", "--model", fake_llm.model, "--api-base",
                 fake_llm.base_url, "--session", "mine", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["done"] == 5 and summary["failed"] == 0 and summary["session"] == "mine"
    assert fake_llm.count == 5
    again = studio(tmp_path, "run", "contrast-pairs", "-n", "5", "--model", fake_llm.model, "--api-base",
                   fake_llm.base_url, "--session", "mine", "--json")
    again = json.loads(again.stdout)
    assert (again["held"], again["done"], fake_llm.count) == (5, 0, 5)  # the same run again adds nothing
    more = studio(tmp_path, "run", "contrast-pairs", "-n", "5", "--model", fake_llm.model, "--api-base",
                  fake_llm.base_url, "--session", "mine", "--answers", "2", "--json")
    assert json.loads(more.stdout)["done"] == 5 and fake_llm.count == 10  # a second answer to each prompt
    from studio.store import Store

    with Store(tmp_path / "sessions").open("mine", read_only=True) as s:
        samples = list(s.iter_samples())
    assert len(samples) == 10
    assert sorted(x["answer"] for x in samples) == [0] * 5 + [1] * 5
    assert len({(x["fill_key"], x["seed"]) for x in samples}) == 10 and len({x["fill_key"] for x in samples}) == 5


def test_exit_code_says_something_failed(studio, tmp_path, fake_llm):
    fake_llm.set(faults={"400": 1.0})
    out = studio(tmp_path, "run", "contrast-pairs", "-n", "2", "--model", fake_llm.model, "--api-base",
                 fake_llm.base_url, "--session", "x")
    assert out.returncode == 1
    assert "2 failed" in out.stdout and "invalid parameter" in out.stdout


def test_bad_input_is_a_clear_message_not_a_traceback(studio, tmp_path):
    out = studio(tmp_path, "run", "contrast-pairs", "-n", "2", "--model", "no-such-model", "--session", "x")
    assert out.returncode == 2
    assert "does not know the model 'no-such-model'" in out.stderr and "Traceback" not in out.stderr
    assert not list((tmp_path / "sessions").glob("x*"))  # an unknown model creates no session
    out = studio(tmp_path, "run", "contrast-pairs", "--answers", "0", "--session", "x")
    assert out.returncode == 2 and "--answers must be at least 1" in out.stderr
    out = studio(tmp_path, "run", "no-such-template")
    assert out.returncode == 2 and "no template named" in out.stderr


def test_render_model_needs_nothing(studio, tmp_path):
    out = studio(tmp_path, "run", "support-madlib", "-n", "3", "--model", "render", "--session", "r", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["done"] == 3


def test_ctrl_c_stops_cleanly_and_keeps_completed(tmp_path, fake_llm):
    fake_llm.set(latency=0.5)
    env = dict(os.environ, STUDIO_HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "studio", "run", "contrast-pairs", "--model", fake_llm.model,
                             "--api-base", fake_llm.base_url, "--session", "c", "--concurrency", "2", "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while fake_llm.count < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    summary = json.loads(stdout)
    assert summary["stopped"] and 0 < summary["done"] < summary["total"]
    from studio.store import Store

    s = Store(tmp_path / "sessions").open("c", read_only=True)
    assert len(s.ids()) == summary["done"]
    assert s.runs()[-1]["status"] == "stopped"


def test_cache_clear(studio, tmp_path, fake_llm):
    studio(tmp_path, "run", "contrast-pairs", "-n", "3", "--model", fake_llm.model, "--api-base", fake_llm.base_url,
           "--session", "k")
    assert "3 cached response(s)" in studio(tmp_path, "cache").stdout
    out = studio(tmp_path, "cache", "clear")
    assert out.returncode == 0 and "cleared 3" in out.stdout
    assert "0 cached response(s)" in studio(tmp_path, "cache").stdout


SHAPES_THAT_FAIL = ["empty_choices", "surrogate", "bad_utf8", "tool_calls", "null", "empty", "filtered_empty",
                    "reasoning_only"]


@pytest.mark.parametrize("shown", [10, 2])
def test_summary_lists_every_failure_reason_whole_and_wrapped(studio, tmp_path, fake_llm, monkeypatch, shown):
    """Every distinct reason, with its "what to do" end, wrapped to a narrow terminal rather than cut; past
    the limit one "and N more" line says where the rest are."""
    from studio.cli.commands import run as run_cmd
    from studio.store import Store

    monkeypatch.setattr(run_cmd, "SHOWN_REASONS", shown)
    monkeypatch.setenv("COLUMNS", "60")
    fake_llm.set(faults={s: 1 / len(SHAPES_THAT_FAIL) for s in SHAPES_THAT_FAIL})
    out = studio(tmp_path, "run", "contrast-pairs", "-n", "24", "--model", fake_llm.model, "--api-base",
                 fake_llm.base_url, "--session", "x")
    assert out.returncode == 1
    with Store(tmp_path / "sessions").open("x", read_only=True) as s:
        reasons = {x["error"].split(" (after")[0] for x in s.iter_samples() if x["status"] == "failed"}
    assert len(reasons) >= 4, reasons
    listed = [r for r in reasons if " ".join(r.split()) in out.stdout]
    if len(reasons) <= shown:
        assert len(listed) == len(reasons), (reasons, out.stdout)
        assert "more reason" not in out.stdout
    else:
        assert len(listed) == shown - 1, (reasons, out.stdout)
        assert f"and {len(reasons) - shown + 1} more reason(s)" in out.stdout and "see studio show x" in out.stdout
    assert any(r.endswith("change the prompt or the model") for r in listed)   # the end of a long reason kept


_DEFAULT_SAMPLE = """---
name: grid
params: {max_tokens: 20}
slots:
  colour: [red, green, blue, amber]
  shape: [circle, square, star, cross, ring, arrow]
---
user:
Draw a {{ colour }} {{ shape }}.
"""


def _prompts_of(studio, tmp_path, n, *extra):
    out = studio(tmp_path, "render", "grid", "-n", str(n), "--json", *extra)
    assert out.returncode == 0, out.stderr
    return [json.loads(line)["messages"][-1]["content"] for line in out.stdout.splitlines()]


@pytest.mark.parametrize("first,second", [(10, 20), (20, 10), (5, 24), (12, 13), (11, 30), (24, 5), (3, 3)])
@pytest.mark.parametrize("extra", [(), ("--seed", "9")], ids=["default seed", "seed 9"])
def test_a_larger_n_asks_only_for_the_new_fills(studio, tmp_path, fake_llm, first, second, extra):
    """The default (sample) strategy draws a stable prefix: `-n K` is the first K fills of `-n N`, so a
    second run into the same session pays for exactly the fills the first did not make (none when smaller)."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "grid.prompt").write_text(_DEFAULT_SAMPLE)
    run = ("run", "grid", "--model", fake_llm.model, "--api-base", fake_llm.base_url, "--session", "s", "--json")
    out = studio(tmp_path, *run, "-n", str(first), *extra)
    assert out.returncode == 0, out.stderr
    assert sorted(fake_llm.prompts()) == sorted(_prompts_of(studio, tmp_path, first, *extra))
    fake_llm.reset()
    out = studio(tmp_path, *run, "-n", str(second), *extra)
    assert out.returncode == 0, out.stderr
    wanted = _prompts_of(studio, tmp_path, second, *extra)   # the space holds 24: -n 30 is the whole of it
    assert wanted[:min(first, second)] == _prompts_of(studio, tmp_path, first, *extra)[:second]
    assert sorted(fake_llm.prompts()) == sorted(wanted[first:])
    summary = json.loads(out.stdout)
    assert (summary["held"], summary["done"]) == (min(first, len(wanted)), max(0, len(wanted) - first))


IDENTICAL_ANSWERS = [   # template, extra args, words the refusal says (None: allowed)
    ("contrast-pairs", ["--model", "render", "--answers", "3"], ["3 identical copies", "render model",
                                                                 "use a real model", "--answers 1"]),
    ("support-madlib", ["--answers", "2"], ["2 identical copies", "render-mode template", "--answers 1",
                                            "madlib.prompt:"]),
    ("support-madlib", ["--model", "render", "--answers", "2"], ["render-mode template"]),
    ("contrast-pairs", ["--answers", "2"], ["render model"]),      # render named below (a session never remembers it)
    ("contrast-pairs", ["--model", "render", "--answers", "1"], None),
]


@pytest.mark.parametrize("template,extra,said", IDENTICAL_ANSWERS)
def test_several_answers_that_would_be_identical_are_refused_before_anything_is_made(studio, tmp_path, template,
                                                                                     extra, said):
    """Answers differ only by seed, which render ignores: K render answers are K copies. Refused with exit 2,
    no session made; into an existing session (made by render) nothing is added."""
    made = extra if "--model" in extra else [*extra, "--model", "render"]   # a new session: render named
    out = studio(tmp_path, "run", template, "-n", "2", "--session", "new", *made)
    if said is None:
        assert out.returncode == 0, out.stderr
        return
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert all(w in out.stderr for w in said), out.stderr
    assert not list((tmp_path / "sessions").glob("new*"))
    first = studio(tmp_path, "run", template, "-n", "2", "--session", "old", "--model", "render")
    assert first.returncode == 0, first.stderr
    files = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "sessions").glob("old*")}
    again = studio(tmp_path, "run", template, "-n", "2", "--session", "old", *made)
    assert again.returncode == 2 and all(w in again.stderr for w in said), again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "sessions").glob("old*")} == files
