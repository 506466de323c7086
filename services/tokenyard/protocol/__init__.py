"""The typed core: the gateway's own chat request, completion, chunk and usage (`models`), and one converter
module per client wire format, to and from it.

- `openai_chat.py`: OpenAI chat completions JSON (the `/v1/chat/completions` routes).
- next: `openai_responses.py` (OpenAI Responses) and `anthropic_messages.py` (Anthropic Messages), each
  decoding its wire bytes into the same `ChatRequest` and encoding `Completion` / `Chunk` back.

Provider adapters convert the core to their upstream's wire in `providers/`; the protos map to it in
`inference/convert.py`.
"""
