"""How a sample is shown in words and glyphs (never by colour alone: NO_COLOR must still tell states apart)."""

from __future__ import annotations

from typing import Any

GLYPHS = {"pending": "·", "accepted": "✓", "rejected": "✗", "failed": "!"}


def status_label(status: str) -> str:
    return f"{GLYPHS.get(status, '?')} {status}"


def first_line(sample: dict[str, Any]) -> str:
    if sample.get("status") == "failed" and sample.get("error"):
        return f"error: {sample['error']}".splitlines()[0]
    text = sample.get("output") or ""
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return "(empty)"


def short_version(version: str | None) -> str:
    return (version or "------")[:6]


def row_text(sample: dict[str, Any] | None, sample_id: int, id_width: int = 6) -> tuple[str, str, str]:
    """(status part, middle part, output part) of one stream row; the caller crops it to the width."""
    if sample is None:
        return "", f"{sample_id:>{id_width}}  …", ""
    status = sample.get("status", "pending")
    tags = sample.get("tags") or []
    head = f"{GLYPHS.get(status, '?')} {status:<8} "
    tag_text = f"[{','.join(tags)}] " if tags else ""
    mid = f"{sample_id:>{id_width}} {short_version(sample.get('template_version'))} {tag_text}"
    return head, mid, first_line(sample)


def money(cost: float | None) -> str:
    return "$?" if cost is None else f"${cost:.4f}"


def accept_rate(counts: dict[str, int]) -> str:
    acc, rej = counts.get("accepted", 0), counts.get("rejected", 0)
    return "–" if acc + rej == 0 else f"{100 * acc / (acc + rej):.0f}%"
