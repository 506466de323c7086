"""Custom tools registered by an app: the gateway POSTs the call to the app's webhook (SSRF-guarded)."""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any

import httpx
import jsonschema
import orjson

from tokenyard.chats.tables import CustomToolRow
from tokenyard.chats.tools.base import ToolCallInfo, ToolError
from tokenyard.chats.tools.http import fetch_json
from tokenyard.egress import EgressPolicy
from tokenyard.errors import GatewayError, invalid

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_SCHEMA_BYTES = 16 * 1024
MAX_DESCRIPTION = 1024
MAX_ANSWER = 64 * 1024


def check_definition(name: str, description: str, parameters: Any, reserved: set[str]) -> dict[str, Any]:
    """Validate a tool registration; returns the schema (400 naming the field otherwise)."""
    if not NAME.match(name or ""):
        raise invalid("`name` must be 1-64 letters, digits, '_' or '-'", "name")
    if name in reserved:
        raise invalid(f"`name`: {name!r} is a built-in tool", "name")
    if len(description or "") > MAX_DESCRIPTION:
        raise invalid(f"`description` is longer than {MAX_DESCRIPTION} characters", "description")
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        raise invalid("`parameters` must be a JSON schema with \"type\": \"object\"", "parameters")
    if len(orjson.dumps(parameters)) > MAX_SCHEMA_BYTES:
        raise invalid(f"`parameters` is larger than {MAX_SCHEMA_BYTES} bytes", "parameters")
    try:
        jsonschema.Draft202012Validator.check_schema(parameters)
    except jsonschema.SchemaError as exc:
        raise invalid(f"`parameters` is not a valid JSON schema: {exc.message}", "parameters") from None
    return parameters


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` HMAC of `timestamp.body`, sent as X-Tokenyard-Signature."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class WebhookTool:
    """POSTs `{"name", "arguments", "toolCallId", "chatId"}` to the registered URL; the JSON answer is the
    result. The URL is re-checked (and pinned to the checked address) on every call."""

    def __init__(self, row: CustomToolRow, http: httpx.AsyncClient, egress: EgressPolicy) -> None:
        self.name = row.name
        self.description = row.description
        self.parameters: dict[str, Any] = orjson.loads(row.parameters)
        self._url = row.url
        self._secret = row.secret
        self._http = http
        self._egress = egress

    async def run(self, args: dict[str, Any], call: ToolCallInfo) -> Any:
        """Call the webhook."""
        try:
            dest = await self._egress.check(self._url)
        except GatewayError as exc:
            raise ToolError(f"webhook refused: {exc.message}") from None
        body = orjson.dumps({"name": self.name, "arguments": args, "toolCallId": call.tool_call_id,
                             "chatId": call.chat_id})
        headers = {"content-type": "application/json", "host": dest.host_header,
                   "user-agent": "tokenyard-tools/1"}
        if self._secret:
            stamp = str(int(time.time()))
            headers["x-tokenyard-timestamp"] = stamp
            headers["x-tokenyard-signature"] = sign(self._secret, stamp, body)
        return await fetch_json(self._http, f"the {self.name} webhook", "POST", dest.pinned_url, content=body,
                                headers=headers, max_body=MAX_ANSWER, extensions={"sni_hostname": dest.host})
