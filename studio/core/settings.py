"""Every setting the studio reads from the environment, in one place (README "Settings" lists them).

`settings()` reads the environment each time it is called (a few dict lookups), so a changed variable
(a test's monkeypatch, a parent process) is seen; nothing else in the package reads `STUDIO_*` variables.
Provider keys (OPENAI_API_KEY, ...) are litellm's and are never read or stored here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

# name -> what it sets (README's table is checked against this by tests/core/test_settings.py)
VARIABLES = {
    "STUDIO_HOME": "the workspace folder (templates/ and sessions/); default: the current folder",
    "STUDIO_MODEL": "the model used when neither the command nor the session names one",
    "STUDIO_MODELS": "comma-separated models offered first in the TUI's generate dialog",
    "STUDIO_ENGINE_PATH": "`litellm` sends every call through litellm (default: the fast path for "
                          "OpenAI-compatible providers)",
    "STUDIO_LOCAL_THREADS": "CPU threads of the embedded model (default: half the cores)",
    "STUDIO_BATCH_POLL": "seconds between looks at a pending provider batch (default 30)",
}


@dataclass(frozen=True)
class Settings:
    """Every `STUDIO_*` setting, read once from the environment by `settings()` (README, Settings)."""

    home: Path | None            # STUDIO_HOME, expanded; None: the current folder
    model: str                   # STUDIO_MODEL, stripped; "" when unset
    models: tuple[str, ...]      # STUDIO_MODELS, split at commas, blanks dropped
    engine_path: str             # STUDIO_ENGINE_PATH: "litellm" or "" (the fast path where it applies)
    local_threads: int | None    # STUDIO_LOCAL_THREADS; None: the engine's default
    batch_poll: float = 30.0     # STUDIO_BATCH_POLL in seconds (at least 0.01; unreadable: 30)


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from `env` (default: os.environ). Raises StudioError for a value that cannot be used."""
    if env is None:
        env = os.environ
    home = env.get("STUDIO_HOME", "").strip()
    threads = env.get("STUDIO_LOCAL_THREADS", "").strip()
    if threads and not (threads.isdigit() and int(threads) > 0):
        from studio.core.errors import StudioError

        raise StudioError(f"STUDIO_LOCAL_THREADS={threads!r} is not a positive whole number",
                          hint="set it to a number of CPU threads, e.g. 4, or unset it")
    return Settings(
        home=Path(home).expanduser() if home else None,
        model=env.get("STUDIO_MODEL", "").strip(),
        models=tuple(m.strip() for m in env.get("STUDIO_MODELS", "").split(",") if m.strip()),
        engine_path=env.get("STUDIO_ENGINE_PATH", "").strip().lower(),
        local_threads=int(threads) if threads else None,
        batch_poll=_seconds(env.get("STUDIO_BATCH_POLL", ""), 30.0),
    )


def _seconds(text: str, default: float) -> float:
    try:
        return max(0.01, float(text)) if text.strip() else default
    except ValueError:
        return default
