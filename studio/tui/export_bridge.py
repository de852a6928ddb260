"""The one place the TUI calls the export API (studio.export, see docs/ARCHITECTURE.md "Export API")."""

from __future__ import annotations

from typing import Any

from studio.core.errors import StudioError


def formats() -> list[str]:
    try:
        from studio import export as ex

        names = list(getattr(ex, "FORMATS", None) or [])
    except ImportError:
        names = []
    return names or ["openai-chat"]


def export(session: Any, fmt: str, path: str) -> str:
    try:
        from studio import export as ex
    except ImportError:
        raise StudioError("export is not installed in this build", hint="update the studio package") from None
    fn = getattr(ex, "export_session", None)
    if fn is None:
        raise StudioError("export is not available yet", hint="use the CLI: studio export")
    result = fn(session, fmt, path)
    return str(result)
