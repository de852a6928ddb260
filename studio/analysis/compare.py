"""Two versions of one template side by side: the text diff, their rates, and the same fills compared.

Samples pair up across versions by `fill_key` (the same slot values), so "the new version fixed 30
fills and broke 2" is measured on identical inputs, not on two different random draws. Render previews
(prompts with no answer) are left out: they are no version's answers.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable

from studio.analysis.attribution import Counts, analyse
from studio.analysis.stats import sign_test_greater


def text_diff(old_text: str, new_text: str, old_label: str = "old", new_label: str = "new") -> list[str]:
    """Unified diff lines (no trailing newlines), empty when the texts are equal."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        old_text.split("\n"), new_text.split("\n"), old_label, new_label, lineterm="")]


@dataclass
class Pairing:
    """Outcomes of the fills both versions produced, old status -> new status."""

    fills: int = 0  # fills present in both versions
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)

    def _count(self, old: set[str], new: set[str]) -> int:
        return sum(n for (a, b), n in self.transitions.items() if a in old and b in new)

    @property
    def improved(self) -> int:
        """Rejected or failed before, accepted now."""
        return self._count({"rejected", "failed"}, {"accepted"})

    @property
    def regressed(self) -> int:
        return self._count({"accepted"}, {"rejected", "failed"})

    @property
    def kept(self) -> int:
        return self._count({"accepted"}, {"accepted"})

    @property
    def still_failing(self) -> int:
        return self._count({"rejected", "failed"}, {"rejected", "failed"})

    @property
    def unreviewed(self) -> int:
        return self.fills - self.improved - self.regressed - self.kept - self.still_failing

    @property
    def p_better(self) -> float:
        """Sign test on the fills whose outcome changed: chance of this many improvements if no better."""
        return sign_test_greater(self.improved, self.regressed)

    def to_dict(self) -> dict:
        return {"fills": self.fills, "improved": self.improved, "regressed": self.regressed, "kept": self.kept,
                "still_failing": self.still_failing, "unreviewed": self.unreviewed, "p_better": self.p_better}


@dataclass
class VersionComparison:
    template: str
    old: str
    new: str
    diff: list[str]
    old_counts: Counts
    new_counts: Counts
    pairs: Pairing
    old_label: str = ""  # the versions' names (v1, v2, ...: studio.store.versions), "" when unnamed
    new_label: str = ""

    @property
    def tags(self) -> list[str]:
        return sorted(set(self.old_counts.tags) | set(self.new_counts.tags))

    def to_dict(self) -> dict:
        return {"template": self.template, "old": self.old, "new": self.new, "old_label": self.old_label,
                "new_label": self.new_label, "diff": self.diff,
                "old_counts": self.old_counts.to_dict(), "new_counts": self.new_counts.to_dict(),
                "pairs": self.pairs.to_dict()}


def compare_versions(samples: Iterable[dict], template: str, old: str, new: str,
                     old_text: str = "", new_text: str = "") -> VersionComparison:
    """Compare two versions of `template` over the samples (pass the texts for the diff)."""
    # render previews (the prompt, no answer) are not the version's answers: neither counted nor paired
    mine = [s for s in samples if s.get("template") == template and s.get("template_version") in (old, new)
            and s.get("flag") != "preview"]
    report = analyse(mine)
    versions = report.templates[0].versions if report.templates else {}
    # the latest sample per (version, fill) stands for that fill
    latest: dict[str, dict[str, dict]] = {old: {}, new: {}}
    for s in mine:
        key = s.get("fill_key")
        if key is None:
            continue
        bucket = latest[s["template_version"]]
        prev = bucket.get(key)
        if prev is None or (s.get("id") or 0) >= (prev.get("id") or 0):
            bucket[key] = s
    pairs = Pairing()
    for key, before in latest[old].items():
        after = latest[new].get(key)
        if after is None:
            continue
        pairs.fills += 1
        t = (before.get("status") or "pending", after.get("status") or "pending")
        pairs.transitions[t] = pairs.transitions.get(t, 0) + 1
    return VersionComparison(template, old, new, text_diff(old_text, new_text, old, new),
                             versions.get(old, Counts()), versions.get(new, Counts()), pairs)


def renderable_versions(session, template: str) -> list[str]:
    """Saved versions of `template` whose text parses and compiles, oldest first (a version saved with a Jinja
    syntax error, e.g. before saving refused them, is never a default)."""
    from studio.core.errors import StudioError
    from studio.core.render import render_problem
    from studio.core.template import parse_template

    out = []
    for d in session.template_versions(template):
        try:
            if render_problem(parse_template(d.get("text", ""))) is None:
                out.append(d["version"])
        except StudioError:
            continue
    return out


def compare_in_session(session, template: str, old: str | None = None, new: str | None = None) -> VersionComparison:
    """The same, reading texts and samples from a store session; defaults to the last two saved versions
    that render."""
    from studio.core.errors import StudioError

    saved = [v["version"] for v in session.template_versions(template)]
    if old is None or new is None:
        usable = renderable_versions(session, template)
        if len(usable) < 2:
            broken = len(saved) - len(usable)
            raise StudioError(f"template {template!r} has {len(usable)} saved version(s) that render in session "
                              f"{session.name!r}" + (f" ({broken} more cannot render)" if broken else ""),
                              hint="edit and save the template to make a second version, or name both versions")
        old, new = old or usable[-2], new or usable[-1]
    for v in (old, new):
        if v not in saved:
            raise StudioError(f"no version {v!r} of template {template!r} in session {session.name!r}",
                              hint=f"saved versions: {', '.join(saved) or '(none)'}")
    cmp = compare_versions(session.iter_samples(template=template), template, old, new,
                           session.template_text(template, old), session.template_text(template, new))
    cmp.old_label, cmp.new_label = session.version_label(template, old), session.version_label(template, new)
    if cmp.diff and cmp.old_label and cmp.new_label:  # the diff's header names them too
        cmp.diff = text_diff(session.template_text(template, old), session.template_text(template, new),
                             f"{cmp.old_label} {old}", f"{cmp.new_label} {new}")
    return cmp
