"""The one place the TUI calls the export API (studio.export: plan_export + write_export)."""

from __future__ import annotations

from typing import Any


def formats() -> list[tuple[str, str]]:
    """(name, description) of every export format."""
    from studio.export import FORMATS

    return [(name, getattr(fmt, "summary", "")) for name, fmt in FORMATS.items()]


def export(session: Any, fmt: str, folder: str, filters: dict | None = None, *, force: bool = False) -> str:
    """Export with the format's default statuses, narrowed by the stream's tag/version filter; a summary."""
    from studio.export import ExportOptions, plan_export, write_export

    filters = filters or {}
    options = ExportOptions(format=fmt, tags=(filters["tag"],) if filters.get("tag") else (),
                            versions=(filters["version"],) if filters.get("version") else ())
    plan = plan_export(session, options)
    report = write_export(plan, folder, force=force)
    rows = ", ".join(f"{k} {v:,}" for k, v in report.rows.items())
    removed = sum(report.removed.values())
    return f"wrote {rows} to {report.out}" + (f" ({removed:,} removed)" if removed else "")
