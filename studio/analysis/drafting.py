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
    "depth": ("thorough-answers",
              "Answer thoroughly: give the steps, examples and specifics the request needs, not a one-line summary."),
    "refusal": ("helpful-answers",
                "Help with the request. It is harmless: answer it fully, without refusing, hedging or lecturing."),
}
# Groups with nothing for new data to fix: praise, and complaints about the app rather than its answers.
NOT_DRAFTABLE = {"praise": "praise asks for nothing to change",
                 "app": "'app' feedback is about the app (crashes, price, login), not the answers",
                 "unstructured": "unstructured feedback has no category yet: `studio feedback restructure`",
                 "rating-only": "ratings without comments say nothing to target"}
DEFAULT_TARGET = ("feedback-answers", "Answer the request the way the users' feedback asks.")
MAX_PROMPTS = 500


@dataclass
class Draft:
    name: str
    text: str
    path: Path | None = None
    version: str | None = None
    prompts: int = 0
    source: str = ""                     # where the prompts came from


def _plain(text: str, limit: int | None = None) -> str:
    """The text on one line, quoted exactly in the Jinja body: feedback is data, never template code, so each
    `{` that would open a tag (`{{`, `{%`, `{#`) is written as `{{ '{' }}` and renders as itself. One line,
    after a `- ` prefix, so no role marker (`user:`) or `---` can start a line."""
    one = " ".join(str(text).split())[:limit]
    return re.sub(r"\{(?=[{%#]|$)", "{{ '{' }}", one)


def _free_name(base: str, templates_dir: Path | None) -> str:
    if templates_dir is None:
        return base
    name, n = base, 1
    while (templates_dir / f"{name}.prompt").exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _user_prompt(sample: dict) -> str:
    messages = sample.get("messages") or []
    user = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return str(user[-1]).strip() if user and isinstance(user[-1], str) else ""


def prompts_for(group: FeedbackGroup, session=None, given: list[str] | None = None) -> tuple[list[str], str]:
    """The prompts a draft is seeded with, and where they came from: the feedback's own prompts, the
    session's samples the feedback points at (a sample id or a template on the row), prompts the person
    gives, and for feedback that points at nothing, the session's samples (rejected first)."""
    out = dict.fromkeys(p for p in group.prompts)
    where = ["the feedback's prompts"] if out else []
    if session is not None:
        ids = [int(r["sample"]) for r in group.records if str(r.get("sample") or "").strip().isdigit()]
        templates = sorted({str(r["template"]) for r in group.records if r.get("template")})
        pointed = dict.fromkeys(_user_prompt(s) for s in session.samples(ids)) if ids else {}
        for t in templates:
            for sample in session.iter_samples(template=t):
                pointed[_user_prompt(sample)] = None
        pointed.pop("", None)
        if pointed:
            where.append("the samples the feedback points at")
            out.update(pointed)
    if given:
        where.append("the prompts given")
        out.update(dict.fromkeys(p.strip() for p in given))
    if not out and session is not None:
        ordered = session.ids(status="rejected") + session.ids()
        seen = dict.fromkeys(_user_prompt(s) for s in session.samples(list(dict.fromkeys(ordered))[:MAX_PROMPTS * 4]))
        seen.pop("", None)
        if seen:
            where.append("the session's samples")
            out.update(seen)
    out.pop("", None)
    return list(out)[:MAX_PROMPTS], " and ".join(where)


def draft_template(group: FeedbackGroup, *, name: str | None = None, templates_dir: Path | None = None,
                   session=None, prompts: list[str] | None = None) -> Draft:
    """The text of a new generate-mode template targeting what the group's feedback points at."""
    if group.category in NOT_DRAFTABLE:
        raise StudioError(f"no template to draft from {group.category!r} feedback",
                          hint=NOT_DRAFTABLE[group.category] + "; draft from a complaint category")
    prompts, where = prompts_for(group, session, prompts)
    if not prompts:
        raise StudioError(f"the {group.category!r} feedback has no prompts to seed a template with",
                          hint="give prompts (--prompts FILE, one a line), or generate samples in the session "
                               "first, or import feedback rows that include the prompt or a sample id",
                          hints={"tui": "generate samples in the session first (ctrl+g), or import feedback rows that "
                                        "include the prompt or a sample id"})
    base, guidance = TARGETS.get(group.category, DEFAULT_TARGET)
    name = name or _free_name(base, templates_dir)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise StudioError(f"{name!r} is not a usable template name", hint="use letters, digits, '-', '_' and '.'")
    front = {
        "name": name,
        "description": f"Drafted from {group.count} '{group.category}' feedback comments; "
                       f"the request slot holds {len(prompts)} prompt(s) from {where}.",
        "targets": f"feedback: {group.category} ({group.count} comments)",
        "tags": ["feedback", "drafted", group.category],
        "mode": "generate",
        "slots": {"request": prompts},
        "combine": {"strategy": "product"},
    }
    desired = [_plain(text) for text, _ in group.desired(5)]
    said = [(_plain(text, 160), n) for text, n in group.said(5)]
    lines = ["system:", "You are a helpful assistant. " + guidance]
    if desired:
        lines.append("Users who saw earlier answers asked for this instead:")
        lines += [f"- {d}" for d in desired if d]
    if said:
        lines.append("What they said about earlier answers (avoid this):")
        lines += [f"- \"{t}\"" + (f" ({n} people)" if n > 1 else "") for t, n in said if t]
    lines += ["user:", "{{ request }}"]
    text = (f"# Use when: production feedback says the answers have a {group.category} problem.\n"
            f"# Drafted by `studio feedback draft {group.category}`; edit it, then generate.\n"
            "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
            + "---\n" + "\n".join(lines) + "\n")
    from studio.core.template import parse_template  # check it parses before anyone sees it

    parse_template(text, f"{name}.prompt")
    return Draft(name, text, prompts=len(prompts), source=where)


def save_draft(draft: Draft, templates_dir: Path, session=None) -> Draft:
    """Write the draft into templates/ (never over an existing file) and add it to the session."""
    from studio.core.files import atomic_write_text

    path = Path(templates_dir) / f"{draft.name}.prompt"
    if path.exists():
        raise StudioError("a template file with this name exists already", path=path,
                          hint="choose another name with --name",
                          hints={"tui": "rename or move that file, then draft again"})
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, draft.text)
    draft.path = path
    if session is not None:
        draft.version = session.save_template_version(draft.name, draft.text)
    return draft
