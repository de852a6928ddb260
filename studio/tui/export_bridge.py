"""The one place the TUI calls the export API (studio.export: plan_export + write_export)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREVIEW_ROWS = 3
_CUT = 160                   # characters of a long text shown in the preview


def formats() -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, description, default statuses) of every export format."""
    from studio.export.formats import FORMATS

    return [(name, fmt.summary, fmt.statuses) for name, fmt in FORMATS.items()]


OUT, ALL = "out", "all"       # the flagged field: flagged samples left out (the default), or all kept


@dataclass(frozen=True)
class Form:
    """The dialog's fields as typed (text), before checking."""

    format: str
    statuses: str = ""                # comma-separated; empty: the format's default
    tags: str = ""
    templates: str = ""
    versions: str = ""
    val_fraction: str = "0.1"
    dedup_threshold: str = "0.9"
    seed: str = "0"
    licence: str = "unknown"
    parquet: bool = False
    flagged: str = OUT                # OUT, ALL, or one flag: only the samples with it (`--flag NAME`)


def flagged_choices() -> list[tuple[str, str]]:
    """(label, value) of the dialog's flagged field: what `studio export` does by default, with
    `--include-flagged`, and with `--flag NAME` for each flag (previews go to the raw format only)."""
    from studio.core.record import FLAGS

    return [("leave out", OUT), ("keep all", ALL)] + [(f"only {flag}", flag) for flag in FLAGS]


def options(form: Form):
    """ExportOptions from the form; ExportError (naming the field) if a field is wrong."""
    from studio.export import ExportError, ExportOptions
    from studio.export.plan import names

    def number(text: str, what: str, kind=float):
        try:
            return kind(text.strip())
        except ValueError:
            raise ExportError(f"{what} {text.strip()!r} is not a number",
                              hint=f"e.g. {'0' if kind is int else '0.1'}") from None

    opts = ExportOptions(
        format=form.format, statuses=names([form.statuses]) or None, tags=names([form.tags]),
        templates=names([form.templates]), versions=names([form.versions]),
        val_fraction=number(form.val_fraction, "validation fraction"),
        dedup_threshold=number(form.dedup_threshold, "near-duplicate similarity"),
        seed=number(form.seed, "seed", int), licence=form.licence.strip() or "unknown", parquet=form.parquet,
        include_flagged=form.flagged == ALL, flags=() if form.flagged in (OUT, ALL) else (form.flagged,))
    opts.check()
    return opts


def plan(session: Any, opts) -> Any:
    from studio.export import plan_export

    return plan_export(session, opts)


def preview(export_plan: Any, n: int = PREVIEW_ROWS) -> str:
    """The plan's counts and its first rows as they will be written (long texts cut)."""
    import orjson

    parts = list(export_plan.summary())         # its "flagged samples: N left out (...), M kept (...)" line
    out = export_plan.flagged_out
    if any(f != "preview" for f in out):
        parts.append("  (the flagged field keeps them: keep all, or only one flag)")
    if out.get("preview"):
        parts.append("  (previews, prompts with no answer, go to the raw format only)")
    if not export_plan.lines:
        return "\n".join(parts + [f"nothing to export: {export_plan.why_empty()}"])
    rows = export_plan.preview(n)
    parts.append(f"files: {', '.join(export_plan.files())}")
    parts.append(f"first {len(rows)} train rows, as written (long texts cut here):" if rows else "no train rows")
    parts += [orjson.dumps(_cut(row)).decode() for row in rows]
    return "\n".join(parts)


def write(export_plan: Any, folder: str, *, force: bool = False) -> str:
    """Write the plan into the folder; a one-line summary of what was written."""
    from studio.export import write_export

    report = write_export(export_plan, folder, force=force)
    rows = ", ".join(f"{k} {v:,}" for k, v in report.rows.items())
    removed = sum(report.removed.values())
    return f"wrote {rows} to {report.out}" + (f" ({removed:,} removed)" if removed else "")


def is_existing_export(exc: Exception) -> bool:
    from studio.export import ExistingExport

    return isinstance(exc, ExistingExport)


def _cut(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= _CUT else value[:_CUT] + f"… (+{len(value) - _CUT} characters)"
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    return value
