"""A cheap structural check that vouches for an embeddings body the pydantic schema would accept unchanged.

Conservative by design: True only when every field the schema declares has a type it accepts as it is (the
schema accepts unknown fields, so those pass through). Anything else, valid or not, goes to the pydantic model,
which keeps the exact 400 messages. Mirrors `schemas/embeddings.py`: change them together. (Chat bodies need no
such check: the typed core's `decode_chat_request` validates them in its one parse.)
"""
from __future__ import annotations

from typing import Any


def _opt_str(v: Any) -> bool:
    return v is None or type(v) is str


def plain_embeddings(d: Any) -> bool:
    """True when EmbeddingRequest would accept `d` unchanged (`input` is checked by the converter)."""
    return (type(d) is dict and "input" in d and _opt_str(d.get("model")) and _opt_str(d.get("user"))
            and d.get("encoding_format") in (None, "float", "base64")
            and (d.get("dimensions") is None or type(d["dimensions"]) is int))
