"""The `local` provider as the Embeddings service sees it: echo chat as usual, embeddings on local runners."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokenyard.embeddings.runner import LocalRunner
from tokenyard.embeddings.validate import EmbeddingLimits, Input, check_tokens
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.providers.base import UpstreamTarget
from tokenyard.providers.local import LocalProvider
from tokenyard.tokens import decode_tokens


def texts_of(inputs: Sequence[Input]) -> list[str]:
    """Inputs as text: token arrays are cl100k ids (what OpenAI clients send) and are decoded."""
    out = []
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            out.append(item)
            continue
        try:
            out.append(decode_tokens(item))
        except ValueError:
            raise invalid(f"input[{i}] holds a token id outside the cl100k vocabulary", "input") from None
    return out


class LocalEmbeddingProvider(LocalProvider):
    """LocalProvider whose `embed` runs the in-process model named by the target's upstream model.

    The model sees at most `max_tokens` of its own tokens per input (a longer one is a 400
    context_length_exceeded, never silently truncated) and has a fixed size (`dimensions` must match).
    Usage is the model's own token count.
    """

    def __init__(self, runners: Mapping[str, LocalRunner], limits: EmbeddingLimits | None = None) -> None:
        super().__init__()
        self.runners = dict(runners)
        self._limits = limits or EmbeddingLimits()

    async def embed(self, target: UpstreamTarget, request: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI embeddings list (float vectors) with true token usage."""
        runner = self.runners.get(target.upstream_model)
        if runner is None:
            raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"No local embedding model named "
                               f"{target.upstream_model!r} is installed", param="model")
        dims = request.get("dimensions")
        if dims is not None and dims != runner.dimensions:
            raise invalid(f"{runner.name} always returns {runner.dimensions} dimensions; 'dimensions' cannot "
                          f"change that", "dimensions")
        texts = texts_of(request["input"])
        counts = await runner.count_tokens(texts)
        tokens = check_tokens(counts, self._limits, model=runner.name, per_input=runner.max_tokens)
        vectors = await runner.embed(texts)
        return {"object": "list", "model": target.upstream_model,
                "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    async def close(self) -> None:
        """Stop the runners."""
        for runner in self.runners.values():
            await runner.close()
