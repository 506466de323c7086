"""Embeddings request validation: input shapes, batch limits and token budgets, as 400s naming the limit."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenyard.catalog import ModelSpec
from tokenyard.errors import ErrorKind, GatewayError, invalid

Input = str | list[int]
"""One input: text, or pre-tokenized text as token ids."""

_SHAPES = "a string, an array of strings, an array of token ids or an array of token-id arrays"


@dataclass(frozen=True)
class EmbeddingLimits:
    """Per-request limits (OpenAI's own: 2048 inputs, 300k tokens); a model's `max_inputs` may be lower."""

    max_inputs: int = 2048
    max_request_tokens: int = 300_000


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _token_ids(value: list[Any], where: str) -> list[int]:
    if not value:
        raise invalid(f"{where} must not be an empty array of token ids", "input")
    if not all(_is_int(t) and 0 <= t < 2**31 for t in value):
        raise invalid(f"{where} must contain only non-negative integer token ids", "input")
    return value


def parse_input(value: Any) -> list[Input]:
    """The OpenAI `input` field (any of its four shapes) as a list of inputs; 400 for anything else."""
    if value is None:
        raise invalid("Missing required parameter: 'input'", "input")
    if isinstance(value, str):
        if not value:
            raise invalid("'input' must not be an empty string", "input")
        return [value]
    if not isinstance(value, list):
        raise invalid(f"'input' must be {_SHAPES}", "input")
    if not value:
        raise invalid("'input' must not be an empty array", "input")
    if all(_is_int(t) for t in value):
        return [_token_ids(value, "'input'")]
    out: list[Input] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            if not item:
                raise invalid(f"input[{i}] must not be an empty string", "input")
            out.append(item)
        elif isinstance(item, list):
            out.append(_token_ids(item, f"input[{i}]"))
        else:
            raise invalid(f"input[{i}] must be a string or an array of token ids, not {type(item).__name__}",
                          "input")
    return out


def validate_request(request: dict[str, Any], model: ModelSpec, limits: EmbeddingLimits) -> list[Input]:
    """Check a request against the model and the limits; returns its inputs."""
    inputs = parse_input(request.get("input"))
    max_inputs = min(model.max_inputs, limits.max_inputs)
    if len(inputs) > max_inputs:
        raise invalid(f"Too many inputs: {len(inputs)}; the limit is {max_inputs} inputs per request "
                      f"(max_inputs)", "input")
    dims = request.get("dimensions")
    if dims is not None:
        if not _is_int(dims) or dims < 1:
            raise invalid("'dimensions' must be a positive integer", "dimensions")
        if model.dimensions and dims > model.dimensions:
            raise invalid(f"'dimensions' must be at most {model.dimensions} for {model.id}", "dimensions")
    return inputs


def check_tokens(counts: Sequence[int], limits: EmbeddingLimits, *, model: str, per_input: int = 0) -> int:
    """Enforce the per-input context and the per-request token budget; returns the total."""
    if per_input:
        for i, n in enumerate(counts):
            if n > per_input:
                raise GatewayError(ErrorKind.CONTEXT_TOO_LONG,
                                   f"input[{i}] has {n} tokens; {model} accepts at most {per_input} tokens "
                                   f"per input", param="input")
    total = sum(counts)
    if total > limits.max_request_tokens:
        raise invalid(f"The inputs total {total} tokens; the limit is {limits.max_request_tokens} tokens per "
                      f"request (max_request_tokens)", "input")
    return total
