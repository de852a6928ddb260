"""Datasets from a session: select, deduplicate, split, format, and write with a dataset card.

    plan = plan_export(session, ExportOptions(format="sft", parquet=True))   # counts, preview, removals
    report = write_export(plan, "out/", force=False)                         # files, all or nothing

`plan_records(records, options)` does the same over plain sample-record dicts.
"""

from studio.export.errors import ExportError
from studio.export.formats import FORMATS, Format, Pair
from studio.export.plan import ExportOptions, ExportPlan, Removal, plan_export, plan_records
from studio.export.writer import ExportReport, write_export

__all__ = ["FORMATS", "ExportError", "ExportOptions", "ExportPlan", "ExportReport", "Format", "Pair", "Removal",
           "plan_export", "plan_records", "write_export"]
