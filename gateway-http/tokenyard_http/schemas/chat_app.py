"""Wire models of the chat app API (`/api/chat`, `/api/tools`); camelCase, with snake_case accepted too."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from tokenyard_http.schemas.chat import ContentPart, Number, Tool, ToolCall


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ChatAppMessage(_Body):
    """One new message of a turn (`tool` messages answer a client-side tool call of the previous turn)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: StrictStr | list[ContentPart] | None = None
    tool_calls: list[ToolCall] | None = Field(None, validation_alias=AliasChoices("tool_calls", "toolCalls"))
    tool_call_id: StrictStr | None = Field(None, validation_alias=AliasChoices("tool_call_id", "toolCallId"))

    @model_validator(mode="after")
    def _content(self) -> ChatAppMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role} message needs `content`")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs `toolCallId`")
        return self

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI-format message."""
        return self.model_dump(mode="json", exclude_none=True) | (
            {"content": None} if self.content is None else {})


class ChatAppRequest(_Body):
    """POST /api/chat body: the new messages; `chatId` continues a stored chat (its history is prepended)."""

    messages: list[ChatAppMessage] = Field(min_length=1)
    model: StrictStr | None = Field(None, description='Catalog id or alias; default "gpt-4o" or the chat\'s.')
    chatId: StrictStr | None = Field(None, validation_alias=AliasChoices("chatId", "chat_id"))
    tools: list[Tool] | None = Field(None, description="Client-side tools: their calls end the turn "
                                                        "with finishReason tool_calls.")
    toolChoice: StrictStr | dict[str, Any] | None = Field(None, validation_alias=AliasChoices(
        "toolChoice", "tool_choice"))
    temperature: Number | None = None
    topP: Number | None = Field(None, validation_alias=AliasChoices("topP", "top_p"))
    maxTokens: StrictInt | None = Field(None, ge=-(2**31), le=2**31 - 1,
                                        validation_alias=AliasChoices("maxTokens", "max_tokens"))

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI-format request of the turn (new messages only)."""
        out: dict[str, Any] = {"model": self.model or "", "messages": [m.to_openai() for m in self.messages]}
        if self.tools:
            out["tools"] = [t.model_dump(mode="json", exclude_none=True) for t in self.tools]
        optional = {"tool_choice": self.toolChoice, "temperature": self.temperature, "top_p": self.topP,
                    "max_tokens": self.maxTokens}
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


class ToolRegistration(_Body):
    """POST /api/tools body: a webhook tool for the caller's app (app keys) or app-less chats."""

    name: StrictStr = Field(description="Function name, 1-64 of [A-Za-z0-9_-].")
    description: StrictStr = ""
    parameters: dict[str, Any] | None = Field(None, description='JSON schema with "type": "object".')
    url: StrictStr = Field(description="Webhook the gateway POSTs {name, arguments, toolCallId, chatId} to.")
    secret: StrictStr = Field("", description="Optional; requests then carry X-Tokenyard-Signature "
                                              "(sha256 HMAC of `<X-Tokenyard-Timestamp>.<body>`).")
