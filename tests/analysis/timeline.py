"""A session with a history: two versions of a template reviewed over two sittings, a planted bad value,
costs per template, fixed timestamps (so pictures and snapshots never depend on the clock)."""

from __future__ import annotations

import random

from tests.analysis.planted import sample

T0 = 1767261600.0          # 2026-01-01 10:00 UTC


def timeline_samples(n: int = 480, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        late = i >= n // 2                               # the second sitting: version 2 of support
        template = "support" if i % 3 else "contrast"
        version = ("bbbbbbbbbbbb" if late else "aaaaaaaaaaaa") if template == "support" else "cccccccccccc"
        s = sample(rng, i, template=template, version=version, cost=0.002 if template == "support" else 0.0005)
        bad = s["slots"]["product"] == "e-bike"
        rate = (0.75 if bad else 0.12) if not late or template != "support" else (0.35 if bad else 0.05)
        if rng.random() < rate:
            s["status"] = "rejected"
            s["tags"] = [rng.choice(["wrong", "wordy"]) if not bad else "unsafe"]
        created = T0 + i * 6 + (3 * 3600 if late else 0)
        s["created"], s["reviewed"] = created, created + 4
        s.pop("id")
        out.append(s)
    return out
