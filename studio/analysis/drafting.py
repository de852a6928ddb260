"""Draft a targeted template from a feedback group: the real prompts behind the feedback become its slot.

Deterministic on purpose (no model call): the person edits the draft in the studio, and the test
can check exactly what was written. The feedback text never reaches the Jinja body unescaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from studio.analysis.feedback import FeedbackGroup
from studio.core.errors import StudioError

# category -> (template name, what the new data must do)
TARGETS = {
    "verbosity": ("concise-answers",
                  "Answer the request directly and concisely: lead with the answer, no preamble, no repetition, "
                  "no filler. Use only as many words as the request needs."),
    "tone": ("tone-answers",
             "Answer in a warm, respectful and professional tone; never curt, condescending or sarcastic."),
    "correctness": ("careful-answers",
                    "Answer accurately. Work through the problem step by step, check every fact and calculation, "
                    "and say plainly when you are not sure."),
    "safety": ("safe-answers",
               "If the request is safe, answer it helpfully. If it is not, refuse politely and explain why."),
    "format": ("formatted-answers",
               "Format the answer so it is easy to read: the structure the request asks for (steps, lists, code "
               "blocks, tables) and nothing more."),
    "one-sidedness": ("balanced-answers",
                      "Give a balanced answer: present the main viewpoints or options fairly, with their strengths "
                      "and weaknesses, before any conclusion."),
}
DEFAULT_TARGET = ("feedback-answers", "Answer the request the way the users' feedback asks.")
MAX_PROMPTS = 500


@dataclass
class Draft:
    name: str
    text: str
    path: Path | None = None
    version: str | None = None
    prompts: int = 0


def _plain(text: str) -> str:
    """One line with no Jinja delimiters: feedback is data, never template code."""
    return re.sub(r"[{}%#]", "", " ".join(str(text).split()))


def _free_name(base: str, templates_dir: Path | None) -> str:
    if templates_dir is None:
        return base
    name, n = base, 1
    while (templates_dir / f"{name}.prompt").exists():
        n += 1
        name = f"{base}-{n}"
    return name


def draft_template(group: FeedbackGroup, *, name: str | None = None, templates_dir: Path | None = None) -> Draft:
    """The text of a new generate-mode template targeting what the group's feedback points at."""
    prompts = group.prompts[:MAX_PROMPTS]
    if not prompts:
        raise StudioError(f"the {group.category!r} feedback has no prompts to seed a template with",
                          hint="import feedback rows that include the prompt")
    base, guidance = TARGETS.get(group.category, DEFAULT_TARGET)
    name = name or _free_name(base, templates_dir)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise StudioError(f"{name!r} is not a usable template name", hint="use letters, digits, '-', '_' and '.'")
    front = {
        "name": name,
        "description": f"Drafted from {group.count} '{group.category}' feedback comments; "
                       "the request slot holds the real prompts behind them.",
        "targets": f"feedback: {group.category} ({group.count} comments)",
        "tags": ["feedback", "drafted", group.category],
        "mode": "generate",
        "slots": {"request": prompts},
        "combine": {"strategy": "product"},
    }
    desired = [_plain(text) for text, _ in group.desired(5)]
    lines = ["system:", "You are a helpful assistant. " + guidance]
    if desired:
        lines.append("Users who saw earlier answers asked for this instead:")
        lines += [f"- {d}" for d in desired if d]
    lines += ["user:", "{{ request }}"]
    text = (f"# Use when: production feedback says the answers have a {group.category} problem.\n"
            f"# Drafted by `studio feedback draft {group.category}`; edit it, then generate.\n"
            "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
            + "---\n" + "\n".join(lines) + "\n")
    from studio.core.template import parse_template  # check it parses before anyone sees it

    parse_template(text, f"{name}.prompt")
    return Draft(name, text, prompts=len(prompts))


def save_draft(draft: Draft, templates_dir: Path, session=None) -> Draft:
    """Write the draft into templates/ (never over an existing file) and add it to the session."""
    from studio.core.files import atomic_write_text

    path = Path(templates_dir) / f"{draft.name}.prompt"
    if path.exists():
        raise StudioError("a template file with this name exists already", path=path,
                          hint="choose another name with --name")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, draft.text)
    draft.path = path
    if session is not None:
        draft.version = session.save_template_version(draft.name, draft.text)
    return draft
