"""What a session file holds, its schema version, and the migrations from older versions.

Schema 3 (current): as schema 2, but the `samples` table lives in segment files NAME.samples/0000K.json
(studio.store.snapshot), NAME.json keeping the other tables (and an empty `samples`); meta doc 1 also has
`segment_samples` (sample ids per segment). Migrating from 2 changes no record: the next fold moves the
samples out of NAME.json (the old file is kept as NAME.json.v2-backup).

Schema 2: tables `meta` (doc 1: name, created, model, labels, schema_version),
`templates`, `runs`, `samples` (the sample record in docs/ARCHITECTURE.md) and `feedback`, all in NAME.json.

Schema 1 (the first prototype's files, see tests/store/fixtures/schema_v1.json): session
metadata in `_default` doc 1 with `"schema": 1`; samples with `template_hash`, a `verdict` of
new/accepted/rejected/error, comma-separated `tags`, `notes`, ISO-8601 times; templates keyed
by `hash`; no fill_key, prompt_hash, mode or params.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from studio.core.record import new_sample

SCHEMA_VERSION = 3
SEGMENT_SAMPLES = 10_000    # sample ids per segment file of a new session (see studio.store.snapshot)
TABLES = ("meta", "templates", "runs", "feedback", "judgements")   # small tables; `samples` is separate
# judgements: explicit pair judgements, {chosen, rejected (sample ids), prompt_hash, created, withdrawn}
DEFAULT_LABELS = ["incorrect", "unsafe", "too-long", "too-short", "off-topic",
                  "bad-format", "repetitive", "wrong-tone", "other"]


def schema_of(data: Any) -> int | None:
    """The schema version of a parsed TinyDB file, or None when it is not a studio session."""
    if not isinstance(data, dict):
        return None
    meta = data.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("1"), dict):
        v = meta["1"].get("schema_version")
        if isinstance(v, int):
            return v
    default = data.get("_default")
    if isinstance(default, dict) and isinstance(default.get("1"), dict) and default["1"].get("schema") == 1:
        return 1
    return None


def describe_foreign(data: Any) -> str:
    """What a JSON file that is not a studio session holds, in words (for the error message)."""
    if not isinstance(data, dict):
        return f"the file holds a JSON {type(data).__name__}, not a TinyDB database"
    tables = ", ".join(sorted(map(str, data))[:5]) or "no tables"
    return f"a JSON object without a studio `meta` table (found: {tables})"


def _epoch(value: Any) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _v1_to_v2(data: dict) -> dict:
    old_meta = data.get("_default", {}).get("1", {})
    now = time.time()
    meta = {
        "name": old_meta.get("session", ""), "created": _epoch(old_meta.get("created")) or now,
        "model": old_meta.get("model"), "labels": list(old_meta.get("labels") or DEFAULT_LABELS),
        "schema_version": 2, "migrated_from": 1,
    }
    templates = {}
    for k, t in (data.get("templates") or {}).items():
        templates[k] = {"name": t.get("name", ""), "version": t.get("hash", ""), "text": t.get("text", ""),
                        "saved": _epoch(t.get("saved")) or now}
    verdicts = {"new": "pending", "accepted": "accepted", "rejected": "rejected", "error": "failed"}
    from studio.core.expand import fill_key   # the same fill identity the expander gives new samples

    samples = {}
    for k, s in (data.get("samples") or {}).items():
        tags = s.get("tags") or ""
        slots = s.get("slots") or {}
        doc = new_sample({
            "template": s.get("template", ""), "template_version": s.get("template_hash", ""),
            "fill_key": fill_key(slots), "slots": slots, "messages": s.get("messages") or [],
            "output": s.get("output"), "model": s.get("model", ""), "seed": s.get("seed"),
            "run_id": s.get("run", ""), "status": verdicts.get(s.get("verdict"), "pending"),
            "error": s.get("error"), "tags": [t.strip() for t in tags.split(",") if t.strip()],
            "note": s.get("notes") or "", "cost": s.get("cost"), "latency": s.get("latency"),
            "created": _epoch(s.get("created")) or now, "reviewed": _epoch(s.get("reviewed")),
        }, now)
        doc["mode"] = "render" if doc["model"] == "render" else "generate"
        samples[k] = doc
    runs = {k: {**r, "run_id": r.get("run_id") or r.get("id") or f"run{k}"} for k, r in (data.get("runs") or {}).items()}
    return {"_default": {}, "meta": {"1": meta}, "templates": templates, "runs": runs,
            "samples": samples, "feedback": {}}


def _v2_to_v3(data: dict) -> dict:
    meta = data["meta"]["1"]
    meta["schema_version"] = 3          # the session sets `segment_samples` (the size it splits the samples by)
    return data


MIGRATIONS = {1: _v1_to_v2, 2: _v2_to_v3}


def migrate(data: dict, version: int) -> dict:
    """Bring a parsed file up to SCHEMA_VERSION, one step at a time."""
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    return data
