"""Workloads the benchmarks share (no side effects on import: tests import benches)."""

from __future__ import annotations


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
