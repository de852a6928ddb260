"""`studio run` and `studio cache` as a user types them (real processes, fake server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest


def studio(tmp_path, *args, timeout=120):
    env = dict(os.environ, STUDIO_HOME=str(tmp_path), COLUMNS="300")  # no wrapping of messages
    env.pop("STUDIO_MODEL", None)
    return subprocess.run([sys.executable, "-m", "studio", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_run_saves_into_the_session_and_prints_a_json_summary(tmp_path, fake_llm):
    out = studio(tmp_path, "run", "contrast-pairs", "-n", "5", "--model", fake_llm.model, "--api-base",
                 fake_llm.base_url, "--session", "mine", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["done"] == 5 and summary["failed"] == 0 and summary["session"] == "mine"
    assert fake_llm.count == 5
    again = studio(tmp_path, "run", "contrast-pairs", "-n", "5", "--model", fake_llm.model, "--api-base",
                   fake_llm.base_url, "--session", "mine", "--json")
    assert json.loads(again.stdout)["cached"] == 5 and fake_llm.count == 5
    from studio.store import Store

    s = Store(tmp_path / "sessions").open("mine", read_only=True)
    assert len(s.ids()) == 10


def test_exit_code_says_something_failed(tmp_path, fake_llm):
    fake_llm.set(faults={"400": 1.0})
    out = studio(tmp_path, "run", "contrast-pairs", "-n", "2", "--model", fake_llm.model, "--api-base",
                 fake_llm.base_url, "--session", "x")
    assert out.returncode == 1
    assert "2 failed" in out.stdout and "invalid parameter" in out.stdout


def test_bad_input_is_a_clear_message_not_a_traceback(tmp_path):
    out = studio(tmp_path, "run", "contrast-pairs", "-n", "2", "--model", "no-such-model", "--session", "x")
    assert out.returncode == 2
    assert "does not know the model 'no-such-model'" in out.stderr and "Traceback" not in out.stderr
    out = studio(tmp_path, "run", "no-such-template")
    assert out.returncode == 2 and "no template named" in out.stderr


def test_render_model_needs_nothing(tmp_path):
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


def test_cache_clear(tmp_path, fake_llm):
    studio(tmp_path, "run", "contrast-pairs", "-n", "3", "--model", fake_llm.model, "--api-base", fake_llm.base_url,
           "--session", "k")
    info = studio(tmp_path, "cache")
    assert "3 cached response(s)" in info.stdout
    out = studio(tmp_path, "cache", "clear")
    assert out.returncode == 0 and "cleared 3" in out.stdout
    studio(tmp_path, "run", "contrast-pairs", "-n", "3", "--model", fake_llm.model, "--api-base", fake_llm.base_url,
           "--session", "k")
    assert fake_llm.count == 6
