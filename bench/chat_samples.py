"""A typical chat request, answer and 20-chunk stream, shared by the serialization benchmarks."""
from __future__ import annotations

import orjson

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
