"""write_export: put a plan on disk, all or nothing.

Each file is written to a temporary name in the target folder and renamed into place, so a
crash, a full disk or a refused permission never leaves a half-written dataset. Existing export
files are only replaced with force=True; a file name that is a symbolic link is refused (it
would write outside the folder the person pointed at).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from itertools import islice
from typing import Any, BinaryIO, Iterable

from studio.export.errors import ExistingExport, ExportError
from studio.core.bulk import gc_paused
from studio.export.lines import RowsDigest
from studio.export.plan import SPLITS, ExportPlan

# Every name an export can write: with force, stale ones from an earlier export are removed too.
EXPORT_NAMES = tuple(f"{s}.{x}" for s in SPLITS for x in ("jsonl", "parquet")) + ("README.md",)


@dataclass
class ExportReport:
    """What `write_export` wrote: the folder, the files, rows per split {train, validation}, removed counts by
    reason, total bytes written, and the older files `--force` replaced."""

    out: Path
    files: list[Path]
    rows: dict[str, int]
    removed: dict[str, int]
    bytes: int = 0
    replaced: list[Path] = field(default_factory=list)


def write_export(plan: ExportPlan, out: str | Path, *, force: bool = False) -> ExportReport:
    """Write the plan's data files and README.md into the folder `out` (created if missing)."""
    with gc_paused():
        return _write(plan, out, force)


def _write(plan: ExportPlan, out: str | Path, force: bool) -> ExportReport:
    counts = plan.counts()
    if not len(plan.lines):
        raise ExportError("nothing to export: no sample is left after selection and deduplication",
                          hint=plan.why_empty())
    folder = _prepare(Path(out).expanduser())
    names = plan.files()
    existing = [folder / n for n in EXPORT_NAMES if os.path.lexists(folder / n)]
    for p in existing:
        if p.is_symlink():
            raise ExportError(f"{p.name} is a symbolic link to {os.readlink(p)}", path=p,
                              hint="writing through it would land outside the folder you chose; "
                                   "remove the link or choose another folder")
    card = folder / "README.md"
    if card in existing and not _is_our_card(card):
        raise ExportError("the folder has a README.md that is not a dataset card from studio export", path=card,
                          hint="export into a folder of its own (e.g. --out datasets/NAME); "
                               "--force never replaces a README.md it did not write",
                          hints={"tui": "give 'folder' a folder of its own; replacing an earlier export never "
                                        "replaces a README.md it did not write"})
    if existing and not force:
        raise ExistingExport(f"the folder already holds an export ({', '.join(p.name for p in existing)})",
                             path=folder, hint="add --force to replace it, or choose another folder",
                             hints={"tui": "tick 'replace an earlier export' to replace it, or choose another folder"})
    temps = [(folder / f".{name}.tmp-{os.getpid()}", folder / name) for name in names]
    total = 0
    try:
        for tmp, _ in temps:
            _unlink_quiet(tmp)                    # a leftover of a killed export with our pid
        data = {target.stem: tmp for tmp, target in temps if target.name != "README.md"}
        (_write_parquet if plan.options.parquet else _write_jsonl)(plan, data)   # one pass over the rows
        for tmp, target in temps:
            if target.name == "README.md":
                with open(tmp, "xb") as fh:
                    fh.write(plan.card.encode())
            total += tmp.stat().st_size
        for tmp, target in temps:
            os.replace(tmp, target)
        for p in existing:
            if p.name not in names:               # stale files of an earlier export (force only)
                p.unlink()
    except BaseException as exc:
        for tmp, _ in temps:
            _unlink_quiet(tmp)
        if isinstance(exc, OSError):
            raise _os_error(exc, folder) from None
        raise
    return ExportReport(folder, [folder / n for n in names], counts, plan.removed_counts(), total,
                        list(existing))


def _is_our_card(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        return head.startswith(b"---\nlicense:") and b"- template-studio\n" in head
    except OSError:
        return False


def _prepare(folder: Path) -> Path:
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file, not a folder", path=folder,
                          hint="give --out a folder: the export writes train/validation files and README.md into it",
                          hints={"tui": "give 'folder' a folder: the export writes train/validation files and "
                                        "README.md into it"})
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(exc, folder) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to {folder}: permission denied", path=folder,
                          hint="choose a folder you can write to")
    return folder


_BATCH = 256                 # lines per writev call (two buffers each, under every system's IOV_MAX)


def _write_lines(fh: BinaryIO, lines: Iterable[bytes]) -> None:
    """Each line and a newline, gathered by writev in batches as they are read: no joined copy, and never all
    lines in memory at once."""
    if not hasattr(os, "writev"):
        for line in lines:
            fh.write(line + b"\n")
        return
    fh.flush()
    fd, nl = fh.fileno(), b"\n"
    it = iter(lines)
    while True:
        parts = [x for line in islice(it, _BATCH) for x in (line, nl)]
        if not parts:
            return
        done, want = os.writev(fd, parts), sum(map(len, parts))
        rest = b"".join(parts)[done:] if done < want else b""      # a short write: the rest, slowly
        while rest:
            rest = rest[os.write(fd, rest):]


def _write_jsonl(plan: ExportPlan, files: dict[str, Path]) -> None:
    """Each split's lines into its file, in one pass over the rows in row order (each row read once), hashing
    them for the card as they go (plan.rows_digest)."""
    handles = {split: open(path, "xb") for split, path in files.items()}
    try:
        digest = RowsDigest(plan.suffix)
        pending: dict[str, list[bytes]] = {split: [] for split in handles}
        for split, line in zip(plan.splits, plan.lines):
            digest.add(split, line)
            batch = pending[split]
            batch.append(line)
            if len(batch) >= _BATCH:
                _write_lines(handles[split], batch)
                batch.clear()
        for split, batch in pending.items():
            _write_lines(handles[split], batch)
        plan.rows_digest = digest.name()
    finally:
        for fh in handles.values():
            fh.close()


_PARQUET_ROWS = 100_000      # rows per Arrow batch: a million-row split is never one table in memory


def _write_parquet(plan: ExportPlan, files: dict[str, Path]) -> None:
    """Parquet through Arrow's JSON reader with the format's schema: fast, and one type per column. One pass
    over the rows in row order (hashed for the card as they go), each split written a batch of rows at a
    time (one row group each), so a million-row split is never one table in memory."""
    schema = plan.format.schema()
    writers: dict[str, Any] = {}
    handles = {split: open(path, "xb") for split, path in files.items()}
    try:
        digest = RowsDigest(plan.suffix)
        pending: dict[str, list[bytes]] = {split: [] for split in handles}
        for split, line in zip(plan.splits, plan.lines):
            digest.add(split, line)
            batch = pending[split]
            batch.append(line)
            if len(batch) >= _PARQUET_ROWS:
                _parquet_batch(batch, schema, split, writers, handles)
                batch.clear()
        for split, batch in pending.items():
            if batch:
                _parquet_batch(batch, schema, split, writers, handles)
        for w in writers.values():
            w.close()
        writers.clear()
        plan.rows_digest = digest.name()
    finally:
        for w in writers.values():
            w.close()
        for fh in handles.values():
            fh.close()


def _parquet_batch(lines: list[bytes], schema, split: str, writers: dict, handles: dict) -> None:
    import io

    import pyarrow.json as pj
    import pyarrow.parquet as pq

    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    table = pj.read_json(io.BytesIO(b"\n".join(lines)), parse_options=options)
    table = table.select(schema.names).cast(schema)
    if split not in writers:
        writers[split] = pq.ParquetWriter(handles[split], table.schema, compression="zstd")
    writers[split].write_table(table)


def _os_error(exc: OSError, folder: Path) -> ExportError:
    where = Path(exc.filename).name if exc.filename and Path(exc.filename).parent == folder else "the folder"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ExportError(f"cannot write to {where}: {exc.strerror}", path=folder,
                           hint="choose a folder you can write to; nothing was written")
    if exc.errno == errno.ENOSPC:
        return ExportError(f"the disk is full while writing {where}", path=folder,
                           hint="free some space or choose another disk; nothing was written")
    return ExportError(f"cannot write the export to {where}: {exc.strerror or exc}", path=folder,
                       hint="check the path; nothing was written")


def _unlink_quiet(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass
