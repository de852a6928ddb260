"""Datasets from a session, as a pipeline (plan.py): select, clean, deduplicate, pair, redact, split, write, card.

    plan = plan_export(session, ExportOptions(format="sft", parquet=True))   # counts, preview, removals
    report = write_export(plan, "out/", force=False)                         # files, all or nothing

`plan_records(records, options)` does the same over plain sample-record dicts. Names load on first
use, so `studio.export.formats` (the CLI's and the TUI's list of formats) stays free of numpy.
"""

from importlib import import_module

_WHERE = {
    "ExportError": "errors", "ExistingExport": "errors",
    "FORMATS": "formats", "Format": "formats", "Pair": "formats",
    "ExportOptions": "options", "ExportPlan": "plan", "Removal": "plan", "plan_export": "plan", "plan_records": "plan",
    "ExportReport": "writer", "write_export": "writer",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"studio.export.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'studio.export' has no attribute {name!r}")
