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


SECTION_LABELS = ("system:", "user:", "assistant:")


def conversations(fmt: str, row: dict) -> list[list[dict]]:
    """The conversations a row teaches, as role/content lists (preference rows: chosen and rejected)."""
    if fmt == "openai-chat":
        return [row["messages"]]
    if fmt in ("sft", "kto"):
        return [row["prompt"] + row["completion"]]
    if fmt == "preference":
        return [row["prompt"] + row["chosen"], row["prompt"] + row["rejected"]]
    if fmt == "openai-preference":
        msgs = row["input"]["messages"]
        return [msgs + row["preferred_output"], msgs + row["non_preferred_output"]]
    if fmt == "sharegpt":
        role = {"system": "system", "human": "user", "gpt": "assistant"}
        return [[{"role": role.get(t["from"], t["from"]), "content": t["value"]} for t in row["conversations"]]]
    if fmt == "alpaca":
        system = [{"role": "system", "content": row["system"]}] if row["system"] else []
        return [system + [{"role": "user", "content": row["instruction"]},
                          {"role": "assistant", "content": row["output"]}]]
    if fmt == "sft-text":
        return [[{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["completion"]}]]
    raise ValueError(fmt)


def conversation_errors(conv: list[dict], *, echo_allowed: bool = False) -> list[str]:
    """What a trainer (or a careful reader) objects to: role order, empty turns, section labels, echoes."""
    errors = []
    roles = [m["role"] for m in conv]
    body = roles[1:] if roles[:1] == ["system"] else roles
    if not body or body != ["user", "assistant"] * (len(body) // 2) or len(body) % 2:
        errors.append("role_order")
    if any(not isinstance(m["content"], str) or not m["content"].strip() for m in conv):
        errors.append("empty_turn")
    for m in conv:
        if any(line.strip() in SECTION_LABELS for line in str(m["content"]).split("\n")):
            errors.append("section_label")
    if not echo_allowed and len(conv) >= 2 and conv[-1]["content"].strip() == conv[-2]["content"].strip():
        errors.append("echo")
    return errors
