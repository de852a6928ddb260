"""Stage 1, select: which samples an export reads, and what the whole session holds (the census).

From a store session the indexes choose the ids (nothing is read yet: the clean stage reads them, in two
processes when it pays); from plain records the filters run here. A filter naming something the session
never had is a typo and an error, raised before any sample is read. Judged samples (preference formats)
join the selection whatever their status, unless failed or flagged.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from studio.export.errors import ExportError
from studio.export.options import ExportOptions


@dataclass
class Census:
    """What the whole session holds, for the typo checks and the card's tag statistics."""

    scanned: int = 0
    templates: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    tags: Counter = field(default_factory=Counter)
    tag_rejected: Counter = field(default_factory=Counter)


@dataclass
class Selection:
    """The selected samples: either `records` (in id order, plain records) or `ids` with `read(ids)` to read
    them (a store session); and what the next stages need from the session."""

    census: Census
    records: list[dict] | None = None
    ids: list[int] = field(default_factory=list)
    read: Callable[[list[int]], Iterable[dict]] | None = None
    judgements: list[dict] = field(default_factory=list)
    session: str = ""
    meta: dict = field(default_factory=dict)
    versions: list[dict] = field(default_factory=list)


def from_records(records: Iterable[dict], options: ExportOptions, *, census: Census | None = None) -> Selection:
    """Select from sample records. Without `census`, `records` must be every sample of the session (the census
    is counted from them); with it, `records` may be just the matching samples. Raises ExportError for a
    template, version or tag the session never had."""
    counting = census is None
    census = census or Census()
    chosen = sorted(_select(records, options, census, counting), key=_int_id)
    check(options, census.templates, census.versions, census.tags)
    return Selection(census, records=chosen)


def from_session(session, options: ExportOptions, *, paired: bool) -> Selection:
    """Select from a store session (studio.store.Session) by its indexes: the same choice `from_records` makes.
    Raises ExportError (as from_records) before any sample is read."""
    counts = session.counts()
    census = Census(sum(counts["status"].values()), {t for t, _ in counts["versions"]},
                    {v for _, v in counts["versions"]}, Counter(counts["tags"]),
                    Counter({t: session.count(status="rejected", tag=t) for t in counts["tags"]}))
    check(options, census.templates, census.versions, census.tags,     # before reading anything
          _shown_versions(session, census.versions) if options.versions else None)
    filters: dict[str, list[str]] = {"status": list(options.status_set)}
    if options.templates:
        filters["template"] = list(options.templates)
    if options.versions:
        filters["version"] = sorted(v for v in census.versions if matches_version(v, options.versions))
    if options.tags:
        filters["tag"] = list(options.tags)
    if options.flags:
        filters["flag"] = list(options.flags)
    ids = session.ids(**filters)
    judgements = session.judgements() if paired else []
    if judgements:  # judged samples are used as they are, whatever their status (not failed or flagged)
        others = {k: v for k, v in filters.items() if k != "status"}
        judged = {int(j[k]) for j in judgements for k in ("chosen", "rejected")}
        usable = set(session.ids(**others, status=["pending", "accepted", "rejected"], flag=""))
        ids = sorted(set(ids) | (judged & usable))
    meta = dict(session.meta or {})
    return Selection(census, ids=ids, read=session.samples, judgements=judgements,
                     session=str(meta.get("name") or session.name), meta=meta, versions=session.template_versions())


def with_version_names(session, options: ExportOptions) -> ExportOptions:
    """`options` with each version given by its name (`v2`, as every other command takes it) replaced by the
    hashes of the versions so named (of the chosen templates, when some are); hash prefixes stay as given."""
    if not options.versions:
        return options
    labels = session.version_labels()         # {(template, hash): "v2"}
    out: list[str] = []
    for wanted in options.versions:
        named = [v for (t, v), label in labels.items() if label and label.lower() == wanted.lower()
                 and (not options.templates or t in options.templates)]
        out.extend(named or [wanted])
    return dataclasses.replace(options, versions=tuple(dict.fromkeys(out)))


def _shown_versions(session, versions: set[str]) -> list[str]:
    """The session's versions as people see them: `support-madlib v1 4ecb5d`."""
    labels = session.version_labels()
    shown = [f"{t} {label} {v[:6]}".replace("  ", " ") for (t, v), label in labels.items() if v in versions]
    named = {v for (_t, v) in labels}
    return shown + sorted(v[:6] for v in versions if v not in named)


def matches_version(v: str, wanted: tuple[str, ...]) -> bool:
    """True when version `v` is one of `wanted`, or starts with one of 4+ characters."""
    return any(v == w or (len(w) >= 4 and v.startswith(w)) for w in wanted)


def check(options: ExportOptions, templates: set[str], versions: set[str], tags: Counter,
          shown_versions: list[str] | None = None) -> None:
    """A filter naming something the session never had is a typo: say so (ExportError) instead of exporting
    nothing. `shown_versions`: the versions as the hint lists them (default: their hashes)."""
    for t in options.templates:
        if t not in templates:
            raise ExportError(f"the session has no samples of template {t!r}",
                              hint=f"templates here: {', '.join(sorted(templates)) or '(none)'}")
    for v in options.versions:
        if not any(matches_version(x, (v,)) for x in versions):
            raise ExportError(f"the session has no samples of template version {v!r}",
                              hint="versions here (give a name such as v1, or 4+ characters of a hash): "
                                   f"{', '.join(shown_versions if shown_versions is not None else sorted(versions)) or '(none)'}")
    for tag in options.tags:
        if tag not in tags:
            raise ExportError(f"no sample in the session has the tag {tag!r}",
                              hint=f"tags here: {', '.join(sorted(tags)) or '(none)'}")


def _int_id(rec: dict) -> int:
    sid = rec.get("id")
    return sid if type(sid) is int else int(sid or 0)


def _select(records: Iterable[dict], options: ExportOptions, census: Census, counting: bool) -> Iterator[dict]:
    """The records matching the options; with `counting`, the census is counted from all of them."""
    statuses = set(options.status_set)
    tags, templates = set(options.tags), set(options.templates)
    seen_tags, tag_rejected = census.tags, census.tag_rejected
    seen_templates, seen_versions = census.templates, census.versions
    versions_wanted = options.versions
    scanned = 0
    for rec in records:                   # kept lean: it may see every sample of the session
        scanned += 1
        rtags = rec.get("tags")
        status = rec.get("status")
        t = rec.get("template") or ""
        v = rec.get("template_version") or ""
        if counting:
            if rtags:
                for tag in rtags:
                    seen_tags[tag] += 1
                    if status == "rejected":
                        tag_rejected[tag] += 1
            seen_templates.add(t)
            seen_versions.add(v)
        if status not in statuses:
            continue
        if templates and t not in templates:
            continue
        if versions_wanted and not matches_version(v, versions_wanted):
            continue
        if tags and not (rtags and tags.intersection(rtags)):
            continue
        yield rec
    if counting:
        census.scanned = scanned
