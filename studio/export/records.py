"""Pure helpers over sample records (docs/ARCHITECTURE.md): the prompt, the completion, the text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Removal:
    """A sample left out of an export, and why (the stage that left it out names the reason)."""

    id: int
    reason: str          # "no output", "exact duplicate", "near duplicate", "unpaired", "no verdict",
    #                      "flagged <flag>", and validate.REASONS ("role order", "echo", ...)
    detail: str = ""


def prompt_messages(rec: dict) -> list[dict[str, str]]:
    """The rendered prompt as role/content pairs; empty messages are dropped (trainers reject them)."""
    if "_clean" in rec:
        return rec["messages"]
    msgs = rec.get("messages") or []
    try:  # the common case, the store's own well-formed dicts: shared, not copied (nothing mutates them)
        for m in msgs:
            if len(m) != 2 or type(m["role"]) is not str or type(m["content"]) is not str or not m["content"].strip():
                raise ValueError
        return msgs if type(msgs) is list else list(msgs)
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    out = []
    for m in msgs:
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        if not isinstance(content, str):
            content = "" if content is None else str(content)
        if content.strip():
            out.append({"role": str(m.get("role") or "user"), "content": content})
    return out


def completion(rec: dict) -> str:
    """The generated text ("" when there is none)."""
    out = rec.get("output")
    if type(out) is str:
        return out
    return "" if out is None else str(out)


def assistant(text: str) -> list[dict[str, str]]:
    """`text` as a one-message assistant turn: [{"role": "assistant", "content": text}]."""
    return [{"role": "assistant", "content": text}]


def flat_prompt(messages: list[dict]) -> str:
    """A chat prompt as plain text, for formats without roles (TRL standard, alpaca)."""
    if len(messages) == 1:
        return messages[0]["content"]
    return "\n\n".join(m["content"] for m in messages)


def prompt_key(rec: dict) -> str:
    """Same filled prompt -> same key: the store's prompt_hash, or a hash of the messages."""
    if "_pkey" in rec:
        return rec["_pkey"]
    ph = rec.get("prompt_hash")
    if ph:
        return str(ph)
    return hashlib.sha256(orjson.dumps(prompt_messages(rec))).hexdigest()[:12]


def json_text(v: Any) -> str | None:
    """A free-form value as JSON text (None stays None): keeps columns one type for Parquet/datasets."""
    if v is None:
        return None
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()
