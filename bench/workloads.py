"""Workloads the benchmarks share (no side effects on import: tests import benches)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fake_server(latency: float) -> tuple[subprocess.Popen, int]:
    """One fake OpenAI-compatible server (tests/support/fake_llm.py) in its own process on 127.0.0.1, answering
    after `latency` seconds -> (the process, its port). The caller kills it."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.fake_llm", "--latency", str(latency)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, int(line.split()[1])


def two_slot_template(name: str, topics: list[str], angles: list[str]) -> str:
    """A generate-mode template with two inline slots (product: len(topics) x len(angles) prompts), the
    workload the resume, batch and fleet benches send to a fake server."""
    return f"""---
name: {name}
mode: generate
params: {{temperature: 0.7, max_tokens: 50}}
slots:
  topic: [{", ".join(topics)}]
  angle: [{", ".join(angles)}]
combine: {{strategy: product, seed: 3}}
---
user:
Write one line about {{{{ topic }}}} from the angle of {{{{ angle }}}}.
"""
