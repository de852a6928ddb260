"""A curated session built through the Store API: what an export sees after a day of review."""

from __future__ import annotations

import random

import pytest

from studio.store import Store

WORDS = ("router modem cable signal restart light firmware account billing refund password network speed "
         "outage engineer visit reset port wifi channel update device warranty order delivery").split()


def prose(seed: int, n: int = 40) -> str:
    """Distinct text per seed (so only the duplicates a test plants are duplicates)."""
    rnd = random.Random(seed)
    return " ".join(rnd.choice(WORDS) + str(rnd.randrange(1000)) for _ in range(n)) + "."


_AUTO = "<prose>"


def sample(i: int, *, template: str = "support", status: str = "accepted", prompt: int | None = None,
           output: str | None = _AUTO, **extra) -> dict:
    p = i if prompt is None else prompt
    return {
        "template": template, "template_version": ("aaaa" if template == "support" else "cccc") + "11112222",
        "fill_key": f"{p:012x}", "prompt_hash": f"{template[:4]}{p:08x}",
        "slots": {"product": ("router", "modem")[p % 2], "issue": f"issue {p}"},
        "persona": {"text": f"a nurse aged {30 + p % 40}", "age_band": "30-39"},
        "messages": [{"role": "system", "content": "You are a calm support agent."},
                     {"role": "user", "content": f"My {('router', 'modem')[p % 2]} has issue {p}. {prose(10_000 + p, 12)}"}],
        "output": prose(i) if output == _AUTO else output, "model": "openai/fake", "mode": "generate",
        "params": {"temperature": 0.7, "max_tokens": 200}, "seed": i, "run_id": "run-1",
        "status": status, "cost": 0.0001 * i, "latency": 0.5, "tokens_in": 20, "tokens_out": 40, **extra,
    }


def curated() -> list[dict]:
    """40 support samples over 2 templates, with decisions, duplicates, tags, failures and pairs."""
    recs = []
    for i in range(1, 25):                                   # support: accepted mostly
        recs.append(sample(i, status="accepted" if i % 4 else "rejected",
                           output=prose(i, 150) if i == 2 else _AUTO, tags=["too-long"] if i % 4 == 0 else []))
    for i in range(25, 33):                                  # contrast-explain template
        recs.append(sample(i, template="contrast-explain", status="accepted"))
    recs.append(sample(33, prompt=4, status="accepted"))      # a second answer to prompt 4 (4 was rejected)
    recs.append(sample(34, prompt=8, status="rejected", tags=["wrong-tone", "too-long"]))  # 8 rejected twice
    recs.append(sample(35, prompt=1, output=prose(1)))       # exact duplicate of #1
    near = prose(2, 150).upper().replace(" ", ", ").split()
    near[20] = "changed"
    recs.append(sample(36, prompt=2, output=" ".join(near)))  # near duplicate of #2: case, commas, one word
    recs.append(sample(37, status="failed", output=None, error="HTTP 500 from provider"))
    recs.append(sample(38, status="pending"))
    recs.append(sample(39, template="contrast-explain", status="accepted", mode="structured",
                       output='{"chosen": "...", "rejected": "..."}',
                       parsed={"prompt": "Explain latency by comparing it with bandwidth.",
                               "chosen": "Latency is delay; bandwidth is capacity. " + prose(39, 20),
                               "rejected": "Latency is slow internet."}))
    recs.append(sample(40, status="accepted", note="great answer",
                       followups={"double-check": {"output": "VERDICT: correct", "verdict": "correct",
                                                   "model": "openai/fake"}}))
    return recs


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "sessions")


@pytest.fixture
def session(store):
    s = store.create("curated", model="openai/fake")
    s.save_template_version("support", "---\nname: support\n---\nuser:\nHelp with {{ product }}")
    s.add_samples(curated())
    yield s
    s.close()
