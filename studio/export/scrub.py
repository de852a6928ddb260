"""Stage 5, redact: keep credentials out of exports: drop secret-named parameters and redact key-shaped text.

Sessions already drop secret parameters when samples are saved; exports check again because a
session may come from an older build, a copy, or a hand edit, and a leaked key cannot be recalled.
"""

from __future__ import annotations

import os
import re
from typing import Any

import orjson

from studio.core.bulk import held_json
from studio.core.record import KEY_SHAPE
from studio.export.lines import Lines
from studio.core.record import scrub_params  # noqa: F401 - re-exported: the export's params scrubbing

REDACTED = "[redacted]"

_KEY_SHAPE = KEY_SHAPE  # the one pattern, shared with the store (core/record.py)
_KEY_SHAPE_BYTES = re.compile(_KEY_SHAPE.pattern.encode())
# Starts of those shapes, each a fast scan (`in`; the GitHub ones as one regex with a literal prefix,
# faster than five `in`s); the full regex only runs after a hit.
_KEY_STARTS = (b"sk-", b"AKIA", b"hf_", b"xox", b"Bearer")
_GITHUB_START = re.compile(rb"gh[pousr]_")
_ENV_SECRET = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIALS?)($|_)", re.I)


def env_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Values of secret-named environment variables (8+ characters), longest first."""
    env = os.environ if environ is None else environ
    vals = {v for k, v in env.items() if _ENV_SECRET.search(k) and isinstance(v, str) and len(v) >= 8}
    return sorted(vals, key=lambda v: (-len(v), v))


class Redactor:
    """Finds and replaces key-shaped text and known secret values in serialized export text."""

    def __init__(self, secrets: list[str] | None = None):
        self.secrets = env_secrets() if secrets is None else [s for s in secrets if len(s) >= 8]

    def needed(self, data: bytes) -> bool:
        """One pass over a whole serialized batch: almost always False, so the fix-up rarely runs."""
        return self.has_secret(data) or self.has_key_shape(data)

    def has_secret(self, data: bytes) -> bool:
        """True when `data` contains one of the known secret values (from the environment or given)."""
        return any(s.encode() in data for s in self.secrets)

    def has_key_shape(self, data: bytes) -> bool:
        """True when `data` contains something shaped like an API key (known prefixes, GitHub tokens)."""
        return ((any(k in data for k in _KEY_STARTS) or _GITHUB_START.search(data) is not None)
                and _KEY_SHAPE_BYTES.search(data) is not None)

    def text(self, s: str) -> str:
        """`s` with known secret values and key-shaped strings replaced by [redacted]."""
        for secret in self.secrets:
            if secret in s:
                s = s.replace(secret, REDACTED)
        return _KEY_SHAPE.sub(REDACTED, s)

    def value(self, v: Any) -> Any:
        """The same value with every string inside it redacted."""
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        return v


def run(lines: Lines, scan: list[bytes], redactor: Redactor | None = None) -> None:
    """The redact stage: rewrite (in place) the rows that hold a secret, after one quick look over all of them.

    Secret values from the environment are looked for in every line (a scan of the lines' files); key-shaped
    text (sk-..., AKIA...) in `scan`: the fields but the model's output that may hold one (prompts, and for
    `raw` the parameters, errors, notes...; one bytes per part the clean stage prepared). A model cannot invent
    our key unless the prompt or the environment carried it, and answers about APIs are full of key-shaped
    examples.
    """
    if not len(lines):
        return
    redactor = redactor or Redactor()
    secrets = [x.encode() for x in redactor.secrets]
    hit = any(redactor.has_key_shape(s) for s in scan) or (bool(secrets) and lines.holds_any(secrets))
    if hit:
        for i, line in enumerate(lines):
            if redactor.needed(line):
                lines.replace(i, held_json(redactor.value(orjson.loads(line))))
