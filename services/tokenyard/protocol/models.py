"""The typed core: one chat request, completion and chunk as msgspec Structs, spoken inside the gateway.

Why msgspec: bench/serialization.py (results in bench/results/serialization.md) measured it several times
faster than pydantic for decode-from-bytes and encode of a typical request, answer and stream.

Opaque JSON the gateway never needs to look into (tool parameter schemas, response_format, tool_choice,
audio/file parts, unknown top-level fields) is kept as `msgspec.Raw`: the exact bytes the client sent, written
back unchanged to an OpenAI-compatible upstream (so ints stay ints, key order and number spelling are kept);
an adapter that must translate it (Anthropic, Gemini) parses it once in its own module.

Fields whose absence matters default to `UNSET` and are left out when encoded; `None` is an explicit null.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Raw, Struct, UnsetType

Int32 = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Number = int | float
Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ImageUrl(Struct):
    """An image by http(s) URL or data URI; `detail` is auto | low | high."""

    url: str
    detail: Literal["auto", "low", "high"] | None | UnsetType = UNSET


class VideoUrl(Struct):
    """A video by http(s) URL or data URI."""

    url: str


class TextPart(Struct, tag="text", tag_field="type"):
    """Plain text."""

    text: str


class ImagePart(Struct, tag="image_url", tag_field="type"):
    """An image."""

    image_url: ImageUrl


class VideoPart(Struct, tag="video_url", tag_field="type"):
    """A video."""

    video_url: VideoUrl


class AudioPart(Struct, tag="input_audio", tag_field="type"):
    """Inline audio, carried opaquely (`{"data", "format"}` as sent)."""

    input_audio: Raw


class FilePart(Struct, tag="file", tag_field="type"):
    """A file, carried opaquely (`{"file_data" | "file_id", "filename"}` as sent)."""

    file: Raw


ContentPart = TextPart | ImagePart | VideoPart | AudioPart | FilePart


class FunctionCall(Struct):
    """Name and JSON-string arguments of a call, exactly as produced."""

    name: str
    arguments: str


class ToolCall(Struct):
    """A tool call of an assistant message."""

    id: str
    function: FunctionCall
    type: Literal["function"] = "function"


class Message(Struct):
    """One chat message. `content` is a string, a list of parts, or null (always written out)."""

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None | UnsetType = UNSET
    tool_calls: list[ToolCall] | None | UnsetType = UNSET
    tool_call_id: str | None | UnsetType = UNSET
    reasoning_content: str | None | UnsetType = UNSET
    """Reasoning text some models return (also read from `reasoning`)."""


class AnswerMessage(Message):
    """An upstream's answer message: also reads reasoning text sent as `reasoning` (never written out)."""

    reasoning: str | None | UnsetType = UNSET
    refusal: str | None | UnsetType = UNSET


class FunctionDef(Struct):
    """A function the model may call; `parameters` is its JSON schema, as sent."""

    name: str
    description: str | None | UnsetType = UNSET
    parameters: Raw | UnsetType = UNSET
    strict: bool | None | UnsetType = UNSET


class Tool(Struct):
    """A tool definition."""

    function: FunctionDef
    type: Literal["function"] = "function"


class StreamOptions(Struct):
    """Streaming options."""

    include_usage: bool | None = None


class ChatRequest(Struct):
    """An OpenAI-format chat completion request. `extra` holds unknown top-level fields as raw JSON, in the
    order sent; they are forwarded to OpenAI-compatible upstreams unchanged."""

    messages: Annotated[list[Message], Meta(min_length=1)]
    model: str | None | UnsetType = UNSET
    temperature: Number | None | UnsetType = UNSET
    top_p: Number | None | UnsetType = UNSET
    max_tokens: Int32 | None | UnsetType = UNSET
    max_completion_tokens: Int32 | None | UnsetType = UNSET
    stop: str | list[str] | None | UnsetType = UNSET
    n: Int32 | None | UnsetType = UNSET
    seed: Int64 | None | UnsetType = UNSET
    response_format: Raw | UnsetType = UNSET
    tools: list[Tool] | None | UnsetType = UNSET
    tool_choice: Raw | UnsetType = UNSET
    stream: bool | None | UnsetType = UNSET
    stream_options: StreamOptions | None | UnsetType = UNSET
    user: str | None | UnsetType = UNSET
    presence_penalty: Number | None | UnsetType = UNSET
    frequency_penalty: Number | None | UnsetType = UNSET
    parallel_tool_calls: bool | None | UnsetType = UNSET
    logprobs: bool | None | UnsetType = UNSET
    top_logprobs: Int32 | None | UnsetType = UNSET
    extra: dict[str, Raw] = msgspec.field(default_factory=dict, name="$tokenyard.extra")
    """Filled by the converter's shallow scan, never by the decoder: its wire name keeps a client's own
    top-level `extra` field an unknown field like any other."""

    @property
    def include_usage(self) -> bool:
        """True when the client asked for a final usage chunk."""
        opts = self.stream_options
        return isinstance(opts, StreamOptions) and bool(opts.include_usage)


class Usage(Struct):
    """Token usage of a call. An upstream may leave a count out (None): the Router then estimates."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


NO_USAGE = Usage()
"""An upstream's `"usage": {}`: says nothing (compare with ==)."""


class Choice(Struct):
    """One choice of a completion."""

    index: int = 0
    message: AnswerMessage = msgspec.field(default_factory=lambda: AnswerMessage(role="assistant"))
    logprobs: Any = None
    finish_reason: str | None = None


class Completion(Struct, tag="chat.completion", tag_field="object"):
    """An OpenAI-format chat.completion (also what an OpenAI-compatible upstream's answer is decoded into)."""

    id: str = ""
    created: int = 0
    model: str = ""
    choices: list[Choice] = msgspec.field(default_factory=list)
    usage: Usage | None | UnsetType = UNSET
    system_fingerprint: str | UnsetType = UNSET


class ToolCallFunctionDelta(Struct):
    """The function part of a streamed tool-call piece."""

    name: str | None | UnsetType = UNSET
    arguments: str | None = ""


class ToolCallDelta(Struct):
    """A piece of a tool call in a delta (`id`, `type` and the name come on its first piece)."""

    index: int = 0
    function: ToolCallFunctionDelta = msgspec.field(default_factory=ToolCallFunctionDelta)
    id: str | None | UnsetType = UNSET
    type: str | None | UnsetType = UNSET


class Delta(Struct):
    """Incremental message content."""

    role: str | None | UnsetType = UNSET
    content: str | None | UnsetType = UNSET
    reasoning_content: str | None | UnsetType = UNSET
    tool_calls: list[ToolCallDelta] | None | UnsetType = UNSET
    reasoning: str | None | UnsetType = UNSET
    """Reasoning text under the name some upstreams use (read like `reasoning_content`, never written out)."""
    refusal: str | None | UnsetType = UNSET


class ChunkChoice(Struct):
    """One choice of a chunk."""

    index: int = 0
    delta: Delta = msgspec.field(default_factory=Delta)
    logprobs: Any = None
    finish_reason: str | None = None


class Chunk(Struct, tag="chat.completion.chunk", tag_field="object"):
    """An OpenAI-format chat.completion.chunk (no choices on the usage chunk)."""

    id: str = ""
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = msgspec.field(default_factory=list)
    usage: Usage | None | UnsetType = UNSET
    system_fingerprint: str | UnsetType = UNSET
