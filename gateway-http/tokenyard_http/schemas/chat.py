"""Wire models of the OpenAI chat completions API (requests accept unknown fields)."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

Number = Union[StrictInt, StrictFloat]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ImageURL(_Open):
    """An image by URL or data URI."""

    url: StrictStr
    detail: Literal["auto", "low", "high"] | None = None


class VideoURL(_Open):
    """A video by URL or data URI."""

    url: StrictStr


class TextPart(_Open):
    """Text content part."""

    type: Literal["text"]
    text: StrictStr


class ImagePart(_Open):
    """Image content part."""

    type: Literal["image_url"]
    image_url: ImageURL


class VideoPart(_Open):
    """Video content part."""

    type: Literal["video_url"]
    video_url: VideoURL


class AudioPart(_Open):
    """Audio content part (passed through to upstreams that take it)."""

    type: Literal["input_audio"]
    input_audio: dict[str, Any]


class FilePart(_Open):
    """File content part (passed through to upstreams that take it)."""

    type: Literal["file"]
    file: dict[str, Any]


# Integer parameters are carried as protobuf int32/int64: out-of-range values are a 400, not a crash.
Int32 = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
ContentPart = Annotated[TextPart | ImagePart | VideoPart | AudioPart | FilePart, Field(discriminator="type")]


class FunctionCall(_Open):
    """Name and JSON arguments of a call."""

    name: StrictStr
    arguments: StrictStr


class ToolCall(_Open):
    """A tool call in an assistant message."""

    id: StrictStr
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Open):
    """One chat message."""

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: StrictStr | list[ContentPart] | None = None
    name: StrictStr | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: StrictStr | None = None


class FunctionDef(_Open):
    """A function the model may call."""

    name: StrictStr
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(_Open):
    """A tool definition."""

    type: Literal["function"] = "function"
    function: FunctionDef


class ToolChoiceFunction(_Open):
    """The function a tool_choice object forces."""

    name: StrictStr


class ToolChoice(_Open):
    """Force one named function."""

    type: Literal["function"] = "function"
    function: ToolChoiceFunction


class ResponseFormat(_Open):
    """text, json_object or json_schema."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class StreamOptions(_Open):
    """Streaming options."""

    include_usage: StrictBool | None = None


class ChatCompletionRequest(_Open):
    """POST /v1/chat/completions body. Unknown fields are passed to OpenAI-compatible upstreams."""

    model: StrictStr | None = None
    messages: list[Message] = Field(min_length=1)
    temperature: Number | None = None
    top_p: Number | None = None
    max_tokens: Int32 | None = None
    max_completion_tokens: Int32 | None = None
    stop: StrictStr | list[StrictStr] | None = None
    n: Int32 | None = None
    seed: Int64 | None = None
    response_format: ResponseFormat | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoice | None = None
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    user: StrictStr | None = None
    presence_penalty: Number | None = None
    frequency_penalty: Number | None = None
    parallel_tool_calls: StrictBool | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Int32 | None = None
