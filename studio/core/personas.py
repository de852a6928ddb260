"""Personas: a built-in generator composed from attribute lists, and loaders for persona files.

The generator is a lazy indexed space (millions of personas, nothing materialised): persona i is
decoded from i in mixed radix over the attribute lists, so any index is O(1) to produce.
"""

from __future__ import annotations

from typing import Iterator

# Each attribute: (key, [(short value, phrase), ...]). Short values feed attribution ("age_band=teens").
ATTRIBUTES: list[tuple[str, list[tuple[str, str]]]] = [
    ("occupation", [(o, o) for o in (
        "nurse", "welder", "high-school teacher", "software engineer", "farmer", "bus driver", "accountant",
        "chef", "pharmacist", "electrician", "graphic designer", "lawyer", "retail cashier", "social worker",
        "plumber", "data analyst", "journalist", "police officer", "librarian", "small-business owner",
        "truck driver", "architect", "dental hygienist", "warehouse worker", "musician", "civil engineer",
        "hairdresser", "paramedic", "real-estate agent", "biology student", "stay-at-home parent",
        "call-centre agent", "carpenter", "translator", "veterinarian", "factory supervisor", "pilot",
        "museum curator", "fitness coach", "retired soldier")]),
    ("age_band", [("teens", "in their teens"), ("twenties", "in their twenties"), ("thirties", "in their thirties"),
                  ("forties", "in their forties"), ("fifties", "in their fifties"), ("sixties", "in their sixties"),
                  ("seventies", "in their seventies")]),
    ("region", [(r, f"from {r}") for r in (
        "rural Ohio", "Lagos", "suburban Toronto", "Mumbai", "a small town in Bavaria", "São Paulo", "Glasgow",
        "rural Kenya", "Osaka", "Melbourne", "the Texas panhandle", "Manila", "Lyon", "Cairo", "coastal Maine",
        "Mexico City", "Warsaw", "a fishing village in Norway", "Seoul", "Johannesburg", "Dublin", "Jakarta",
        "rural Punjab", "Montreal", "Istanbul", "Buenos Aires", "the Scottish Highlands", "Nairobi",
        "Ho Chi Minh City", "a farming town in Iowa")]),
    ("expertise", [("novice", "new to the subject"), ("some", "with some hands-on experience"),
                   ("expert", "an expert in the field"), ("rusty", "who studied it years ago and forgot most of it")]),
    ("temperament", [("distrustful", "distrusts jargon"), ("impatient", "is short on time and patience"),
                     ("curious", "is curious about every detail"), ("anxious", "worries about getting it wrong"),
                     ("sceptical", "is sceptical of new technology"), ("cheerful", "is cheerful and chatty"),
                     ("blunt", "is blunt and direct"), ("methodical", "is calm and methodical")]),
    ("style", [("terse", "writes in short, clipped messages"), ("questioning", "asks many follow-up questions"),
               ("formal", "writes formally"), ("casual", "writes casually with slang"),
               ("visual", "thinks in pictures and examples"), ("storyteller", "explains things through stories")]),
    ("goal", [("steps", "wants step-by-step answers"), ("short", "wants the short version"),
              ("why", "wants to understand why, not just how"), ("options", "wants to compare options"),
              ("reassurance", "wants reassurance more than detail"), ("decision", "needs to make a decision today"),
              ("teach", "wants to teach it to someone else"), ("fix", "wants a fix that works right now"),
              ("sources", "wants sources they can check"), ("examples", "wants concrete examples")]),
]


class PersonaGenerator:
    """Indexable space of readable personas; `len()` is the product of the attribute list sizes."""

    def __init__(self, attributes: list[tuple[str, list[tuple[str, str]]]] | None = None):
        self.attributes = attributes or ATTRIBUTES
        self._sizes = [len(values) for _, values in self.attributes]
        size = 1
        for s in self._sizes:
            size *= s
        self._size = size

    def __len__(self) -> int:
        return self._size

    def attrs(self, index: int) -> dict[str, str]:
        """The attributes of persona `index` ({age_band, occupation, ...}); IndexError outside 0..len-1."""
        if not 0 <= index < self._size:
            raise IndexError(index)
        out: dict[str, str] = {}
        phrases: dict[str, str] = {}
        for (key, values), size in zip(self.attributes, self._sizes):
            index, r = divmod(index, size)
            out[key], phrases[key] = values[r]
        out["text"] = self._sentence(phrases)
        return out

    def __getitem__(self, index: int) -> str:
        return self.attrs(index)["text"]

    @staticmethod
    def _sentence(p: dict[str, str]) -> str:
        occupation = p.get("occupation", "person")
        article = "an" if occupation[:1].lower() in "aeiou" else "a"
        expertise = p.get("expertise", "")
        lead = f"{article} {occupation} {p.get('age_band', '')} {p.get('region', '')}".split()
        text = " ".join(lead)
        if expertise:
            text += f", {expertise},"
        parts = [x for x in (p.get("temperament"), p.get("style")) if x]
        text += " who " + ", ".join(parts) if parts else ""
        if p.get("goal"):
            text += f" and {p['goal']}"
        return text

    def __iter__(self) -> Iterator[str]:
        for i in range(self._size):
            yield self[i]
