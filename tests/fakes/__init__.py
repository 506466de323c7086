"""Loopback fake upstream servers (OpenAI, Anthropic, Gemini) speaking real wire formats, with faults."""

from .anthropic_fake import FakeAnthropic
from .faults import PRE_RESPONSE_KINDS, STREAM_KINDS, Fault
from .gemini_fake import FakeGemini
from .openai_fake import FakeOpenAI
from .recording import EventStream, RecordedRequest, sse
from .scripting import Reply, ToolCall, fake_embedding, float32_base64
from .server import FakeServer

FAKES: dict[str, type[FakeServer]] = {"openai": FakeOpenAI, "anthropic": FakeAnthropic, "gemini": FakeGemini}

__all__ = [
    "FAKES",
    "PRE_RESPONSE_KINDS",
    "STREAM_KINDS",
    "EventStream",
    "FakeAnthropic",
    "FakeGemini",
    "FakeOpenAI",
    "FakeServer",
    "Fault",
    "RecordedRequest",
    "Reply",
    "ToolCall",
    "fake_embedding",
    "float32_base64",
    "sse",
]
