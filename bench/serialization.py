"""msgspec Structs vs pydantic models for the chat hot path: decode-from-bytes and encode of a typical chat
request and answer, and of a 20-chunk stream. Also the facade's whole way in, old (orjson + pydantic +
model_dump + dict->proto) against new: see bench/serialization_compare.py.

Run: `python bench/serialization.py [--out bench/results/serialization.md]` (CPU only, about 20 s, no network).
"""
from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path
from typing import Any, Literal

import msgspec
import orjson
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "services"), str(ROOT / "gateway-http"), str(ROOT)]

from tokenyard.protocol import models as m  # noqa: E402
from tokenyard.protocol.openai_chat import decode_chat_request, encode_chunk, encode_completion  # noqa: E402
from tokenyard_http.schemas.chat import ChatCompletionRequest  # noqa: E402

from bench.chat_samples import ANSWER, CHUNKS, REQUEST  # noqa: E402

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
    best = min(timeit.repeat(fn, number=number, repeat=7, timer=time.process_time))  # CPU: others' load ignored
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


_REPORT = """# Serialization: msgspec vs pydantic (the typed core's choice)

Measured by `python bench/serialization.py --out bench/results/serialization.md` on this 2-core machine
(Python {python}, msgspec {msgspec}, pydantic {pydantic}); best of 7 runs of 2,000 calls, CPU µs per call (process time, so other load on the
machine counts less), one core.
The request is a typical tool-using chat (system, user, assistant tool call, tool answer; one tool with a JSON
schema; one unknown field), the answer a one-choice chat.completion, the stream 20 content chunks.

{table}

Both sides do the same job (pydantic models with the same fields; `ChatCompletionRequest` is the facade's own
pydantic schema, still used for /openapi.json; the msgspec request decode includes the gateway's checks and
keeping unknown fields raw).

Decision: msgspec. It decodes straight from bytes into Structs (no dict in between), keeps opaque JSON as
`msgspec.Raw` without parsing it, and encodes Structs straight to bytes.
"""

if __name__ == "__main__":
    main()
