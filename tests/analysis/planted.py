"""Sample records with known failure patterns, shaped like the store's sample record."""

from __future__ import annotations

import random

CUSTOMERS = ["Ana", "Ben", "Chidi", "Dana", "Elif", "Farid", "Grace", "Hiro"]
PRODUCTS = ["router", "phone", "subscription", "e-bike", "thermostat", "tablet"]
AGES = ["teen", "adult", "senior"]
JOBS = ["nurse", "teacher", "engineer", "farmer"]


def sample(rng: random.Random, i: int, *, template="support", version="aaaaaaaaaaaa", status="accepted",
           tags=(), cost=0.001, **slots) -> dict:
    fill = {"customer": rng.choice(CUSTOMERS), "product": rng.choice(PRODUCTS)}
    fill.update(slots)
    return {
        "id": i + 1, "template": template, "template_version": version,
        "fill_key": f"{abs(hash(tuple(sorted(fill.items())))) % 16**12:012x}",
        "slots": fill,
        "persona": {"text": f"persona {i}", "age_band": rng.choice(AGES), "occupation": rng.choice(JOBS)},
        "status": status, "tags": list(tags), "cost": cost, "model": "openai/fake",
        "output": f"reply {i}", "messages": [{"role": "user", "content": f"prompt {i}"}], "followups": {},
    }


def session_with_bad_value(n=600, seed=1, bad="e-bike", bad_rate=0.7, base_rate=0.1) -> list[dict]:
    """One product value causes most rejections."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = sample(rng, i)
        rate = bad_rate if s["slots"]["product"] == bad else base_rate
        if rng.random() < rate:
            s["status"], s["tags"] = "rejected", ["wrong"]
        out.append(s)
    return out


def session_evenly_spread(n=600, seed=1, rate=0.3) -> list[dict]:
    """Rejections at the same rate whatever the slot values and persona."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = sample(rng, i)
        if rng.random() < rate:
            s["status"], s["tags"] = "rejected", [rng.choice(["wrong", "wordy"])]
        out.append(s)
    return out
