"""A fleet: one model served by several deployments (vLLM/SGLang servers, regions, keys), balanced on the
engine's fast path.

Given as `--api-base` more than once, or as a models file in litellm's own proxy `model_list` format (the
YAML the litellm proxy reads: model_name + litellm_params {model, api_base, api_key: os.environ/X, rpm, tpm,
max_parallel_requests}, and router_settings.routing_strategy), so people reuse their config. litellm's
Router balances only through `Router.acompletion`, the slow per-call path the engine avoids, so the format
and the strategy names are litellm's and the balancing is here: each deployment has its own concurrency
limit and rate-limit state; a request goes to the least busy one (or a capacity-weighted random one,
simple-shuffle); a deployment whose connections fail is set aside for a while and its requests go to the
others. The deployments of one model are one source for the request cache (the person declared their answers
interchangeable); each sample records the deployment that answered (`endpoint`).
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError

STRATEGIES = ("least-busy", "simple-shuffle", "latency-based-routing", "usage-based-routing")
DOWN_FOR = 2.0          # seconds a deployment whose connection failed is left out (doubling while it keeps failing)
DOWN_MAX = 30.0


@dataclass
class Deployment:
    """One server of a fleet. `api_key`: the value read from the environment (never stored or shown)."""

    model: str
    api_base: str | None
    api_key: str | None = field(default=None, repr=False)
    max_parallel: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    served: int = 0
    failed: int = 0
    down_until: float = 0.0
    down_for: float = 0.0
    latency: float = 0.0    # moving average of answered requests' latency (latency-based-routing)

    @property
    def label(self) -> str:
        """What the person sees and samples record: the api_base (never a key), else the model string."""
        return self.api_base or self.model


@dataclass
class Fleet:
    """The deployments of one model name and how requests are spread over them."""

    name: str
    deployments: list[Deployment]
    strategy: str = "least-busy"

    @property
    def identity(self) -> str:
        """The fleet's endpoint for the cache and the run's identity: every deployment's answers are one source."""
        return "fleet:" + "|".join(sorted(d.label for d in self.deployments))

    def labels(self) -> set[str]:
        """Every deployment's label (what samples record as `endpoint`)."""
        return {d.label for d in self.deployments}

    def pick(self, busy: dict[int, float]) -> Deployment:
        """The deployment for the next attempt; `busy`: {index: load (in flight + waiting) / capacity}.
        Deployments set aside (failing connections) are used only when every one is."""
        now = time.monotonic()
        up = [i for i, d in enumerate(self.deployments) if d.down_until <= now] or \
            [min(range(len(self.deployments)), key=lambda i: self.deployments[i].down_until)]
        if self.strategy == "simple-shuffle":
            free = [i for i in up if busy[i] < 1.0] or up
            weights = [self.deployments[i].max_parallel or 1 for i in free]
            return self.deployments[random.choices(free, weights)[0]]
        if self.strategy == "latency-based-routing":
            return self.deployments[min(up, key=lambda i: (busy[i] >= 1.0, self.deployments[i].latency, busy[i]))]
        return self.deployments[min(up, key=lambda i: (busy[i], i))]

    def failed_connection(self, d: Deployment) -> None:
        """Set a deployment whose connection failed aside for a while (longer while it keeps failing)."""
        d.failed += 1
        d.down_for = min(DOWN_MAX, d.down_for * 2 if d.down_for else DOWN_FOR)
        d.down_until = time.monotonic() + d.down_for

    def answered(self, d: Deployment, latency: float) -> None:
        """Count an answer and its latency; a deployment that answers is up again."""
        d.served += 1
        d.down_for = 0.0
        d.latency = latency if not d.latency else 0.8 * d.latency + 0.2 * latency


def from_bases(model: str, bases: list[str], strategy: str = "least-busy") -> Fleet:
    """`--api-base A --api-base B ...`: the same model on each server."""
    seen: list[str] = []
    for b in bases:
        if b not in seen:
            seen.append(b)
    return Fleet(model, [Deployment(model, b) for b in seen], strategy)


def _env_value(value: Any, where: str, path: str, line: int | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    if text.startswith("os.environ/"):
        name = text[len("os.environ/"):]
        got = os.environ.get(name)
        if got is None:
            raise StudioError(f"{where}: the environment variable {name} is not set", path=path, line=line or 0,
                              hint=f"export {name}=...")
        return got
    raise StudioError(f"{where}: a key written in the file", path=path, line=line or 0,
                      hint="write api_key: os.environ/NAME and export NAME (a key in a file ends up in places it "
                           "should not)")


def _entry_lines(text: str) -> list[dict[str, int]]:
    """Per model_list entry, the 1-based line of each key (`rpm`, `litellm_params.rpm`, ...); [] if unknown."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    out: list[dict[str, int]] = []
    for k, v in root.value:
        if k.value == "model_list" and isinstance(v, yaml.SequenceNode):
            for item in v.value:
                lines: dict[str, int] = {"": item.start_mark.line + 1}
                if isinstance(item, yaml.MappingNode):
                    for ik, iv in item.value:
                        lines[str(ik.value)] = ik.start_mark.line + 1
                        if isinstance(iv, yaml.MappingNode):
                            for jk, _jv in iv.value:
                                lines[f"{ik.value}.{jk.value}"] = jk.start_mark.line + 1
                out.append(lines)
    return out


_EXAMPLES = {"max_parallel_requests": 64, "rpm": 600, "tpm": 100000}


def load_model_list(path: str | Path, model: str | None = None, *, choose: bool = False
                    ) -> tuple[dict[str, Fleet], str]:
    """Read a litellm proxy config (model_list, router_settings.routing_strategy) -> ({model_name: Fleet},
    strategy). Mistakes are StudioErrors naming the file, the entry, the key and its line.

    With `choose`, only the fleet of `model` (else the first model_name) is built: a model_name that is not
    there is said first, and other entries' environment variables are not read."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise StudioError(f"cannot read the models file: {exc.strerror}", path=str(p),
                          hint="give a litellm proxy config (model_list: ...)") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise StudioError(f"the models file is not valid YAML: {getattr(exc, 'problem', exc)}", path=str(p),
                          line=None if line is None else line + 1, hint="fix the YAML") from None
    entries = data.get("model_list") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise StudioError("the models file has no model_list", path=str(p),
                          hint="write model_list: [{model_name: NAME, litellm_params: {model: ..., api_base: ...}}]")
    strategy = str(((data.get("router_settings") or {}).get("routing_strategy")) or "least-busy")
    if strategy not in STRATEGIES:
        raise StudioError(f"routing_strategy {strategy!r} is not one of {', '.join(STRATEGIES)}", path=str(p),
                          hint="least-busy is the default")
    if strategy == "usage-based-routing":
        strategy = "least-busy"
    marks = _entry_lines(text)
    names: list[str] = []
    for i, e in enumerate(entries):
        params = e.get("litellm_params") if isinstance(e, dict) else None
        name = e.get("model_name") if isinstance(e, dict) else None
        if not name or not isinstance(params, dict) or not params.get("model"):
            raise StudioError(f"model_list[{i}] needs model_name and litellm_params.model", path=str(p),
                              line=marks[i][""] if i < len(marks) else 0,
                              hint="model_name: NAME; litellm_params: {model: hosted_vllm/..., api_base: ...}")
        names.append(str(name))
    if choose:
        model = model or names[0]
        if model not in names:
            raise StudioError(f"no model_name {model!r}", path=str(p),
                              hint=f"models there: {', '.join(dict.fromkeys(names))}")
    fleets: dict[str, Fleet] = {}
    for i, e in enumerate(entries):
        if choose and names[i] != model:
            continue
        lines = marks[i] if i < len(marks) else {}
        where = f"model_list[{i}]"
        params, info = e["litellm_params"], e.get("model_info") or {}

        def number(key: str, params=params, info=info, lines=lines, where=where) -> int | None:
            at = "litellm_params" if params.get(key) is not None else "model_info"
            value = params.get(key) if at == "litellm_params" else (info.get(key) if isinstance(info, dict) else None)
            return _int(value, f"{where}.{at}.{key}", key, str(p), lines.get(f"{at}.{key}") or lines.get(at))

        d = Deployment(str(params["model"]), params.get("api_base"),
                       _env_value(params.get("api_key"), f"{where}.litellm_params.api_key", str(p),
                                  lines.get("litellm_params.api_key")),
                       number("max_parallel_requests"), number("rpm"), number("tpm"))
        fleets.setdefault(names[i], Fleet(names[i], [], strategy)).deployments.append(d)
    return fleets, strategy


def _int(value: Any, where: str, key: str = "max_parallel_requests", path: str | None = None,
         line: int | None = None) -> int | None:
    if value is None:
        return None
    example = _EXAMPLES.get(key, 64)
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        n = None
    else:
        try:
            n = int(value)
        except (TypeError, ValueError):
            n = None
    if n is None or n < 0:
        raise StudioError(f"{where}: {value!r} is not a whole number{' ≥ 0' if n is not None else ''}", path=path,
                          line=line or 0, hint=f"e.g. {key}: {example}")
    return n if n > 0 else None
