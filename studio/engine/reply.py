"""One reading of a chat-completion reply, whichever path brought it (the fast aiohttp path or litellm).

Every shape a provider sends gets one decision here, so a sample is either clean text, text with a
`flag` saying why it is not clean, or a failure whose reason says what to do:

* text, finish_reason stop              -> clean
* text, finish_reason length            -> flag "cut-off"; content_filter -> flag "filtered"
* message.refusal                       -> flag "refusal", the refusal text as output
* content as a list of parts            -> text parts joined; thinking/reasoning parts -> `reasoning`
* reasoning_content / reasoning / thinking (or a leading <think> block) -> `reasoning`, never in output
* empty or null text, tool_calls only, no choices, text not storable as UTF-8 -> `Unanswerable`: the
  same request would come back the same, so it is not retried (the usage it carried is still counted)
* finish_reason error, an unreadable body -> `Transient` (retried)
* an error object in a 200 body          -> classified like the HTTP status it names
* no usage                              -> kept; tokens unknown (None), never 0
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from studio.engine.types import Fatal, RateLimited, Transient, Unanswerable

# finish_reason as OpenAI-compatible servers spell it, and as some pass on the upstream's spelling
FLAGS = {"length": "cut-off", "max_tokens": "cut-off", "max_output_tokens": "cut-off", "content_filter": "filtered",
         "safety": "filtered", "recitation": "filtered", "prohibited_content": "filtered", "blocklist": "filtered"}
_TEXT_PARTS = frozenset({"text", "output_text"})
_THINK_PARTS = frozenset({"thinking", "reasoning", "redacted_thinking"})


@dataclass(slots=True)
class Reply:
    """One provider reply, normalised (`from_bytes` / `from_dict`): the answer text (None when there is none),
    token counts (None when the reply gave no usage), headers, finish_reason, reasoning apart, and a flag
    (cut-off / filtered / refusal) when the text is not clean. Unusable replies raise Unanswerable instead."""

    output: str | None
    tokens_in: int | None
    tokens_out: int | None
    headers: Any = None
    finish_reason: str | None = None
    reasoning: str | None = None
    flag: str | None = None


def from_bytes(raw: bytes, params: dict | None = None, headers: Any = None) -> Reply:
    """The fast path: the body as the server sent it."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = _lenient(raw)  # orjson refuses lone surrogates and bad UTF-8 that the standard library reads
    return from_dict(data, params, headers)


def _lenient(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:  # read with U+FFFD where the bytes were bad: _storable then rejects the text
        try:
            return json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            raise Transient("unreadable reply: the body is not JSON") from None
    except ValueError as exc:
        raise Transient(f"unreadable reply: {str(exc)[:120]}") from None


def from_dict(data: Any, params: dict | None = None, headers: Any = None) -> Reply:
    """Decide what one OpenAI-format reply means for the sample (see the module docstring)."""
    if not isinstance(data, dict):
        raise Transient("unreadable reply: the body is not a JSON object")
    tin, tout = _usage(data.get("usage"))
    choices = data.get("choices")
    if not choices or not isinstance(choices, list):
        error = data.get("error")
        if error:
            raise _body_error(error, tin, tout)
        raise Unanswerable("the provider's reply held no answer (an empty choices list; often its filter on the "
                           "prompt): look at the prompt, or try another model", tokens_in=tin, tokens_out=tout)
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise Transient("unreadable reply: the first choice has no message", tokens_in=tin, tokens_out=tout)
    finish = choice.get("finish_reason")
    content = message.get("content")
    reasoning = _reasoning(message)
    if content is not None and not isinstance(content, str):
        content, thought = _join_parts(content)
        if thought:
            reasoning = f"{reasoning}\n{thought}" if reasoning else thought
    if content and content.startswith("<think>"):  # a reasoning model served without a reasoning parser
        head, sep, rest = content[7:].partition("</think>")
        reasoning = f"{reasoning}\n{head.strip()}" if reasoning else head.strip()
        content = rest.lstrip() if sep else ""
    elif reasoning and content and content[:1] in "\n ":
        content = content.lstrip("\n ")  # what litellm leaves where it took a <think> block out
    refusal = message.get("refusal")
    if not isinstance(finish, str):
        finish = None
    if finish == "error":
        raise Transient("the provider reported an error mid-reply (finish_reason error)", tokens_in=tin, tokens_out=tout,
                        finish_reason=finish)
    flag = FLAGS.get(finish.lower()) if finish else None
    if refusal and isinstance(refusal, str):
        flag = "refusal"
        content = content or refusal
    if not content or not content.strip():
        kind = {"cut-off": "length", "filtered": "content_filter"}.get(flag or "", finish)
        raise Unanswerable(_why_empty(kind, reasoning, message, params, tout), tokens_in=tin, tokens_out=tout,
                           finish_reason=finish)
    _storable(content, "answer", tin, tout, finish)
    if reasoning:
        _storable(reasoning, "reasoning", tin, tout, finish)
    return Reply(content, tin, tout, headers, finish, reasoning or None, flag)


def from_litellm(mr: Any, params: dict | None = None, headers: Any = None) -> Reply:
    """litellm's ModelResponse, read into the same wire shape and decided the same way."""
    choices = []
    for choice in getattr(mr, "choices", None) or []:
        msg = getattr(choice, "message", None)
        message: dict[str, Any] = {}
        if msg is not None:
            for name in ("content", "refusal", "tool_calls", "function_call", "reasoning_content", "reasoning",
                         "thinking", "thinking_blocks"):
                value = getattr(msg, name, None)
                if value is not None:
                    message[name] = value
        choices.append({"message": message, "finish_reason": getattr(choice, "finish_reason", None)})
    usage = getattr(mr, "usage", None)
    data: dict[str, Any] = {"choices": choices}
    if usage is not None:
        data["usage"] = {"prompt_tokens": getattr(usage, "prompt_tokens", None),
                         "completion_tokens": getattr(usage, "completion_tokens", None)}
    return from_dict(data, params, headers)


def _usage(usage: Any) -> tuple[int | None, int | None]:
    if not isinstance(usage, dict):
        return None, None
    tin, tout = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (tin if isinstance(tin, int) else None), (tout if isinstance(tout, int) else None)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # thinking_blocks, reasoning_details: [{"thinking"/"text": ...}]
        return "\n".join(_text(v) for v in value if v)
    if isinstance(value, dict):
        return str(value.get("thinking") or value.get("text") or value.get("content") or "")
    return str(value) if value else ""


def _reasoning(message: dict) -> str:
    for name in ("reasoning_content", "reasoning", "thinking", "thinking_blocks", "reasoning_details"):
        value = message.get(name)
        if value:
            text = _text(value).strip()
            if text:
                return text
    return ""


def _join_parts(content: Any) -> tuple[str, str]:
    """[{"type": "text", "text": ...}, {"type": "thinking", ...}] -> (text joined, thinking joined)."""
    if not isinstance(content, list):
        return str(content), ""
    text, thought = [], []
    for part in content:
        if isinstance(part, str):
            text.append(part)
        elif isinstance(part, dict):
            kind = part.get("type")
            if kind in _THINK_PARTS:
                thought.append(_text(part))
            elif kind in _TEXT_PARTS or (kind is None and "text" in part):
                t = part.get("text")
                text.append(t if isinstance(t, str) else _text(t))
    return "".join(text), "\n".join(t for t in thought if t)


def _max_tokens(params: dict | None, tout: int | None) -> Any:
    params = params or {}
    return params.get("max_tokens") or params.get("max_completion_tokens") or tout


def _why_empty(finish: Any, reasoning: str, message: dict, params: dict | None, tout: int | None) -> str:
    calls = message.get("tool_calls") or ([message["function_call"]] if message.get("function_call") else [])
    if calls:
        names = []
        for call in calls if isinstance(calls, list) else [calls]:
            fn = call.get("function", call) if isinstance(call, dict) else getattr(call, "function", call)
            name = fn.get("name") if isinstance(fn, dict) else getattr(fn, "name", None)
            if name:
                names.append(str(name))
        called = f" ({', '.join(names)})" if names else ""
        return (f"the model called a tool{called} instead of answering in text: templates offer no tools; "
                "ask for the answer in the prompt, or pick a model that answers in text")
    n = _max_tokens(params, tout)
    limit = f"all {n} max_tokens" if n else "all its max_tokens"
    if finish == "length":
        if reasoning:
            return f"the model used {limit} before answering (all of it reasoning): raise max_tokens"
        return f"the reply was cut off at {limit.removeprefix('all ')} before any text: raise max_tokens"
    if finish == "content_filter":
        return "the provider's content filter withheld the whole reply: change the prompt or the model"
    if reasoning:
        return (f"the model reasoned but gave no answer (finish_reason {finish}): raise max_tokens or ask for "
                "the answer explicitly")
    return f"the model returned no text (finish_reason {finish}): the same request would get the same; change " \
           "the prompt or the model"


def _storable(text: str, what: str, tin: int | None, tout: int | None, finish: str | None = None) -> None:
    """A lone surrogate (e.g. \\ud83d) is valid JSON but not UTF-8: no session or cache can hold it. U+FFFD
    is what a client leaves where bytes were not UTF-8: text with holes is not a training sample."""
    try:
        text.encode("utf-8")
        bad = text.find("\ufffd")
        if bad >= 0:
            raise Unanswerable(f"the {what} holds text that was not valid UTF-8 (U+FFFD at character {bad}), "
                               "so it was not saved as an answer", tokens_in=tin, tokens_out=tout,
                               finish_reason=finish)
    except UnicodeEncodeError as exc:
        shown = text[exc.start:exc.end].encode("unicode_escape", "backslashreplace").decode("ascii")
        raise Unanswerable(f"the {what} holds text that is not valid Unicode ({shown} at character {exc.start}), "
                           "so it cannot be stored; the model's text was not saved", tokens_in=tin,
                           tokens_out=tout, finish_reason=finish) from None


def _body_error(error: Any, tin: int | None, tout: int | None) -> Exception:
    """{"error": {...}} in a 200 reply (OpenRouter, some proxies): as the status it names."""
    if isinstance(error, dict):
        message = str(error.get("message") or error)[:300]
        code = error.get("code") or error.get("status")
    else:
        message, code = str(error)[:300], None
    try:
        status = int(code) if code is not None else None
    except (TypeError, ValueError):
        status = None
    reason = f"the provider answered with an error: {message}"
    if status == 429 or "rate limit" in message.lower():
        return RateLimited(reason)
    if status is None or status >= 500 or status in (408, 409):
        return Transient(reason, tokens_in=tin, tokens_out=tout)
    return Fatal(reason)
