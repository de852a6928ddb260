"""Which model to use when none is named: session, STUDIO_MODEL, the embedded model, or render."""

from __future__ import annotations


RENDER = "render"


def default_model(session_model: str | None = None) -> str:
    """The session's model, else $STUDIO_MODEL, else `local/smollm2` when installed, else `render`.
    A session that remembered `render` (a preview, before previews were kept out of its memory) has no model."""
    if session_model and session_model != RENDER:
        return session_model
    from studio.core.settings import settings

    env = settings().model
    if env:
        return env
    from studio.engine import local

    return local.MODEL if local.available() else RENDER


def describe_model(model: str) -> str:
    """A short label for the status bar: what will make the samples."""
    if model == RENDER:
        return "render (no model: the filled template is the sample)"
    if model.startswith("local/"):
        return f"{model} (embedded, offline, tiny — for trying the studio out)"
    return model
