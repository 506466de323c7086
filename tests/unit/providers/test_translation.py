"""Translation details of each adapter's wire format (pure functions, no network)."""
from __future__ import annotations

from typing import Any

import httpx
import msgspec
import orjson
import pytest
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.providers.anthropic import map_anthropic_error
from tokenyard.providers.anthropic_wire import from_anthropic as typed_from_anthropic, to_anthropic
from tokenyard.providers.gemini import map_gemini_error
from tokenyard.providers.gemini_wire import from_gemini as typed_from_gemini, to_gemini
from tokenyard.providers.media import media_of
from tokenyard.providers.openai import map_openai_error


def from_anthropic(msg: Any) -> Any:
    """The typed answer read back as the OpenAI JSON it encodes to (the wire functions return the typed core)."""
    return msgspec.to_builtins(typed_from_anthropic(msg))


def from_gemini(resp: Any, model: str) -> Any:
    """The typed answer read back as the OpenAI JSON it encodes to (the wire functions return the typed core)."""
    return msgspec.to_builtins(typed_from_gemini(resp, model))


TOOLS = [{"type": "function", "function": {"name": "calc", "parameters": {"type": "object"}}}]
CALL = {"id": "call_1", "type": "function", "function": {"name": "calc", "arguments": '{"a": 1}'}}
CONVERSATION = [
    {"role": "system", "content": "rule one"},
    {"role": "developer", "content": [{"type": "text", "text": "rule two"}]},
    {"role": "user", "content": "add"},
    {"role": "assistant", "content": "let me", "tool_calls": [CALL, {**CALL, "id": "call_2"}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "2"},
    {"role": "tool", "tool_call_id": "call_2", "content": '{"sum": 2}'},
    {"role": "user", "content": "thanks"},
]


def test_anthropic_request_lifts_system_merges_tool_results_and_maps_options() -> None:
    body = to_anthropic({"model": "claude", "messages": CONVERSATION, "tools": TOOLS, "tool_choice": "required",
                         "parallel_tool_calls": False, "temperature": 1.7, "stop": "END", "user": "u1",
                         "max_completion_tokens": 99})
    assert body["system"] == "rule one\n\nrule two"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assistant = body["messages"][1]["content"]
    assert assistant[0] == {"type": "text", "text": "let me"}
    assert assistant[1] == {"type": "tool_use", "id": "call_1", "name": "calc", "input": {"a": 1}}
    results = body["messages"][2]["content"]
    assert [b.get("tool_use_id") for b in results] == ["call_1", "call_2", None]
    assert results[2] == {"type": "text", "text": "thanks"}
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["tools"] == [{"name": "calc", "input_schema": {"type": "object"}}]
    assert body["temperature"] == 1.0 and body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u1"} and body["max_tokens"] == 99


def test_anthropic_json_mode_and_refusals() -> None:
    body = to_anthropic({"model": "c", "messages": [{"role": "user", "content": "x"}],
                         "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {
                             "type": "object"}}}})
    assert '{"type":"object"}' in body["system"] and body["max_tokens"] == 4096
    with pytest.raises(GatewayError) as err:
        to_anthropic({"model": "c", "n": 2, "messages": [{"role": "user", "content": "x"}]})
    assert err.value.param == "n"
    with pytest.raises(GatewayError) as err:
        to_anthropic({"model": "c", "messages": [{"role": "assistant", "content": None, "tool_calls": [
            {**CALL, "function": {"name": "calc", "arguments": "{not json"}}]}]})
    assert err.value.param == "messages[0].tool_calls[0].function.arguments"


def test_anthropic_response_with_thinking_text_and_tools() -> None:
    result = from_anthropic({"id": "msg_1", "model": "claude", "stop_reason": "tool_use", "content": [
        {"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "ok"},
        {"type": "tool_use", "id": "toolu_1", "name": "calc", "input": {"a": 1}}],
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 3}})
    message = result["choices"][0]["message"]
    assert message["content"] == "ok" and message["reasoning_content"] == "hmm"
    assert message["tool_calls"][0]["function"] == {"name": "calc", "arguments": '{"a":1}'}
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    assert result["usage"] == {"prompt_tokens": 15, "completion_tokens": 3, "total_tokens": 18}


def test_gemini_request_contents_function_responses_and_config() -> None:
    body = to_gemini({"model": "g", "messages": CONVERSATION, "tools": TOOLS,
                      "tool_choice": {"type": "function", "function": {"name": "calc"}}, "n": 2, "seed": 3,
                      "max_tokens": 50, "stop": ["X"], "response_format": {"type": "json_object"}})
    assert body["systemInstruction"] == {"parts": [{"text": "rule one"}, {"text": "rule two"}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    model_parts = body["contents"][1]["parts"]
    assert model_parts[1] == {"functionCall": {"name": "calc", "args": {"a": 1}, "id": "call_1"}}
    responses = body["contents"][2]["parts"]
    assert responses[0] == {"functionResponse": {"id": "call_1", "name": "calc", "response": {"result": 2}}}
    assert responses[1]["functionResponse"]["response"] == {"sum": 2}
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["calc"]}}
    assert body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == {"type": "object"}
    assert body["generationConfig"] == {"candidateCount": 2, "seed": 3, "maxOutputTokens": 50,
                                        "stopSequences": ["X"], "responseMimeType": "application/json"}


def test_gemini_thought_signature_survives_the_round_trip_in_the_call_id() -> None:
    result = from_gemini({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "calc", "args": {"a": 1}}, "thoughtSignature": "c2lnbmF0dXJl"}]},
        "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2,
                                                    "thoughtsTokenCount": 5}}, "g")
    call = result["choices"][0]["message"]["tool_calls"][0]
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    assert result["usage"] == {"prompt_tokens": 4, "completion_tokens": 7, "total_tokens": 11}
    body = to_gemini({"model": "g", "messages": [
        {"role": "user", "content": "x"}, {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "2"}]})
    part = body["contents"][1]["parts"][0]
    assert part["thoughtSignature"] == "c2lnbmF0dXJl" and "__sig__" not in part["functionCall"]["id"]
    assert body["contents"][2]["parts"][0]["functionResponse"]["id"] == part["functionCall"]["id"]


def test_gemini_blocked_prompt_is_an_empty_content_filter_answer() -> None:
    result = from_gemini({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}, "g")
    assert result["choices"][0]["finish_reason"] == "content_filter"
    assert result["choices"][0]["message"]["content"] == ""


def test_gemini_tool_result_for_an_unknown_call_is_a_400() -> None:
    with pytest.raises(GatewayError) as err:
        to_gemini({"model": "g", "messages": [{"role": "tool", "tool_call_id": "nope", "content": "1"}]})
    assert err.value.param == "messages[0].tool_call_id"


def test_media_parts() -> None:
    media = media_of({"type": "image_url", "image_url": {"url": "data:image/webp;base64,AAAA"}}, "p")
    assert (media.mime, media.data) == ("image/webp", "AAAA")
    assert media_of({"type": "video_url", "video_url": {"url": "https://x/y.webm"}}, "p").mime == "video/webm"
    assert media_of({"type": "image_url", "image_url": {"url": "https://x/y"}}, "p").mime == "image/jpeg"
    for url in ("data:image/png,notbase64", "data:image/png;base64,@@@", "ftp://x/y.png", "file:///etc/passwd"):
        with pytest.raises(GatewayError) as err:
            media_of({"type": "image_url", "image_url": {"url": url}}, "messages[0].content[1].image_url.url")
        assert err.value.param == "messages[0].content[1].image_url.url"


@pytest.mark.parametrize("mapper,status,body,kind", [
    (map_openai_error, 400, {"error": {"message": "too long", "code": "context_length_exceeded"}},
     ErrorKind.CONTEXT_TOO_LONG),
    (map_openai_error, 400, {"error": {"message": "This model's maximum context length is 8192 tokens"}},
     ErrorKind.CONTEXT_TOO_LONG),
    (map_openai_error, 400, {"error": {"message": "bad temperature"}}, ErrorKind.INVALID_REQUEST),
    (map_openai_error, 404, {"error": {"message": "no such model"}}, ErrorKind.MODEL_NOT_FOUND),
    (map_anthropic_error, 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                           "message": "prompt is too long: 2 > 1"}},
     ErrorKind.CONTEXT_TOO_LONG),
    (map_anthropic_error, 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     ErrorKind.PROVIDER_ERROR),
    (map_gemini_error, 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                                       "The input token count (9) exceeds the maximum number of tokens allowed (5)."}},
     ErrorKind.CONTEXT_TOO_LONG),
    (map_gemini_error, 429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota"}},
     ErrorKind.RATE_LIMITED),
    (map_gemini_error, 502, b"<html>bad gateway</html>", ErrorKind.PROVIDER_ERROR),
])
def test_error_mapping(mapper, status: int, body, kind: ErrorKind) -> None:  # type: ignore[no-untyped-def]
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    err = mapper(status, raw, httpx.Headers({"retry-after": "3"}))
    assert err.kind == kind and err.status == status
    assert err.retryable == (kind in (ErrorKind.RATE_LIMITED, ErrorKind.PROVIDER_ERROR))
