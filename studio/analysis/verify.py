"""Double-check verification: a second model pass judges each output; agreement with the person says
whether the verifier can be trusted to pre-screen.

The verdict lives in `sample["followups"]["double-check"]` (docs/ARCHITECTURE.md), so a verdict
made here and one made by the engine as a declared follow-up read the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from studio.core.record import followup_inputs, followup_result, parse_verdict, scrub_params

__all__ = ["FOLLOWUP", "parse_verdict", "verdict_of", "is_disagreement", "disagreements", "Agreement",
           "agreement", "verified_samples", "checker_template", "verify_samples", "VerifyResult"]

FOLLOWUP = "double-check"


def verdict_of(sample: dict) -> str | None:
    result = (sample.get("followups") or {}).get(FOLLOWUP)
    return result.get("verdict") if isinstance(result, dict) else None


def is_disagreement(sample: dict) -> bool:
    """The verifier and the person decided opposite ways (unsure and undecided never disagree)."""
    verdict, status = verdict_of(sample), sample.get("status")
    return (verdict == "correct" and status == "rejected") or (verdict == "incorrect" and status == "accepted")


def disagreements(samples: Iterable[dict]) -> list[dict]:
    return [s for s in samples if is_disagreement(s)]


@dataclass
class Agreement:
    """Verifier vs person on reviewed, verified samples of one template."""

    template: str
    agree: int = 0
    disagree: int = 0
    unsure: int = 0  # verifier said unsure on a reviewed sample
    unreviewed: int = 0  # verified but the person has not decided
    table: dict[tuple[str, str], int] = field(default_factory=dict)  # (verdict, status) -> n

    @property
    def rate(self) -> float | None:
        n = self.agree + self.disagree
        return self.agree / n if n else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: agreement beyond what the two base rates give by chance."""
        n = self.agree + self.disagree
        if not n:
            return None
        t = self.table
        vc = t.get(("correct", "accepted"), 0) + t.get(("correct", "rejected"), 0)
        pa = t.get(("correct", "accepted"), 0) + t.get(("incorrect", "accepted"), 0)
        chance = (vc * pa + (n - vc) * (n - pa)) / (n * n)
        return None if chance >= 1 else (self.rate - chance) / (1 - chance)

    def to_dict(self) -> dict:
        return {"template": self.template, "agree": self.agree, "disagree": self.disagree, "unsure": self.unsure,
                "unreviewed": self.unreviewed, "rate": self.rate, "kappa": self.kappa}


def verified_samples(session, **filters) -> list[dict]:
    """The samples of a store session that have a double-check verdict (the store indexes follow-ups)."""
    return list(session.iter_samples(followup=FOLLOWUP, **filters))


def agreement(samples: Iterable[dict]) -> dict[str, Agreement]:
    """Per template: how often the double-check verdict matches the person's accept/reject."""
    out: dict[str, Agreement] = {}
    for s in samples:
        verdict = verdict_of(s)
        if verdict is None:
            continue
        name = s.get("template") or "?"
        a = out.get(name) or out.setdefault(name, Agreement(name))
        status = s.get("status")
        if status not in ("accepted", "rejected"):
            a.unreviewed += 1
            continue
        if verdict not in ("correct", "incorrect"):
            a.unsure += 1
            continue
        a.table[(verdict, status)] = a.table.get((verdict, status), 0) + 1
        if (verdict == "correct") == (status == "accepted"):
            a.agree += 1
        else:
            a.disagree += 1
    return dict(sorted(out.items()))


def checker_template(workspace=None):
    from studio.core.template import load_template
    from studio.core.workspace import shipped_templates_dir

    if workspace is not None:
        candidate = workspace.templates_dir / f"{FOLLOWUP}.prompt"
        if candidate.is_file():
            return load_template(candidate)
    return load_template(shipped_templates_dir() / f"{FOLLOWUP}.prompt")


@dataclass
class VerifyResult:
    verified: int = 0
    failed: dict[int, str] = field(default_factory=dict)  # sample id -> reason
    verdicts: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # samples with no output to check


def verify_samples(session, ids: Iterable[int], *, model: str, template=None, api_base: str | None = None,
                   cache_dir: str | Path | None = None, concurrency: int = 16, on_result=None,
                   engine_options: dict | None = None) -> VerifyResult:
    """Run the double-check template on the samples and store each verdict with its sample."""
    from studio.analysis.llm import run_requests
    from studio.core.expand import Fill
    from studio.core.render import Renderer
    from studio.core.secrets import template_secrets
    from studio.engine import Request

    template = template or checker_template()
    renderer = Renderer(template)
    empty = Fill.from_values({})
    out = VerifyResult()
    secrets = template_secrets(template)
    requests = []
    for sid in ids:
        s = session.get(sid)
        if not s.get("output"):
            out.skipped += 1
            continue
        msgs = renderer.messages(empty, followup_inputs(s))
        # the sample's seed, as a run's follow-up uses: the same check of the same sample is one cache entry
        requests.append(Request(messages=msgs, model=model, params=scrub_params(dict(template.params)),
                                seed=s.get("seed") or 0, meta=sid, secrets=secrets))

    def store(result) -> None:
        sid = result.request.meta
        if not result.ok:
            out.failed[sid] = result.error or "failed"
            return
        followups = dict(session.get(sid).get("followups") or {})
        followups[FOLLOWUP] = followup_result(
            output=result.output, parsed=result.parsed, model=model, template_version=template.version,
            tokens_in=result.tokens_in, tokens_out=result.tokens_out, cost=result.cost, cached=result.cached,
            at=time.time())
        verdict = followups[FOLLOWUP]["verdict"]
        session.update_sample(sid, followups=followups)
        out.verified += 1
        out.verdicts[verdict] = out.verdicts.get(verdict, 0) + 1
        if on_result is not None:
            on_result(sid, verdict)

    run_requests(requests, cache_dir=cache_dir, api_base=api_base, concurrency=concurrency, on_result=store,
                 **(engine_options or {}))
    return out
