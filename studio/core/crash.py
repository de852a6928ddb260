"""Crash reports: an unexpected error (a bug, not a user mistake) leaves a file a person can attach to a bug.

A report holds the traceback (files, lines, functions and their source lines), the exception's type and a
redacted message, where it happened, and the versions of Python, the studio and its main libraries. It
holds no local variables, no API keys (values of secret-named environment variables and key-shaped strings
are masked) and no sample text (quoted strings and long runs of words in messages are replaced by their
length). Reports go to the workspace's `sessions/.crash/`; the newest KEEP are kept.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path

KEEP = 20                                   # reports kept per workspace (the oldest are deleted)
MAX_MESSAGE = 300                           # characters of an exception message kept (after redaction)
PACKAGES = ("template-studio", "textual", "rich", "litellm", "tinydb", "jinja2", "orjson", "pyarrow")

_KEYISH = re.compile(
    r"\b(?:sk|pk|rk|gsk|xai|hf|ghp|gho|github_pat|AKIA|AIza)[-_A-Za-z0-9]{8,}"   # provider key prefixes
    r"|\bBearer\s+\S+"
    r"|\b[A-Za-z0-9+/_=-]{32,}",                                                 # any long token
    re.I)
_QUOTED = re.compile(r"""(?P<q>['"])(?P<body>(?:\\.|(?!(?P=q)).){13,}?)(?P=q)""", re.S)
_WORDS = re.compile(r"(?:[^\s:=,()\[\]{}'\"]+\s+){5,}[^\s:=,()\[\]{}'\"]+")  # six or more words in a row


def _secret_values() -> list[str]:
    """Values of environment variables whose name says they are secret (masked wherever they appear)."""
    from studio.core.record import is_secret_name

    return sorted((v for k, v in os.environ.items() if len(v) >= 6 and is_secret_name(k)), key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with secrets masked as [secret]/[key] and sample-like text replaced by `<text, N chars>`."""
    for value in _secret_values():
        text = text.replace(value, "[secret]")
    text = _KEYISH.sub("[key]", text)
    text = _QUOTED.sub(lambda m: f"{m['q']}<text, {len(m['body'])} chars>{m['q']}", text)
    text = _WORDS.sub(lambda m: f"<text, {len(m[0])} chars>", text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def versions() -> dict[str, str]:
    """Python, platform and installed package versions, read from metadata (nothing is imported)."""
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def format_report(exc: BaseException, where: str) -> str:
    """The report's text: header, versions, then each exception of the chain (cause first) with its frames."""
    lines = ["Template Studio crash report", f"where: {where}",
             f"when: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", ""]
    lines += [f"{k}: {v}" for k, v in versions().items()]
    chain: list[BaseException] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        chain.append(e)
        seen.add(id(e))
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    for i, e in enumerate(reversed(chain)):
        lines += ["", "Traceback (most recent call last):" if i == 0 else
                  "The above exception led to this one (most recent call last):"]
        frames = traceback.extract_tb(e.__traceback__)
        lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
        kind = type(e).__module__ + "." + type(e).__qualname__ if type(e).__module__ != "builtins" \
            else type(e).__qualname__
        lines.append(f"{kind}: {redact(str(e))}")
    return "\n".join(lines) + "\n"


def write_crash_report(folder: str | Path | None, exc: BaseException, *, where: str, keep: int = KEEP) -> Path:
    """Write a report for `exc` into `folder` (created), delete all but the newest `keep`; return its path.

    `where`: what was running (a command, a worker). Never raises: without a folder, or if it cannot be
    written, the report goes to `$TMPDIR/studio-crash/`."""
    name = time.strftime("crash-%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}.txt"
    text = format_report(exc, where)
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "studio-crash"
    for base in ([Path(folder)] if folder else []) + [tmp]:
        try:
            base.mkdir(parents=True, exist_ok=True)
            path = base / name
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        old = sorted(base.glob("crash-*.txt"), key=lambda p: p.name)[:-keep] if keep > 0 else []
        for p in old:
            try:
                p.unlink()
            except OSError:
                pass
        return path
    return tmp / name  # nowhere writable: the caller still names where it would have been
