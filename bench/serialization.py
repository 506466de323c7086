"""msgspec Structs vs pydantic models for the chat hot path: decode-from-bytes and encode of a typical chat
request and answer, and of a 20-chunk stream. Also the facade's whole way in, old (orjson + pydantic +
model_dump + dict->proto) against new (decode_chat_request + typed->proto).

Run: `python bench/serialization.py [--out bench/results/serialization.md]` (CPU only, about 20 s, no network).
"""
from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path
from typing import Any, Literal

import msgspec
import orjson
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "services"), str(ROOT / "gateway-http")]

from tokenyard.inference import convert  # noqa: E402
from tokenyard.protocol import models as m  # noqa: E402
from tokenyard.protocol.openai_chat import decode_chat_request, encode_chunk, encode_completion  # noqa: E402
from tokenyard_http.schemas.chat import ChatCompletionRequest  # noqa: E402

REQUEST = orjson.dumps({
    "model": "openai/gpt-4o-mini", "temperature": 0.7, "max_tokens": 256, "stream": False, "user": "u-42",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant. " * 8},
        {"role": "user", "content": "What is the weather in Paris today? Answer briefly, in one sentence."},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\": 18, \"sky\": \"cloudy\"}"},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                                                "parameters": {"type": "object", "properties": {
                                                    "city": {"type": "string"}}, "required": ["city"]}}}],
    "tool_choice": "auto", "top_k": 5,
})
ANSWER = {"id": "chatcmpl-abc123", "object": "chat.completion", "created": 1733400000, "model": "openai/gpt-4o-mini",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "It is 18 °C and cloudy in Paris."},
                       "logprobs": None, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132}}
CHUNKS = [{"id": "chatcmpl-abc123", "object": "chat.completion.chunk", "created": 1733400000, "model": "m",
           "choices": [{"index": 0, "delta": {"content": f"word{i} "}, "logprobs": None, "finish_reason": None}]}
          for i in range(20)]


class PMessage(BaseModel):
    role: str
    content: str | None = None


class PChoice(BaseModel):
    index: int
    message: PMessage
    logprobs: None = None
    finish_reason: str | None = None


class PUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class PCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[PChoice]
    usage: PUsage | None = None


class PDelta(BaseModel):
    content: str | None = None


class PChunkChoice(BaseModel):
    index: int
    delta: PDelta
    logprobs: None = None
    finish_reason: str | None = None


class PChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[PChunkChoice]


def _per_call_us(fn: Any, number: int) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5))
    return best / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the markdown table here")
    args = parser.parse_args()
    answer, chunks = orjson.dumps(ANSWER), [orjson.dumps(c) for c in CHUNKS]
    dec_completion, dec_chunk = msgspec.json.Decoder(m.Completion), msgspec.json.Decoder(m.Chunk)
    typed_answer = dec_completion.decode(answer)
    typed_chunks = [dec_chunk.decode(c) for c in chunks]
    p_answer = PCompletion.model_validate_json(answer)
    p_chunks = [PChunk.model_validate_json(c) for c in chunks]
    pb_answer = convert.completion_to_pb(ANSWER)
    pb_chunks = [convert.chunk_to_pb(c) for c in CHUNKS]
    rows = [
        ("request: decode bytes -> model", lambda: ChatCompletionRequest.model_validate_json(REQUEST),
         lambda: decode_chat_request(REQUEST)),
        ("answer: decode bytes -> model", lambda: PCompletion.model_validate_json(answer),
         lambda: dec_completion.decode(answer)),
        ("answer: encode model -> bytes", p_answer.model_dump_json, lambda: encode_completion(typed_answer)),
        ("stream: decode 20 chunks", lambda: [PChunk.model_validate_json(c) for c in chunks],
         lambda: [dec_chunk.decode(c) for c in chunks]),
        ("stream: encode 20 chunks", lambda: [c.model_dump_json() for c in p_chunks],
         lambda: [encode_chunk(c) for c in typed_chunks]),
        ("facade way in: body -> proto (old: orjson+pydantic+model_dump+dict->proto)",
         lambda: convert.request_to_pb.__wrapped__(ChatCompletionRequest.model_validate(orjson.loads(REQUEST))
                                                   .model_dump(exclude_unset=True))
         if hasattr(convert.request_to_pb, "__wrapped__") else convert.request_to_pb(
             ChatCompletionRequest.model_validate(orjson.loads(REQUEST)).model_dump(exclude_unset=True)),
         lambda: convert.request_to_pb(decode_chat_request(REQUEST))),
        ("facade way out: proto answer -> bytes (old: proto->dict->orjson)",
         lambda: orjson.dumps(_old_completion_dict(pb_answer)),
         lambda: encode_completion(convert.completion_from_pb(pb_answer))),
        ("facade way out: 20 proto chunks -> bytes",
         lambda: [orjson.dumps(_old_chunk_dict(c)) for c in pb_chunks],
         lambda: [encode_chunk(convert.chunk_from_pb(c)) for c in pb_chunks]),
    ]
    lines = ["| step | pydantic / old µs | msgspec / new µs | speed-up |", "|---|---:|---:|---:|"]
    for name, old, new in rows:
        a, b = _per_call_us(old, 2000), _per_call_us(new, 2000)
        lines.append(f"| {name} | {a:.1f} | {b:.1f} | {a / b:.1f}× |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(_REPORT.format(python=sys.version.split()[0], msgspec=msgspec.__version__,
                                           pydantic=_pydantic_version(), table=table))


def _pydantic_version() -> str:
    import pydantic

    return pydantic.VERSION


def _old_completion_dict(c: Any) -> dict[str, Any]:
    """What the facade built before the typed core (proto -> dict), for the comparison only."""
    return {"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
            "choices": [{"index": ch.index, "message": {"role": ch.message.role, "content": ch.message.content[0].text
                                                        if ch.message.content else None},
                         "logprobs": None, "finish_reason": ch.finish_reason or None} for ch in c.choices],
            "usage": {"prompt_tokens": c.usage.prompt_tokens, "completion_tokens": c.usage.completion_tokens,
                      "total_tokens": c.usage.total_tokens}}


def _old_chunk_dict(c: Any) -> dict[str, Any]:
    return {"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
            "choices": [{"index": ch.index, "delta": {"content": ch.delta.content} if ch.delta.HasField("content")
                         else {}, "logprobs": None, "finish_reason": ch.finish_reason or None} for ch in c.choices]}


_REPORT = """# Serialization: msgspec vs pydantic (the typed core's choice)

Measured by `python bench/serialization.py --out bench/results/serialization.md` on this 2-core machine
(Python {python}, msgspec {msgspec}, pydantic {pydantic}); best of 5 runs of 2,000 calls, µs per call, one core.
The request is a typical tool-using chat (system, user, assistant tool call, tool answer; one tool with a JSON
schema; one unknown field), the answer a one-choice chat.completion, the stream 20 content chunks.

{table}

The first five rows compare the libraries on the same job (pydantic models with the same fields;
`ChatCompletionRequest` is the facade's own pydantic schema, still used for /openapi.json). The last three are
the facade's real work per request before and after the typed core: the body to the Router's protobuf message,
and the Router's answer back to bytes. The old way-out rows are a minimal re-creation of the removed
`completion_to_dict`/`chunk_to_dict` (they built the same dicts with more branches), so they understate the old
cost slightly.

Decision: msgspec. It decodes straight from bytes into Structs (no dict in between), keeps opaque JSON as
`msgspec.Raw` without parsing it, and encodes Structs straight to bytes.
"""

if __name__ == "__main__":
    main()
