"""What a request can be billed for before it runs: the tokens of every prompt part a provider bills.

Chat: the messages (text, names, tool calls, with OpenAI's framing), their media parts (see media_size), and
every other field that carries prompt content (tools with their JSON schemas, response_format schemas,
tool_choice, prediction, unknown fields forwarded upstream) counted as JSON text. Embeddings: every input.
Counted once per call (cached on the context) and in a worker thread when the texts are long.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import UNSET

from tokenyard.inference.context import CallContext
from tokenyard.inference.media_size import media_tokens
from tokenyard.protocol import models as m
from tokenyard.protocol.openai_chat import chat_request_from_dict
from tokenyard.tokens import count_texts

# Request fields that are options, not prompt content (everything else is counted as JSON text).
_OPTIONS = frozenset({
    "model", "messages", "stream", "stream_options", "n", "temperature", "top_p", "max_tokens",
    "max_completion_tokens", "seed", "presence_penalty", "frequency_penalty", "parallel_tool_calls", "user",
    "stop", "logprobs", "top_logprobs", "logit_bias", "store", "metadata", "service_tier", "reasoning_effort",
    "modalities", "verbosity", "safety_identifier", "prompt_cache_key",
})
_CONTENT_FIELDS = ("tools", "tool_choice", "response_format")
"""Typed fields that carry prompt content (the other typed fields are options)."""
_JSON = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True)
class PromptEstimate:
    """Prompt tokens of a request before it runs. `text` is counted with cl100k (what rate limits count);
    `media` estimates its images, audio, video and files; `inputs` are the tokens of each embedding input."""

    text: int
    media: int = 0
    inputs: tuple[int, ...] = ()

    def billable(self, context_window: int = 0) -> int:
        """At most what an upstream bills for this prompt: a prompt longer than the model's context window is
        refused, not billed (for embeddings, per input)."""
        if self.inputs:
            return sum(min(n, context_window) if context_window else n for n in self.inputs)
        total = self.text + self.media
        return min(total, context_window) if context_window else total


def _media(part: m.ContentPart) -> int | None:
    """Tokens of a media part (media_size reads the OpenAI part object); None for text."""
    if isinstance(part, m.ImagePart):
        image: dict[str, Any] = {"url": part.image_url.url}
        if part.image_url.detail:
            image["detail"] = part.image_url.detail
        return media_tokens({"type": "image_url", "image_url": image})
    if isinstance(part, m.VideoPart):
        return media_tokens({"type": "video_url", "video_url": {"url": part.video_url.url}})
    if isinstance(part, m.AudioPart):
        return media_tokens({"type": "input_audio", "input_audio": _JSON.decode(part.input_audio)})
    if isinstance(part, m.FilePart):
        return media_tokens({"type": "file", "file": _JSON.decode(part.file)})
    return None


def chat_parts(request: m.ChatRequest) -> tuple[int, int, list[str]]:
    """(framing tokens, media tokens, texts to count) of a chat request."""
    framing, media, texts = 3, 0, []
    for msg in request.messages:
        framing += 3
        texts.extend(v for v in (msg.name, msg.tool_call_id, msg.reasoning_content) if isinstance(v, str) and v)
        if isinstance(msg.content, str):
            texts.append(msg.content)
        for part in msg.content if isinstance(msg.content, list) else ():
            if isinstance(part, m.TextPart):
                texts.append(part.text)
            else:
                media += _media(part) or 0
        for call in msg.tool_calls or ():
            texts.extend((call.function.name, call.function.arguments))
    rest: dict[str, Any] = {k: v for k in _CONTENT_FIELDS if (v := getattr(request, k)) is not UNSET and v is not None}
    rest.update((k, v) for k, v in request.extra.items() if k not in _OPTIONS)
    if rest:
        texts.append(_ENCODER.encode(rest).decode())  # raw JSON written as sent: nothing parsed
    return framing, media, texts


def embedding_inputs(request: dict[str, Any]) -> list[str | int]:
    """Each input of an embeddings request: its text, or its token count when it is token ids."""
    raw = request.get("input")
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list):
        return []
    if raw and all(isinstance(t, int) for t in raw):
        return [len(raw)]
    return [x if isinstance(x, str) else len(x) if isinstance(x, list) else 0 for x in raw]


async def estimate(request: m.ChatRequest | dict[str, Any], kind: str = "chat") -> PromptEstimate:
    """The prompt tokens of a chat (typed) or embeddings (dict) request (long texts are counted off the event
    loop). A chat given as an OpenAI dict is decoded first."""
    if isinstance(request, dict) and kind == "chat":
        request = chat_request_from_dict(request)
    if kind == "embedding":
        items = embedding_inputs(request)
        counted = iter(await count_texts([x for x in items if isinstance(x, str)]))
        inputs = tuple(next(counted) if isinstance(x, str) else x for x in items)
        return PromptEstimate(text=sum(inputs), inputs=inputs)
    framing, media, texts = chat_parts(request)
    return PromptEstimate(text=framing + sum(await count_texts(texts)), media=media)


async def prompt_estimate(ctx: CallContext) -> PromptEstimate:
    """The call's estimate, counted on first use (after the policies' `prepare` edits) and then reused."""
    if ctx.prompt_estimate is None:
        ctx.prompt_estimate = await estimate(ctx.request, ctx.kind)
    return ctx.prompt_estimate


def completion_text(messages: Iterable[m.Message | m.Delta]) -> str:
    """Everything the answer messages (or stream deltas) produced: content, refusals and tool-call names and
    arguments, for a local count."""
    out: list[str] = []
    for msg in messages:
        content = msg.content
        if isinstance(content, list):
            content = "".join(p.text for p in content if isinstance(p, m.TextPart))
        out.append((content or "") + (getattr(msg, "refusal", None) or ""))
        for call in msg.tool_calls or ():
            fn = call.function
            out.append((fn.name or "") + (fn.arguments or ""))
    return "".join(out)
