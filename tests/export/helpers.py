"""Checks the way trainers check their input, written out so a test says what it requires."""

from __future__ import annotations

ROLES = {"system", "user", "assistant"}
MESSAGE_KEYS = {"role", "content", "name", "weight"}


def openai_chat_errors(example) -> list[str]:
    """The checks of OpenAI's fine-tuning data preparation guide (chat format), per example."""
    errors = []
    if not isinstance(example, dict):
        return ["data_type"]
    if set(example) - {"messages", "tools", "parallel_tool_calls"}:
        errors.append("unrecognized_top_level_key")
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return errors + ["missing_messages_list"]
    for m in messages:
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            errors.append("message_missing_key")
            continue
        if set(m) - MESSAGE_KEYS:
            errors.append("message_unrecognized_key")
        if m["role"] not in ROLES:
            errors.append("unrecognized_role")
        if not isinstance(m["content"], str) or not m["content"].strip():
            errors.append("missing_content")
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        errors.append("example_missing_assistant_message")
    if isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
        errors.append("assistant_not_last")
    return errors


def openai_preference_errors(example) -> list[str]:
    """OpenAI preference (DPO) fine-tuning: input.messages ends with a user turn; one assistant
    message each for preferred and non-preferred output, non-empty and different."""
    errors = []
    if set(example) != {"input", "preferred_output", "non_preferred_output"}:
        errors.append("keys")
    msgs = (example.get("input") or {}).get("messages")
    if not isinstance(msgs, list) or not msgs:
        return errors + ["missing_input_messages"]
    for m in msgs:
        if set(m) - MESSAGE_KEYS or m.get("role") not in ROLES:
            errors.append("bad_input_message")
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            errors.append("missing_content")
    if msgs[-1].get("role") != "user":
        errors.append("input_not_ending_with_user")
    outs = []
    for key in ("preferred_output", "non_preferred_output"):
        out = example.get(key)
        if not (isinstance(out, list) and len(out) == 1 and out[0].get("role") == "assistant"
                and isinstance(out[0].get("content"), str) and out[0]["content"].strip()):
            errors.append(f"bad_{key}")
        else:
            outs.append(out[0]["content"])
    if len(outs) == 2 and outs[0] == outs[1]:
        errors.append("identical_outputs")
    return errors
