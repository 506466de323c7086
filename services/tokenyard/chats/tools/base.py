"""The tool contract: a named function with a JSON schema, run by the gateway; failures become ToolError."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema
import orjson

log = logging.getLogger(__name__)
MAX_RESULT_BYTES = 64 * 1024


class ToolError(Exception):
    """A tool failure; its message is what the model sees as the tool result."""


@dataclass(frozen=True)
class ToolCallInfo:
    """Where a call comes from (passed to tools that forward it, like webhooks)."""

    chat_id: str
    tool_call_id: str
    account_id: str = ""
    app_id: str = ""


class Tool(Protocol):
    """A server-side tool. `run` returns a JSON-serialisable result or raises ToolError."""

    name: str
    description: str
    parameters: dict[str, Any]

    async def run(self, args: dict[str, Any], call: ToolCallInfo) -> Any: ...


def definition(tool: Tool) -> dict[str, Any]:
    """The OpenAI `tools[]` entry announcing a tool to the model."""
    return {"type": "function", "function": {"name": tool.name, "description": tool.description,
                                             "parameters": tool.parameters}}


def parse_args(tool: Tool, arguments: str) -> dict[str, Any]:
    """The model's argument string as a dict valid against the tool's schema (ToolError otherwise)."""
    try:
        args = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        raise ToolError(f"arguments of {tool.name} are not valid JSON") from None
    if not isinstance(args, dict):
        raise ToolError(f"arguments of {tool.name} must be a JSON object")
    validator = jsonschema.Draft202012Validator(tool.parameters)
    error = jsonschema.exceptions.best_match(validator.iter_errors(args))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        raise ToolError(f"invalid arguments for {tool.name}: {where}: {error.message}")
    return args


async def run_tool(tool: Tool, args: dict[str, Any], call: ToolCallInfo, timeout: float) -> tuple[Any, bool]:
    """Run a tool with a deadline; returns (result, is_error). Never raises for tool failures."""
    try:
        result = await asyncio.wait_for(tool.run(args, call), timeout)
        size = len(orjson.dumps(result))
    except ToolError as exc:
        return {"error": str(exc)}, True
    except asyncio.TimeoutError:
        return {"error": f"{tool.name} did not answer within {timeout:g}s"}, True
    except (TypeError, orjson.JSONEncodeError):
        log.warning("tool %s returned a result that is not JSON", tool.name)
        return {"error": f"{tool.name} returned a result that is not JSON"}, True
    except Exception:  # noqa: BLE001 - a tool bug must not crash the stream
        log.exception("tool %s failed", tool.name)
        return {"error": f"{tool.name} failed unexpectedly"}, True
    if size > MAX_RESULT_BYTES:
        return {"error": f"{tool.name} returned more than {MAX_RESULT_BYTES} bytes"}, True
    return result, False
