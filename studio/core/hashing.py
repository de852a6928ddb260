"""Content hashes shared by the layers: the same filled prompt gets the same key everywhere."""

from __future__ import annotations

import hashlib

import orjson


def prompt_hash(messages: list) -> str:
    """12-hex hash of rendered messages (a sample's `prompt_hash`): runs, the store and exports agree."""
    return hashlib.sha256(orjson.dumps(messages)).hexdigest()[:12]
