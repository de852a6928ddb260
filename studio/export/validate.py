"""Is a sample a conversation a trainer accepts? Checked for every row before it is written.

Trainers reject, or silently mislearn from, malformed conversations. A row is kept only when its
turns are: an optional system message, then user and assistant in turn, starting with the user and
ending with the assistant (the answer); no turn is empty; no turn holds a template's section label
(a `user:` / `assistant:` / `system:` line: a prompt's structure leaking into its text); and the
answer is not the prompt said again (an echo teaches the model to repeat its input).

`problem()` returns (reason, detail) for a failing sample, None for a good one; the reasons are
the short, counted ones of an export plan's `removed` (like "exact duplicate").
"""

from __future__ import annotations

import re

ROLE_ORDER = "role order"
EMPTY_TURN = "empty turn"
LABEL = "section label in text"
ECHO = "echo"
NO_ASSISTANT = "no assistant section: add one"
REASONS = (ROLE_ORDER, EMPTY_TURN, LABEL, ECHO, NO_ASSISTANT)

# the template parser's section line (studio.core.template), anywhere in a turn's text
_LABEL_LINE = re.compile(r"^[ \t]*(system|user|assistant):[ \t]*$", re.M)
_WANT = "a trainer wants an optional system message, then user and assistant in turn, ending with the assistant"


def problem(messages: list[dict], answer: str, *, empty: bool = False, echo: bool = True) -> tuple[str, str] | None:
    """Why `messages` + an assistant turn holding `answer` is not a valid conversation (None: it is).

    `messages`: the prompt as the export writes it (clean: role/content strings). `empty`: the sample's
    stored prompt had an empty user or assistant turn (the clean prompt dropped it). `echo`: check
    that the answer is not the prompt again.
    """
    if empty:
        return EMPTY_TURN, "a user or assistant turn of the prompt is empty"
    if not answer.strip():
        return EMPTY_TURN, "the answer is empty"
    expect = "user"
    for i, m in enumerate(messages):
        role = m["role"]
        if role == "system" and i == 0:
            continue
        if role != expect:
            roles = ", ".join([x["role"] for x in messages] + ["assistant"])
            return ROLE_ORDER, f"roles {roles}: {_WANT}"
        expect = "assistant" if expect == "user" else "user"
    if expect != "assistant":            # the prompt must end with the user, the answer is the assistant's
        roles = ", ".join([x["role"] for x in messages] + ["assistant"])
        return ROLE_ORDER, f"roles {roles}: {_WANT}"
    for m in messages:
        if _has_label(m["content"]):
            return LABEL, f"the {m['role']} turn holds a line {_label(m['content'])!r}: a template section leaked"
    if _has_label(answer):
        return LABEL, f"the answer holds a line {_label(answer)!r}: a template section leaked"
    if not echo:                         # a rejected answer that echoes is a fair negative example
        return None
    stripped = answer.strip()
    turns = [m["content"] for m in messages if m["role"] != "system"]
    if not turns or len(stripped) > sum(map(len, turns)) + 2 * len(turns):   # longer than the prompt: no echo
        return None
    if stripped == turns[-1].strip() or stripped == "\n\n".join(turns).strip():
        return ECHO, "the answer repeats the prompt word for word"
    return None


def _has_label(text: str) -> bool:
    # three substring scans are much cheaper than the regex; most texts have none of these
    if "user:" in text or "assistant:" in text or "system:" in text:
        return _LABEL_LINE.search(text) is not None
    return False


def _label(text: str) -> str:
    m = _LABEL_LINE.search(text)
    return m.group(0).strip() if m else ""
