"""Export errors: each names the path or option that is wrong and says what to do."""

from __future__ import annotations

from studio.core.errors import StudioError


class ExportError(StudioError):
    """An export that cannot be planned or written (bad option, bad path, nothing to export)."""


class ExistingExport(ExportError):
    """The folder already holds an export and replacing it was not asked for (`--force`)."""
