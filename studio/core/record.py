"""The sample record: its fields, types and defaults, and the rules every layer shares about it.

One place owns what a sample is (docs/ARCHITECTURE.md, "The sample record"), so the run that makes a
sample, the store that keeps it, the analysis that counts it, the export that writes it and the TUI that
shows it cannot disagree: the statuses and flags, the default of every field, which parameter names
are secrets, the follow-up shape, how a verifier's verdict is read, and the column codes of the store's
in-memory index. Pure: no I/O, no imports above `studio.core`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal, TypedDict

from studio.core.cost import sample_cost
from studio.core.hashing import prompt_hash

Status = Literal["pending", "accepted", "rejected", "failed"]
STATUSES: tuple[Status, ...] = ("pending", "accepted", "rejected", "failed")

Flag = Literal["cut-off", "filtered", "refusal", "preview"]
#: Why a sample that has text is still not clean data. Flagged samples are shown and filterable, and left
#: out of review and export unless asked for.
FLAGS: dict[Flag, str] = {
    "cut-off": "cut off at max_tokens (finish_reason: length)",
    "filtered": "stopped by the provider's content filter (finish_reason: content_filter)",
    "refusal": "the model refused (message.refusal)",
    "preview": "a prompt preview (the render model on a generate template), not an answer",
}

Verdict = Literal["correct", "incorrect", "unsure"]
VERDICTS: tuple[Verdict, ...] = ("correct", "incorrect", "unsure")


class FollowUp(TypedDict, total=False):
    """A follow-up template's result on one sample: `sample["followups"][template_name]`."""

    output: str | None
    parsed: Any
    verdict: Verdict | None       # None when the follow-up failed
    model: str
    template_version: str
    error: str | None
    tokens_in: int | None
    tokens_out: int | None
    cost: float | None
    cached: bool
    at: float                     # epoch seconds


class Sample(TypedDict, total=False):
    """One TinyDB document of a session's `samples` table (the doc_id is the sample id, `id` when read)."""

    template: str                 # template name
    template_version: str         # 12-hex content hash of the template text that made it
    fill_key: str                 # 12-hex hash of the slot values: the same fill across versions
    prompt_hash: str              # 12-hex hash of the rendered messages (studio.core.hashing)
    slots: dict[str, Any]         # slot name -> the value's display text
    persona: dict[str, Any] | None
    messages: list[dict[str, str]]  # the prompt: [{role, content}]
    output: str | None            # the completion (JSON text in structured mode)
    parsed: Any                   # structured mode: the validated JSON value
    mode: str                     # render / generate / structured
    model: str
    params: dict[str, Any]        # generation parameters, never a secret (scrub_params)
    seed: int | None
    run_id: str
    status: Status
    error: str | None             # why it failed
    tags: list[str]
    note: str
    followups: dict[str, FollowUp]
    tokens_in: int | None         # summed over every paid attempt
    tokens_out: int | None
    cost: float | None            # USD over every paid attempt; 0.0 when answered from the request cache
    #                               or when no call was paid (core.cost.cost_of); None means unknown, never made up
    latency: float | None         # seconds
    cached: bool
    created: float                # epoch seconds
    reviewed: float | None
    finish_reason: str | None     # as the provider gave it: stop, length, content_filter, tool_calls ...
    reasoning: str | None         # reasoning_content / reasoning / thinking, never mixed into output
    flag: Flag | None             # see FLAGS
    endpoint: str | None          # the api_base that answered (never a key); None: the provider's default
    attempts: int                 # paid calls this sample took (structured re-asks, billed failures)
    answer: int                   # 0-based answer index among several answers to one fill
    inputs: dict[str, Any]        # only for templates with `inputs:`: the values supplied at run time
    kept: dict[str, Any]          # only after a hand edit put a value a field cannot hold (repair_sample):
    #                               the value as it was, by field name


def _defaults(now: float) -> Sample:
    return {
        "template": "", "template_version": "", "fill_key": "", "prompt_hash": "", "slots": {},
        "persona": None, "messages": [], "output": None, "parsed": None, "mode": "generate",
        "model": "", "params": {}, "seed": None, "run_id": "", "status": "pending", "error": None,
        "tags": [], "note": "", "followups": {}, "tokens_in": None, "tokens_out": None, "cost": None,
        "latency": None, "cached": False, "created": now, "reviewed": None,
        "finish_reason": None, "reasoning": None, "flag": None, "endpoint": None, "attempts": 0, "answer": 0,
    }


def new_sample(fields: dict[str, Any], now: float) -> Sample:
    """A complete record from what a run supplies: defaults filled in, secrets dropped from `params`,
    an unknown status made `pending`, an unknown flag kept as given (shown, never silently cleaned),
    `prompt_hash` computed from `messages` when missing. `id` is dropped (the store assigns it)."""
    doc = _defaults(now)
    doc.update(fields)                                   # type: ignore[typeddict-item]
    doc.pop("id", None)                                  # type: ignore[misc, typeddict-item]
    doc["params"] = scrub_params(doc.get("params") or {})
    if doc["status"] not in STATUSES:
        doc["status"] = "pending"
    if not doc.get("prompt_hash") and doc.get("messages"):
        doc["prompt_hash"] = prompt_hash(doc["messages"])
    # Key-shaped text (a key pasted into a template's body, a data file, a reply) never reaches the store;
    # prompt_hash is of the text as sent, so caching and comparing are unchanged.
    msgs = doc.get("messages")
    if isinstance(msgs, list):
        doc["messages"] = [{**m, "content": redact_keys(m["content"])}
                           if isinstance(m, dict) and isinstance(m.get("content"), str) else m for m in msgs]
    for name in ("output", "reasoning", "slots", "persona", "inputs"):
        if doc.get(name) is not None:
            doc[name] = redact_keys_in(doc[name])             # type: ignore[literal-required]  # name: a field
    return doc


#: Every record has these, stored in this order (the store parses the fields before `messages` alone
#: for projected scans, so small fields come first; fields added later come last).
SAMPLE_FIELDS: tuple[str, ...] = tuple(_defaults(0.0))


# Each field's kind, for checking a sample a person edited by hand (repair_sample). Any other field is kept as is.
_KINDS: dict[str, str] = {
    **dict.fromkeys(("template", "template_version", "fill_key", "prompt_hash", "mode", "model", "run_id", "note"), "str"),
    **dict.fromkeys(("output", "error", "finish_reason", "reasoning", "endpoint", "flag"), "str?"),
    **dict.fromkeys(("slots", "params", "followups", "inputs"), "dict"),
    "persona": "dict?", "messages": "list", "parsed": "any", "status": "status", "tags": "tags",
    **dict.fromkeys(("seed", "tokens_in", "tokens_out"), "int?"), "attempts": "int", "answer": "int",
    **dict.fromkeys(("cost", "latency", "reviewed"), "num?"), "created": "num", "cached": "bool",
    "kept": "dict",
}
_WANT = {"str": "text", "str?": "text or null", "dict": "an object", "dict?": "an object or null",
         "list": "a list", "int": "a whole number", "int?": "a whole number or null", "num": "a number",
         "num?": "a number or null", "bool": "true or false", "tags": "a list of tags (text)"}


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "str?": (str, type(None)), "dict": (dict,), "dict?": (dict, type(None)), "list": (list,),
    "int": (int,), "int?": (int, type(None)), "num": (int, float), "num?": (int, float, type(None)),
    "bool": (bool,)}
_CHECKS = tuple((name, _TYPES[kind]) for name, kind in _KINDS.items() if kind in _TYPES)


def sample_ok(doc: dict[str, Any]) -> bool:
    """The quick test before repair_sample (a file read line by line checks every sample): True when every
    field repair_sample checks already has its type and the status is known."""
    for name, types in _CHECKS:
        if name in doc and type(doc[name]) not in types:
            return False
    tags = doc.get("tags", ())
    return doc.get("status", "pending") in STATUSES and type(tags) in (list, tuple) and \
        all(type(t) is str for t in tags)


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else _json_text(value)
    return repr(text if len(text) <= 40 else text[:39] + "…") if isinstance(value, str) else \
        (text if len(text) <= 40 else text[:39] + "…")


def _json_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _number(value: Any, whole: bool) -> Any:
    """`value` as a number when it plainly is one (a float with no fraction for a whole number, numeric text),
    else None."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    if whole:
        return int(value) if float(value).is_integer() else None
    return value


def repair_sample(doc: dict[str, Any]) -> list[str]:
    """Make a sample edited by hand safe to index, in place -> one message per field that had the wrong type or an
    unknown status ("field 'status' is 'approved' — use one of ...; made pending ..."). Nothing is lost: text
    a field can take is carried over (a tag given as text becomes a one-tag list, a number in a text field its
    text, numeric text in a number field the number, status in other capitals the status); a value that cannot
    be carried over (an unknown status, a list where a number goes) is replaced by the field's default and kept
    as it was in the sample's `kept` field. Fields the record does not know are left alone."""
    out: list[str] = []
    defaults = _defaults(0.0)
    for name, kind in _KINDS.items():
        if name not in doc or kind == "any":
            continue
        value = doc[name]
        fixed: Any = value
        keep = False
        if kind == "status":
            if isinstance(value, str) and value in STATUSES:
                continue
            low = value.strip().lower() if isinstance(value, str) else None
            fixed, keep = (low, False) if low in STATUSES else ("pending", True)
            out.append(f"field 'status' is {_show(value)} — use one of {', '.join(STATUSES)}; made {fixed}"
                       + (" (the value kept in the sample's 'kept' field)" if keep else ""))
            _set(doc, name, fixed, value, keep)
            continue
        if kind == "tags":
            if isinstance(value, list) and all(isinstance(t, str) for t in value):
                continue
            if value is None:
                fixed = []
            elif isinstance(value, str):
                fixed = [value] if value.strip() else []
            elif isinstance(value, list):
                fixed = [t if isinstance(t, str) else _json_text(t) for t in value]
            else:
                fixed = [_json_text(value)]
        elif kind in ("str", "str?"):
            if isinstance(value, str) or (value is None and kind == "str?"):
                continue
            fixed = "" if value is None else _json_text(value)
        elif kind in ("dict", "dict?", "list"):
            typ = list if kind == "list" else dict
            if isinstance(value, typ) or (value is None and kind == "dict?"):
                continue
            fixed, keep = typ(), value is not None
        elif kind in ("int", "int?", "num", "num?"):
            whole = kind.startswith("int")
            if (value is None and kind.endswith("?")) or (
                    not isinstance(value, bool) and isinstance(value, (int, float) if not whole else int)):
                continue
            fixed = _number(value, whole)
            if fixed is None:
                fixed = None if kind.endswith("?") else defaults.get(name, 0)
                keep = value is not None
        elif kind == "bool":
            if isinstance(value, bool):
                continue
            low = str(value).strip().lower()
            fixed = True if low in ("true", "1", "yes") else False if low in ("false", "0", "no", "", "none") else None
            if fixed is None:
                fixed, keep = False, True
        out.append(f"field {name!r} is {_show(value)} — use {_WANT[kind]}; made {_show(fixed)}"
                   + (" (the value kept in the sample's 'kept' field)" if keep else ""))
        _set(doc, name, fixed, value, keep)
    return out


def _set(doc: dict[str, Any], name: str, fixed: Any, value: Any, keep: bool) -> None:
    doc[name] = fixed
    if keep:
        kept = doc.get("kept")
        if not isinstance(kept, dict):
            kept = doc["kept"] = {}
        kept.setdefault(name, value)


def is_clean(sample: dict[str, Any]) -> bool:
    """A sample whose text is an answer: not failed and not flagged."""
    return sample.get("status") != "failed" and not sample.get("flag")


# ---------------------------------------------------------------------------------------------- secrets

_SECRET_NAME = re.compile(
    r"(^|[_-])(api[_-]?key|apikey|key|secret|client[_-]?secret|password|passwd|token|access[_-]?token|"
    r"auth|authorization|credentials?|bearer|cookie)$", re.I)
_HEADER_NAMES = frozenset({"headers", "extra_headers", "default_headers"})


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True for a parameter or field name that holds a credential (api_key, token, password, ...) or a
    header dict (which may carry one). Cached: the same few names come back on every sample."""
    return bool(_SECRET_NAME.search(name)) or name.lower() in _HEADER_NAMES


KEY_REDACTED = "[redacted]"
# Shapes of provider keys: OpenAI/Anthropic, AWS access key ids, GitHub, Hugging Face, Slack, bearer headers.
# The one pattern: exports (export/scrub.py), stored template text and stored params all use it.
KEY_SHAPE = re.compile(
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|hf_[A-Za-z0-9]{30,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}|Bearer\s+[A-Za-z0-9._\-]{20,}")


# Starts of those shapes: a fast `in` scan first, so text without any (almost all) skips the regex.
_KEY_STARTS = ("sk-", "AKIA", "hf_", "xox", "Bearer")
_GITHUB_START = re.compile(r"gh[pousr]_")


def may_hold_key(text: str) -> bool:
    """True when `text` holds the start of a key shape: the cheap test before KEY_SHAPE's full search
    (False for almost all text)."""
    return any(k in text for k in _KEY_STARTS) or _GITHUB_START.search(text) is not None


def redact_keys(text: str) -> str:
    """`text` with every key-shaped string (KEY_SHAPE) replaced by `[redacted]`."""
    if not may_hold_key(text):
        return text
    return KEY_SHAPE.sub(KEY_REDACTED, text)


def redact_keys_in(value: Any) -> Any:
    """`value` (text, or dicts and lists of it) with key-shaped text redacted; names and other values kept."""
    if isinstance(value, str):
        return redact_keys(value)
    if isinstance(value, dict):
        return {k: redact_keys_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_keys_in(v) for v in value]
    return value


def scrub_params(params: Any) -> Any:
    """`params` without secret-named entries, recursively (header dicts dropped whole), and key-shaped text
    in any other value (`user: sk-...`) redacted: what a session, a cache entry or an export may hold of a
    request's parameters."""
    if isinstance(params, dict):
        return {k: scrub_params(v) for k, v in params.items() if not (isinstance(k, str) and is_secret_name(k))}
    if isinstance(params, list):
        return [scrub_params(v) for v in params]
    if isinstance(params, str):
        return redact_keys(params)
    return params


# ---------------------------------------------------------------------------------------------- verdicts

# "VERDICT: correct", "Verdict - incorrect", "**Verdict:** Correct", "VERDICT:\n\n**incorrect**",
# "verdict = unsure", "Final verdict: `incorrect`": the word verdict, then only punctuation, markup and
# whitespace, then the verdict word.
_VERDICT = re.compile(r"\bverdict\b[\s:=\-–—*_#`'\"|>.]{0,24}(correct|incorrect|unsure)\b", re.I)


def parse_verdict(output: str | None, parsed: Any = None) -> Verdict:
    """correct / incorrect / unsure from a verifier's reply: a structured reply's `verdict` field, else
    the LAST "verdict: x" in the text (a model may quote the format before answering); unsure when none.
    The one parser for follow-ups made during a run and by `studio verify`."""
    if isinstance(parsed, dict):
        v = str(parsed.get("verdict", "")).strip().lower()
        if v in VERDICTS:
            return v                                     # type: ignore[return-value]
    found = _VERDICT.findall(output or "")
    return found[-1].lower() if found else "unsure"      # type: ignore[return-value]


def followup_inputs(sample: dict[str, Any]) -> dict[str, str]:
    """What a follow-up template (e.g. double-check) reads of the sample it checks: `prompt` (the user
    turns joined: the task, not the template's system prompt), `output` and its alias `response`."""
    msgs = [m for m in sample.get("messages") or () if isinstance(m, dict)]
    users = [str(m.get("content") or "") for m in msgs if m.get("role") == "user"]
    prompt = "\n\n".join(users) if users else "\n\n".join(str(m.get("content") or "") for m in msgs)
    output = sample.get("output") or ""
    return {"prompt": prompt, "output": output, "response": output}


def followup_result(*, output: str | None, parsed: Any = None, model: str, template_version: str = "",
                    error: str | None = None, tokens_in: int | None = None, tokens_out: int | None = None,
                    cost: float | None = None, cached: bool = False, at: float | None = None) -> FollowUp:
    """The one shape a follow-up's result is stored in; the verdict is parsed here (None on failure)."""
    return {"output": output, "parsed": parsed, "verdict": None if error else parse_verdict(output, parsed),
            "model": model, "template_version": template_version, "error": error, "tokens_in": tokens_in,
            "tokens_out": tokens_out, "cost": cost, "cached": cached, "at": at}


# ---------------------------------------------------------------------------------------------- index columns

#: Column codes of the store's in-memory index (studio.store.index) and NAME.index files.
INDEX_CODES = {"status": "st", "tags": "tg", "template": "tp", "template_version": "v", "created": "c",
               "reviewed": "r", "cost": "co", "latency": "la", "slots": "sl", "model": "md",
               "persona": "pa", "followups": "fu", "flag": "fl", "cached": "ca"}


def index_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The few fields the in-memory indexes need, under their INDEX_CODES; written into journal headers
    and NAME.index. Slot and persona values become categories (category_of); `fl` is "" when clean; `co` is
    what the sample cost (core.cost.sample_cost: $0 when cached or an unbilled failure, None when unknown)
    and `ca` is ["cached"] when it was answered from the request cache (else [])."""
    slots = doc.get("slots") or {}
    persona = doc.get("persona")
    followups = doc.get("followups")
    return {
        "st": doc.get("status") or "pending",
        "tg": list(doc.get("tags") or ()),
        "tp": doc.get("template") or "",
        "v": doc.get("template_version") or "",
        "c": doc.get("created"),
        "r": doc.get("reviewed"),
        "co": sample_cost(doc),
        "la": doc.get("latency"),
        "sl": {str(k): c for k, v in slots.items() if (c := category_of(v)) is not None}
        if isinstance(slots, dict) else {},
        "md": doc.get("model"),
        "pa": {str(k): c for k, v in persona.items() if k != "text" and (c := category_of(v)) is not None}
        if isinstance(persona, dict) else {},
        "fu": [str(k) for k in followups] if isinstance(followups, dict) else [],
        "fl": doc.get("flag") or "",
        "ca": ["cached"] if doc.get("cached") else [],
    }


def category_of(value: Any) -> str | None:
    """A slot or persona value as an index key and analysis category; None for lists, dicts and null."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return value if isinstance(value, str) else str(value)
