"""Per slot value and persona attribute: how many samples, how many accepted and rejected — for the slots
pane (beside each value) and the analysis screen's "show the samples with ..." list. Counted from the
store's index (Session.facets: nothing parsed), so it runs in a worker without reading a sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValueStats:
    kind: str          # "slot" or "persona"
    name: str
    value: str
    samples: int
    accepted: int
    rejected: int

    @property
    def rate(self) -> str:
        done = self.accepted + self.rejected
        return "–" if not done else f"{100 * self.accepted / done:.0f}%"

    @property
    def filter(self) -> dict[str, tuple[str, str]]:
        """The stream filter that shows these samples (Session.ids(slot=...) / ids(persona=...))."""
        return {self.kind: (self.name, self.value)}

    @property
    def label(self) -> str:
        return f"{'persona.' if self.kind == 'persona' else ''}{self.name}={self.value}"


def value_stats(session: Any, template: str | None = None) -> list[ValueStats]:
    """Every slot value and persona attribute value in the session (of one template when given), worst
    accept rate first (values without decisions last)."""
    facets = session.facets()
    accepted, rejected = facets.by_status.get("accepted", set()), facets.by_status.get("rejected", set())
    scope = facets.by_template.get(template, set()) if template else None
    out = []
    for kind, table in (("slot", facets.slots), ("persona", facets.persona)):
        for (name, value), ids in table.items():
            if scope is not None:
                ids = ids & scope
            if ids:
                out.append(ValueStats(kind, name, value, len(ids), len(ids & accepted), len(ids & rejected)))

    def worst(v: ValueStats):
        done = v.accepted + v.rejected
        return (done == 0, v.accepted / done if done else 0.0, -v.samples, v.label)

    return sorted(out, key=worst)


def parse_value_filter(text: str) -> dict[str, tuple[str, str]]:
    """`audience=a ten-year-old` (a slot) or `persona.age_band=teen` as a stream filter; {} for ""."""
    text = text.strip()
    if not text:
        return {}
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError("write slot=value, e.g. audience=a ten-year-old, or persona.age_band=teen")
    name = name.strip()
    if name.startswith("persona."):
        return {"persona": (name[len("persona."):], value.strip())}
    return {"slot": (name, value.strip())}


def value_filter_text(filters: dict) -> str:
    """The inverse of parse_value_filter, for the dialog's field and the stream's title."""
    if filters.get("slot"):
        name, value = filters["slot"]
        return f"{name}={value}"
    if filters.get("persona"):
        name, value = filters["persona"]
        return f"persona.{name}={value}"
    return ""
