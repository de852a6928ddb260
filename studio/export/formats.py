"""The export formats: one pure function per format from a sample (or a pair) to one output row.

Row functions take records passed through `clean.clean` (the clean stage does it once per sample).

Rows carry only what the trainer reads (OpenAI rejects unknown keys); provenance goes in `raw`.
Each format also names its Parquet schema so every column has one type, whatever the rows hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from studio.export.records import assistant, completion, flat_prompt, json_text, prompt_key, prompt_messages
from studio.core.record import scrub_params


@dataclass(frozen=True)
class Pair:
    """One preference pair: a prompt with a chosen and a rejected completion."""

    prompt: list[dict[str, str]]
    chosen: str
    rejected: str
    template: str
    source: str                      # "decisions" (accepted vs rejected) or "contrast" (one sample)
    ids: tuple[int, ...]             # the sample ids it came from
    group: str                       # prompt key: pairs of one prompt stay in one split


def contrast_pair(rec: dict) -> Pair | None:
    """A preference pair held inside one accepted structured sample (`parsed` with non-empty "chosen" and
    "rejected" strings, optional "prompt"), or None when the sample holds none."""
    parsed = rec.get("parsed")
    if rec.get("status") != "accepted" or not isinstance(parsed, dict):
        return None
    chosen, rejected = parsed.get("chosen"), parsed.get("rejected")
    if not (isinstance(chosen, str) and isinstance(rejected, str) and chosen.strip() and rejected.strip()):
        return None
    question = parsed.get("prompt")
    if isinstance(question, str) and question.strip():
        prompt = [{"role": "user", "content": question}]
    else:
        prompt = prompt_messages(rec)
    return Pair(prompt, chosen, rejected, str(rec.get("template") or ""), "contrast", (int(rec.get("id") or 0),),
                prompt_key(rec))


@dataclass(frozen=True)
class Format:
    """One export format (FORMATS): its `name`, a `summary`, the `row` function (prepared sample or pair -> row
    dict), the Parquet `schema`, the `statuses` it exports by default, whether rows are `paired` (preference),
    the `trainers` that load it and `notes` for the card."""

    name: str
    summary: str
    row: Callable[[Any], dict]
    schema: Callable[[], Any]        # -> pyarrow.Schema (pyarrow imported only when called)
    statuses: tuple[str, ...] = ("accepted",)
    paired: bool = False
    trainers: str = ""
    notes: list[str] = field(default_factory=list)


def _msgs_type(pa):
    return pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


# ---- rows -------------------------------------------------------------------------------------

def openai_chat_row(rec: dict) -> dict:
    """OpenAI chat fine-tuning: {"messages": prompt messages + the assistant's output}."""
    return {"messages": [*rec["messages"], {"role": "assistant", "content": rec["output"]}]}


def sft_row(rec: dict) -> dict:
    """TRL conversational prompt/completion: {"prompt": messages, "completion": [assistant message]}."""
    return {"prompt": rec["messages"], "completion": [{"role": "assistant", "content": rec["output"]}]}


def sft_text_row(rec: dict) -> dict:
    """TRL standard prompt/completion: the prompt flattened to text, the completion as text."""
    return {"prompt": flat_prompt(prompt_messages(rec)), "completion": completion(rec)}


def preference_row(p: Pair) -> dict:
    """TRL preference: {"prompt": messages, "chosen": [assistant], "rejected": [assistant]}."""
    return {"prompt": p.prompt, "chosen": assistant(p.chosen), "rejected": assistant(p.rejected)}


def openai_preference_row(p: Pair) -> dict:
    """OpenAI DPO: {"input": {"messages"}, "preferred_output": [assistant], "non_preferred_output": [assistant]}."""
    return {"input": {"messages": p.prompt}, "preferred_output": assistant(p.chosen),
            "non_preferred_output": assistant(p.rejected)}


def kto_row(rec: dict) -> dict:
    """TRL KTO (unpaired): prompt/completion messages and "label" (True when the sample was accepted)."""
    return {"prompt": rec["messages"], "completion": [{"role": "assistant", "content": rec["output"]}],
            "label": rec.get("status") == "accepted"}


def alpaca_row(rec: dict) -> dict:
    """Alpaca: {"instruction": the prompt as text, "input": "", "output", "system": the system messages}."""
    msgs = prompt_messages(rec)
    system = "\n\n".join(m["content"] for m in msgs if m["role"] == "system")
    rest = [m for m in msgs if m["role"] != "system"]
    return {"instruction": flat_prompt(rest) if rest else "", "input": "", "output": completion(rec),
            "system": system}


_FROM = {"system": "system", "user": "human", "assistant": "gpt"}


def sharegpt_row(rec: dict) -> dict:
    """ShareGPT: {"conversations": [{"from": system|human|gpt, "value": text}, ...]} ending with the output."""
    conv = [{"from": _FROM.get(m["role"], m["role"]), "value": m["content"]} for m in prompt_messages(rec)]
    conv.append({"from": "gpt", "value": completion(rec)})
    return {"conversations": conv}


def raw_row(rec: dict) -> dict:
    """Every field with its provenance; free-form values (persona, parsed, params) as JSON text."""
    followups = []
    for name, f in sorted((rec.get("followups") or {}).items()):
        f = f if isinstance(f, dict) else {"output": f}
        followups.append({"template": str(name), "verdict": _str(f.get("verdict")),
                          "output": _str(f.get("output")), "model": _str(f.get("model"))})
    return {
        "id": _int(rec.get("id")),
        "template": _str(rec.get("template")),
        "template_version": _str(rec.get("template_version")),
        "fill_key": _str(rec.get("fill_key")),
        "prompt_hash": _str(rec.get("prompt_hash")),
        "slots": [{"name": str(k), "value": _str(v)} for k, v in (rec.get("slots") or {}).items()],
        "persona": json_text(rec.get("persona")),
        "messages": prompt_messages(rec),
        "output": rec.get("output") if isinstance(rec.get("output"), str) else None,  # clean: "" if none
        "parsed": json_text(rec.get("parsed")),
        "mode": _str(rec.get("mode")),
        "model": _str(rec.get("model")),
        "params": json_text(scrub_params(rec.get("params") or {})),
        "seed": _int(rec.get("seed")),
        "run_id": _str(rec.get("run_id")),
        "status": _str(rec.get("status")),
        "error": rec.get("error") if isinstance(rec.get("error"), str) else None,
        "tags": [str(t) for t in rec.get("tags") or []],
        "note": _str(rec.get("note")),
        "followups": followups,
        "tokens_in": _int(rec.get("tokens_in")),
        "tokens_out": _int(rec.get("tokens_out")),
        "cost": _float(rec.get("cost")),
        "latency": _float(rec.get("latency")),
        "cached": bool(rec.get("cached")),
        "created": _float(rec.get("created")),
        "reviewed": _float(rec.get("reviewed")),
        # what the provider said and how the answer was made (studio.core.record): a cut-off or filtered
        # answer says so here too, and reasoning kept apart from the output is exported beside it
        "finish_reason": rec.get("finish_reason") if isinstance(rec.get("finish_reason"), str) else None,
        "flag": rec.get("flag") if isinstance(rec.get("flag"), str) else None,
        "reasoning": rec.get("reasoning") if isinstance(rec.get("reasoning"), str) else None,
        "endpoint": rec.get("endpoint") if isinstance(rec.get("endpoint"), str) else None,
        "attempts": _int(rec.get("attempts")),
        "answer": _int(rec.get("answer")),
    }


# raw_row calls these 20 times a sample: the common type is checked first, by identity

def _str(v) -> str:
    return v if type(v) is str else "" if v is None else str(v)


def _int(v):
    if type(v) is int:
        return v
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _float(v):
    if type(v) is float:
        return v
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


# ---- schemas ----------------------------------------------------------------------------------

def _schema(build):
    def make():
        import pyarrow as pa

        return pa.schema(build(pa))
    return make


_chat = _schema(lambda pa: [("messages", _msgs_type(pa))])
_sft = _schema(lambda pa: [("prompt", _msgs_type(pa)), ("completion", _msgs_type(pa))])
_sft_text = _schema(lambda pa: [("prompt", pa.string()), ("completion", pa.string())])
_pref = _schema(lambda pa: [("prompt", _msgs_type(pa)), ("chosen", _msgs_type(pa)), ("rejected", _msgs_type(pa))])
_oai_pref = _schema(lambda pa: [("input", pa.struct([("messages", _msgs_type(pa))])),
                                ("preferred_output", _msgs_type(pa)), ("non_preferred_output", _msgs_type(pa))])
_kto = _schema(lambda pa: [("prompt", _msgs_type(pa)), ("completion", _msgs_type(pa)), ("label", pa.bool_())])
_alpaca = _schema(lambda pa: [("instruction", pa.string()), ("input", pa.string()), ("output", pa.string()),
                              ("system", pa.string())])
_sharegpt = _schema(lambda pa: [("conversations", pa.list_(pa.struct([("from", pa.string()),
                                                                       ("value", pa.string())])))])
_raw = _schema(lambda pa: [
    ("id", pa.int64()), ("template", pa.string()), ("template_version", pa.string()), ("fill_key", pa.string()),
    ("prompt_hash", pa.string()),
    ("slots", pa.list_(pa.struct([("name", pa.string()), ("value", pa.string())]))),
    ("persona", pa.string()), ("messages", _msgs_type(pa)), ("output", pa.string()), ("parsed", pa.string()),
    ("mode", pa.string()), ("model", pa.string()), ("params", pa.string()), ("seed", pa.int64()),
    ("run_id", pa.string()), ("status", pa.string()), ("error", pa.string()), ("tags", pa.list_(pa.string())),
    ("note", pa.string()),
    ("followups", pa.list_(pa.struct([("template", pa.string()), ("verdict", pa.string()),
                                      ("output", pa.string()), ("model", pa.string())]))),
    ("tokens_in", pa.int64()), ("tokens_out", pa.int64()), ("cost", pa.float64()), ("latency", pa.float64()),
    ("cached", pa.bool_()), ("created", pa.float64()), ("reviewed", pa.float64()),
    ("finish_reason", pa.string()), ("flag", pa.string()), ("reasoning", pa.string()), ("endpoint", pa.string()),
    ("attempts", pa.int64()), ("answer", pa.int64()),
])

_BOTH = ("accepted", "rejected")
FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("openai-chat", "OpenAI chat fine-tuning: {messages: [system, user, assistant]}", openai_chat_row, _chat,
           trainers="OpenAI fine-tuning (SFT), TRL SFTTrainer, Axolotl chat_template"),
    Format("sft", "TRL conversational prompt-completion: {prompt: [...], completion: [assistant]}", sft_row, _sft,
           trainers="TRL SFTTrainer"),
    Format("sft-text", "TRL standard prompt-completion: {prompt: text, completion: text}", sft_text_row,
           _sft_text, trainers="TRL SFTTrainer (base models)"),
    Format("preference", "TRL conversational preference: {prompt, chosen, rejected}", preference_row, _pref,
           statuses=_BOTH, paired=True, trainers="TRL DPOTrainer, ORPO, CPO, reward modelling"),
    Format("openai-preference", "OpenAI preference (DPO): {input: {messages}, preferred_output, "
           "non_preferred_output}", openai_preference_row, _oai_pref, statuses=_BOTH, paired=True,
           trainers="OpenAI fine-tuning (DPO)"),
    Format("kto", "TRL unpaired preference: {prompt, completion, label} (accepted true, rejected false)", kto_row,
           _kto, statuses=_BOTH, trainers="TRL KTOTrainer"),
    Format("alpaca", "Alpaca: {instruction, input, output, system}", alpaca_row, _alpaca,
           trainers="Axolotl alpaca, LLaMA-Factory"),
    Format("sharegpt", "ShareGPT: {conversations: [{from: system/human/gpt, value}]}", sharegpt_row, _sharegpt,
           trainers="Axolotl sharegpt, LLaMA-Factory, TRL (after conversion)"),
    Format("raw", "every field with provenance (template version, slots, persona, model, params, tags, note, "
           "follow-up verdicts, cost)", raw_row, _raw, statuses=("accepted",), trainers="your own scripts"),
]}
