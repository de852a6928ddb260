"""keymap.yaml checks: every binding id must exist, and a remapped key must not take a key another binding of
the same pane (or its screen) already answers to — either would silently do nothing or the wrong thing.
Every problem is `path:line: what — what to do`; YAML is read by the templates' reader (same line numbers,
duplicate keys refused)."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from pathlib import Path
from typing import Any, Iterable

from textual.binding import Binding
from textual.dom import DOMNode

from studio.core.errors import Problem, StudioError

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


KEYS_HINT = "write one 'binding-id: keys' per line, e.g. review.accept: y (several keys: 'y,ctrl+y')"


def load_keymap(path: Path) -> tuple[dict[str, str], list[Problem]]:
    """(the entries of keymap file `path` safe to apply, a Problem with its line for each one left out).
    A file that cannot be read as a whole (YAML syntax, not a mapping) gives no entries; an id given twice is
    left out (which one was meant is not known) and the other lines still apply."""
    from studio.core.template import key_lines_of, load_yaml

    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        duplicates: list[tuple[str, int, int]] = []
        data, node = load_yaml(text.removeprefix("\ufeff").replace("\r\n", "\n"), where, 1, what="keymap.yaml",
                               duplicates=duplicates)
    except StudioError as exc:
        return {}, [exc.problem]
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [Problem(where, 0, f"cannot read the key map: {exc}", "check the file is readable UTF-8 text")]
    if data is None:
        return {}, []
    if not isinstance(data, dict) or node is None:
        return {}, [Problem(where, 1, f"keymap.yaml must be a mapping of binding id to keys, not {_kind(data)}",
                            KEYS_HINT)]
    lines = key_lines_of(node, 1)
    entries: dict[str, str] = {}
    line_of: dict[str, int] = {}
    problems = [Problem(where, line, f"binding id {key!r} is given twice: on line {first} and again on line {line}"
                        " (neither is used)", "keep one of the two lines") for key, first, line in duplicates]
    twice = {key for key, _, _ in duplicates}
    for key, value in data.items():
        if str(key) in twice:
            continue
        line = lines.get((key,)) or lines.get((str(key),), 1)  # `1: y` is the key node "1"
        if not isinstance(key, str) or not isinstance(value, str) or not value.strip():
            what = f"{key!r}: keys must be text, not {_kind(value)}" if isinstance(key, str) \
                else f"binding id {key!r} must be text, not {_kind(key)}"
            problems.append(Problem(where, line, what, KEYS_HINT))
            continue
        entries[key] = value
        line_of[key] = line
    good, found = check_keymap(entries)
    problems.extend(Problem(where, line_of.get(bid, 1), what, hint) for bid, what, hint in found)
    return good, sorted(problems, key=lambda p: p.line)


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "empty text" if not value.strip() else "text"
    return {dict: "a mapping", list: "a list", bool: "true/false", type(None): "empty"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def check_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(the entries safe to apply, (binding id, what is wrong, what to do) for each entry left out)."""
    classes = _classes()
    by_id: dict[str, list[type]] = {}
    for cls in classes:
        for b in _bindings(cls):
            if b.id:
                by_id.setdefault(b.id, []).append(cls)
    problems: list[tuple[str, str, str]] = []
    good: dict[str, str] = {}
    for bid, keys in keymap.items():
        if bid not in by_id:
            near = difflib.get_close_matches(bid, list(by_id), n=1)
            problems.append((bid, f"unknown binding id {bid!r}" + (f" (did you mean {near[0]}?)" if near else ""),
                             "F1 lists every id"))
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
                        problems.append((bid, f"{bid}: {', '.join(sorted(same))} is already {other.id} "
                                         f"({other.description or other.action})", "pick another key"))
    return {k: v for k, v in good.items() if k not in clashes}, problems
