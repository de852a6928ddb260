"""ExportOptions: what to export and how, checked before anything is read (every stage reads them)."""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.record import FLAGS, STATUSES
from studio.export.errors import ExportError
from studio.export.formats import FORMATS, Format


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how. `statuses=None` means the format's default (see FORMATS)."""

    format: str = "openai-chat"
    statuses: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()             # keep samples with any of these tags
    templates: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()         # template versions (a 4+ character prefix is enough)
    dedup: bool = True                     # exact duplicate removal (and near, below 1.0)
    dedup_threshold: float = 0.9           # near duplicates: estimated Jaccard of 5-word shingles
    val_fraction: float = 0.1
    seed: int = 0
    parquet: bool = False
    licence: str = "unknown"
    include_flagged: bool = False          # keep flagged samples (cut-off, filtered, refusal) too
    flags: tuple[str, ...] = ()            # only samples with any of these flags (and keep them)

    def check(self) -> Format:
        """Validate the options before any reading and return the chosen Format. Raises ExportError for an
        unknown format, status or flag, a dedup threshold or validation fraction out of range, or a licence
        that is empty or spans lines."""
        fmt = FORMATS.get(self.format)
        if fmt is None:
            raise ExportError(f"unknown export format {self.format!r}", hint=f"use one of: {', '.join(FORMATS)}")
        for s in self.statuses or ():
            if s not in STATUSES:
                raise ExportError(f"unknown status {s!r}", hint=f"use one of: {', '.join(STATUSES)}")
        if not 0 < self.dedup_threshold <= 1:
            raise ExportError(f"dedup threshold {self.dedup_threshold} is out of range",
                              hint="give a similarity above 0 and up to 1 (1 keeps near duplicates)")
        if not 0 <= self.val_fraction < 1:
            raise ExportError(f"validation fraction {self.val_fraction} is out of range",
                              hint="give a fraction from 0 (no validation split) to below 1, e.g. 0.1")
        for f in self.flags:
            if f not in FLAGS:
                raise ExportError(f"unknown flag {f!r}", hint=f"use one of: {', '.join(FLAGS)}")
        if not self.licence.strip() or "\n" in self.licence:
            raise ExportError("the licence is empty or spans lines", hint="give one identifier, e.g. cc-by-4.0")
        return fmt

    @property
    def status_set(self) -> tuple[str, ...]:
        """The statuses selected: the ones given, else the format's default (accepted; accepted and rejected for
        the preference formats and kto)."""
        return tuple(self.statuses) if self.statuses else FORMATS[self.format].statuses
