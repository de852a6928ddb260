"""How a sample is shown in words and glyphs (never by colour alone: NO_COLOR must still tell states apart)."""

from __future__ import annotations

from typing import Any

from studio.core.cost import sample_cost_text
from studio.core.display import printable_line, screen_text

GLYPHS = {"pending": "·", "accepted": "✓", "rejected": "✗", "failed": "!"}


def status_label(status: str) -> str:
    return f"{GLYPHS.get(status, '?')} {status}"


def first_line(sample: dict[str, Any]) -> str:
    if sample.get("status") == "failed" and sample.get("error"):
        return f"error: {sample['error']}".split("\n")[0].rstrip("\r")
    text = sample.get("output") or ""
    for line in str(text).split("\n"):     # not splitlines: U+2028 etc. are shown as stand-ins, not breaks
        if line.strip():
            return line.strip()
    return "(empty)"


#: version hash -> its name ("v3"), filled from the session when it opens and when a version is saved
VERSION_LABELS: dict[str, str] = {}


def short_version(version: str | None, width: int = 6) -> str:
    """`v3 3fa2c8`: the version's name with its hash beside (the hash alone when it has no name)."""
    short = (version or "------")[:width]
    label = VERSION_LABELS.get(version or "")
    return f"{label} {short}" if label else short


def set_version_labels(session) -> None:
    """Refresh VERSION_LABELS from the session (and the workspace's names)."""
    labels = {v: label for (_t, v), label in session.version_labels().items() if label}
    VERSION_LABELS.clear()
    VERSION_LABELS.update(labels)


def row_text(sample: dict[str, Any] | None, sample_id: int, id_width: int = 6,
             width: int = 1000) -> tuple[str, str, str]:
    """(status part, middle part, output part) of one stream row; the caller crops it to the width (the
    output's first line is made drawable only as far as a row of `width` cells can show it)."""
    if sample is None:
        return "", f"{sample_id:>{id_width}}  …", ""
    status = sample.get("status", "pending")
    tags = sample.get("tags") or []
    head = f"{GLYPHS.get(status, '?')} {status:<8} "
    tag_text = f"[{','.join(tags)}] " if tags else ""
    flag = f"⚑{sample['flag']} " if sample.get("flag") else ""
    mid = f"{sample_id:>{id_width}} {short_version(sample.get('template_version'))} {printable_line(tag_text)}{flag}"
    return head, mid, printable_line(first_line(sample)[:width + 32])


def money(sample: dict) -> str:
    """A sample's cost by the one rule (core.cost): `$0.000052`, `unknown`, `$0 (cached)`."""
    return sample_cost_text(sample)


def accept_rate(counts: dict[str, int]) -> str:
    acc, rej = counts.get("accepted", 0), counts.get("rejected", 0)
    return "–" if acc + rej == 0 else f"{100 * acc / (acc + rej):.0f}%"


def flag_line(sample: dict[str, Any]) -> str:
    """`⚑ cut-off: cut off at max_tokens ...` for a flagged sample, "" for a clean one."""
    flag = sample.get("flag")
    if not flag:
        return ""
    from studio.core.record import FLAGS

    return f"⚑ {flag}: {FLAGS.get(flag, 'flagged')}"


def structured_json(sample: dict[str, Any]) -> str | None:
    """A structured sample's JSON, indented for reading (None when it is not JSON)."""
    import json

    value = sample.get("parsed")
    if value is None and sample.get("mode") == "structured" and sample.get("output"):
        try:
            value = json.loads(sample["output"])
        except (TypeError, ValueError):
            return None
    if value is None:
        return None
    return json.dumps(value, indent=2, ensure_ascii=False)


def body_text(sample: dict[str, Any], view: str = "output", limit: int = 100_000):
    """The text under judgement as a rich Text (never parsed as markup): the output (structured JSON
    indented; the error of a failed sample) or, for view "prompt", the prompt's messages."""
    from rich.text import Text

    text = Text()
    if view == "both":  # a tall pane: the prompt, then the output, each under a rule
        text.append("── prompt\n", style="bold")
        text.append_text(body_text(sample, "prompt", limit))
        text.append("── output\n", style="bold")
        text.append_text(body_text(sample, "output", limit))
        return text
    if view == "prompt":
        for m in sample.get("messages") or []:
            text.append(screen_text(f"{m.get('role')}: "), style="bold")
            text.append(screen_text(str(m.get("content") or "")[:limit]) + "\n")
        return text if text.plain else Text("(no prompt)")
    if sample.get("status") == "failed" and sample.get("error"):
        text.append("error: ", style="bold")
        text.append(screen_text(str(sample["error"])[:limit]) + "\n")
    pretty = structured_json(sample)
    output = pretty if pretty is not None else sample.get("output")
    if output is None or not str(output).strip():
        if not text.plain:
            text.append("(no output)" if output is None else "(empty output)", style="italic")
        return text
    if sample.get("reasoning"):
        text.append(f"(reasoning: {len(sample['reasoning']):,} characters — enter shows it)\n", style="italic")
    text.append(screen_text(str(output)[:limit]))
    return text
