"""keymap.yaml checks: every binding id must exist, and a remapped key must not take a key another binding of
the same pane (or its screen) already answers to — either would silently do nothing or the wrong thing."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Iterable

from textual.binding import Binding
from textual.dom import DOMNode

# the main screen's panes answer to their own keys and, below them, the screen's and the app's
MAIN_PANES = ("SampleList", "TaggerPane", "SlotTree", "TemplateArea", "TemplateEditor")


def _classes() -> list[type[DOMNode]]:
    import studio.tui.screens as screens
    import studio.tui.widgets as widgets

    for package in (screens, widgets):
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    # the app class is loaded already (it is the caller)

    seen, out, todo = set(), [], [DOMNode]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if sub.__module__.startswith("studio.tui"):
                    out.append(sub)
    return out


def _bindings(cls: type) -> list[Binding]:
    return [b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]


def _keys(keys: str) -> set[str]:
    return {k.strip() for k in keys.split(",") if k.strip()}


def check_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(the entries safe to apply, a problem line for each entry left out)."""
    classes = _classes()
    by_id: dict[str, list[type]] = {}
    for cls in classes:
        for b in _bindings(cls):
            if b.id:
                by_id.setdefault(b.id, []).append(cls)
    problems: list[str] = []
    good: dict[str, str] = {}
    for bid, keys in keymap.items():
        if bid not in by_id:
            near = difflib.get_close_matches(bid, list(by_id), n=1)
            problems.append(f"unknown binding id {bid!r}" + (f" (did you mean {near[0]}?)" if near else "")
                            + " — F1 lists every id")
            continue
        good[bid] = keys
    names = {cls.__name__: cls for cls in classes}

    def context(cls: type) -> Iterable[type]:
        yield cls
        if cls.__name__ in MAIN_PANES:
            yield from (names[n] for n in ("MainScreen", "StudioApp") if n in names)

    clashes: set[str] = set()
    for bid, keys in good.items():
        for cls in by_id[bid]:
            for other_cls in context(cls):
                for other in _bindings(other_cls):
                    if not other.id or other.id == bid:
                        continue
                    theirs = _keys(good.get(other.id, other.key))
                    same = _keys(keys) & theirs
                    if same and bid not in clashes:
                        clashes.add(bid)
                        problems.append(f"{bid}: {', '.join(sorted(same))} is already {other.id} "
                                        f"({other.description or other.action}) — pick another key")
    return {k: v for k, v in good.items() if k not in clashes}, problems
