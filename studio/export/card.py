"""Stage 8, card: the dataset card (README.md beside the data files): what is in the export and where it came from.

The front matter follows the Hugging Face dataset card, so `load_dataset(folder)` finds the splits.
Only dates from the session appear (sample and session creation), never the time of the export,
so the same session and seed give the same card.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Protocol, Sequence

from studio.export.lines import RowsDigest


class CardSource(Protocol):
    """What the card reads from an export plan (studio.export.plan.ExportPlan has it). A protocol rather than
    an import, so plan.py (whose ExportPlan.card calls dataset_card) and this module do not import each other."""

    options: Any
    format: Any
    session: str
    scanned: int
    selected: int
    stats: dict
    templates: Sequence[str]
    versions: Sequence[str]
    splits: Sequence[str]
    lines: Sequence[bytes]

    @property
    def suffix(self) -> str: ...
    def counts(self) -> dict[str, int]: ...
    def files(self) -> list[str]: ...
    def removed_counts(self) -> dict[str, int]: ...


def _date(v) -> str:
    if isinstance(v, (int, float)):
        return datetime.fromtimestamp(v, tz=timezone.utc).strftime("%Y-%m-%d")
    return str(v)[:10] if v else "unknown"


def _cell(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def rows_config_name(plan: CardSource) -> str:
    """`rows-` and 12 hex of a hash of every row and its split, in the order written (the writer's, when it
    has written the rows: `rows_digest`)."""
    known = getattr(plan, "rows_digest", None)
    if known:
        return known
    digest = RowsDigest(plan.suffix)
    for split, line in zip(plan.splits, plan.lines):
        digest.add(split, line)
    return digest.name()


def dataset_card(plan: CardSource, meta: dict, versions: list[dict]) -> str:
    """The card's markdown text for `plan`; `meta` is the session's meta (its `created` date), `versions`
    the session's saved template versions ({name, version, saved}). Same plan and seed -> same text."""
    o, fmt, counts = plan.options, plan.format, plan.counts()
    files = [f for f in plan.files() if f != "README.md"]
    q = json.dumps
    # The config's name carries a hash of the rows: the datasets library keys its cache on the card's
    # configs (not on the files' contents), so `load_dataset(DIR)` after `--force` into the same folder, or
    # of another folder with the same name, would otherwise return the rows it cached before.
    lines = ["---", f"license: {q(o.licence)}", "configs:", f"- config_name: {q(rows_config_name(plan))}",
             "  default: true", "  data_files:"]
    for f in files:
        lines += [f"  - split: {f.split('.')[0]}", f"    path: {q(f)}"]
    lines += ["tags:", "- template-studio", f"- {fmt.name}", "---", ""]
    title = plan.session or "session"
    lines += [f"# {title}: {fmt.name} export", "",
              f"{fmt.summary}. For: {fmt.trainers}.", "",
              f"- Licence: {o.licence}",
              f"- Rows: {counts['train']} train, {counts['validation']} validation "
              f"(seed {o.seed}, validation fraction {o.val_fraction}, stratified by template)",
              f"- Session: {title}, created {_date(meta.get('created'))}; {plan.scanned} samples, "
              f"{plan.selected} selected",
              f"- Selection: status {', '.join(o.status_set)}"
              + (f"; tags {', '.join(o.tags)}" if o.tags else "")
              + (f"; templates {', '.join(o.templates)}" if o.templates else "")
              + (f"; versions {', '.join(o.versions)}" if o.versions else ""),
              "- Deduplication: " + ("off" if not o.dedup else "exact" + (
                  f" and near (MinHash over 5-word shingles, similarity >= {o.dedup_threshold})"
                  if o.dedup_threshold < 1 else " only"))]
    created = plan.stats.get("created")
    if created:
        lines.append(f"- Samples created: {_date(created[0])} to {_date(created[1])}")
    if plan.stats.get("cost") is not None:
        lines.append(f"- Generation cost of exported samples: ${plan.stats['cost']:.4f} "
                     f"(known for {plan.stats['cost_known']} of {plan.stats['samples']})")
    if "pair_sources" in plan.stats:
        src = ", ".join(f"{n} from {k}" for k, n in plan.stats["pair_sources"].items()) or "none"
        lines.append(f"- Pairs: {src} (decisions: accepted vs rejected answers to the same prompt; "
                     "contrast: structured samples holding both sides)")
    lines += ["", "## Templates", "", "| template | version | train | validation |", "|---|---|---|---|"]
    per: dict[tuple[str, str], dict[str, int]] = {}
    for (t, v, s), n in Counter(zip(plan.templates, plan.versions, plan.splits)).items():
        per.setdefault((t, v), {"train": 0, "validation": 0})[s] += n
    for (t, v), c in sorted(per.items()):
        lines.append(f"| {_cell(t)} | {_cell(v or 'several')} | {c['train']} | {c['validation']} |")
    saved = {(d.get("name"), d.get("version")): d for d in versions}
    used = sorted(k for k in per if k in saved)
    if used:
        lines += ["", "Template versions (when saved in the session):", ""]
        lines += [f"- {t} {v}: saved {_date(saved[(t, v)].get('saved'))}" for t, v in used]
    lines += ["", "## Models", "", "| model | samples |", "|---|---|"]
    lines += [f"| {_cell(m or 'unknown')} | {n} |" for m, n in plan.stats.get("models", {}).items()]
    lines += ["", "## Removed", ""]
    rc = plan.removed_counts()
    if rc:
        lines += ["| reason | samples |", "|---|---|"] + [f"| {r} | {n} |" for r, n in rc.items()]
    else:
        lines.append("Nothing was removed.")
    lines += ["", "## Failure tags", ""]
    tags = plan.stats.get("tags", {})
    if tags:
        lines += ["| tag | in session | on rejected | on exported |", "|---|---|---|---|"]
        lines += [f"| {_cell(t)} | {c['session']} | {c['rejected']} | {c['exported']} |" for t, c in tags.items()]
    else:
        lines.append("No sample in the session is tagged.")
    lines += ["", "## Loading", "", "```python", "from datasets import load_dataset",
              f"ds = load_dataset({q(plan.suffix if plan.suffix == 'parquet' else 'json')}, data_files={{"
              + ", ".join(f"{q(f.split('.')[0])}: {q(f)}" for f in files) + "})", "```", "",
              "Made with Template Studio (`studio export`).", ""]
    return "\n".join(lines)
