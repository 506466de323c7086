"""The chat app service: start turns of stored chats, list/delete chats, manage apps' webhook tools."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from tokenyard.catalog import Catalog
from tokenyard.chats.history import message_from_row
from tokenyard.chats.model import ChatModel
from tokenyard.chats.store import ChatStore, Owner, new_id
from tokenyard.chats.tables import Chat, ChatMessage, CustomToolRow
from tokenyard.chats.tools import BUILTIN_NAMES, Toolbox
from tokenyard.chats.tools.webhook import check_definition
from tokenyard.chats.turn import Turn, TurnLimits, TurnPlan, new_chat_id
from tokenyard.clients.auth_cache import Authenticator
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.principal import Principal
from tokenyard.tokens import OFFLOAD_CHARS, count_messages, count_text, message_text, off_loop

DEFAULT_MODEL = "gpt-4o"
ROLES = frozenset({"system", "user", "assistant", "tool"})
AppDefaultModel = Callable[[Principal, str], Awaitable[str]]
"""An app's `defaultModel` for a caller ('' when the caller has no app or the app sets none)."""


async def no_app_default(principal: Principal, app_id: str) -> str:
    """No app config available (tests, embedders): no app default."""
    return ""


def owner_of(principal: Principal) -> Owner:
    """App keys see their app's chats; users and personal keys see all of their account's chats."""
    return Owner(principal.account_id, principal.app_id or None)


def _check_new_messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise invalid("`messages` must be a non-empty array", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise invalid(f"messages[{i}].role must be one of {sorted(ROLES)}", f"messages[{i}].role")
    return messages


class ChatAppService:
    """Chats belong to the caller's account; every model step goes through the Router (via `model`)."""

    def __init__(self, authenticator: Authenticator, store: ChatStore, model: ChatModel, catalog: Catalog,
                 toolbox: Toolbox, limits: TurnLimits | None = None,
                 default_model: str = DEFAULT_MODEL, app_default_model: AppDefaultModel = no_app_default) -> None:
        self._auth = authenticator
        self.store = store
        self._model = model
        self._catalog = catalog
        self.toolbox = toolbox
        self._limits = limits or TurnLimits()
        self._default_model = default_model
        self._app_default_model = app_default_model

    async def start_turn(self, credential: str, request: dict[str, Any], chat_id: str = "",
                         request_id: str = "") -> Turn:
        """Check and resolve a turn (404 foreign chat, 400, CONTEXT_TOO_LONG) before anything streams."""
        principal = await self._auth.authenticate(credential)
        request = dict(request)
        new = _check_new_messages(request.pop("messages", None))
        chat = await self.store.get_chat(owner_of(principal), chat_id) if chat_id else None
        history = [message_from_row(r) for r in await self.store.messages(chat.id)] if chat else []
        request["model"] = (request.get("model") or (chat.model if chat else "")
                            or await self._app_default_model(principal, principal.app_id) or self._default_model)
        for key in ("stream", "stream_options", "n"):
            request.pop(key, None)
        tools = await self.toolbox.for_caller(principal, principal.app_id)
        client_tools = {(t.get("function") or {}).get("name", "") for t in request.get("tools") or ()}
        await self._check_context(request, [*history, *new], tools)
        plan = TurnPlan(principal=principal, credential=credential,
                        chat_id=chat.id if chat else new_chat_id(), chat=chat, history=history, new=new,
                        request=request, tools=tools, request_id=request_id, client_tools=client_tools)
        return Turn(plan, self._model, self.store, self._limits)

    async def _check_context(self, request: dict[str, Any], messages: list[dict[str, Any]],
                             tools: dict) -> None:
        spec = self._catalog.resolve(request["model"])
        if spec is None or not spec.context_window:
            return
        schemas = [request.get("tools") or [], [t.parameters for t in tools.values()]]
        schema_text = orjson.dumps(schemas).decode()
        size = len(schema_text) + sum(len(message_text(m)) for m in messages)

        def count() -> int:
            return count_messages(messages) + count_text(schema_text)

        needed = count() if size <= OFFLOAD_CHARS else await off_loop(count)  # long chats: off the event loop
        reserve = int(request.get("max_completion_tokens") or request.get("max_tokens") or 0)
        if needed + reserve > spec.context_window:
            raise GatewayError(ErrorKind.CONTEXT_TOO_LONG,
                               f"This chat needs {needed + reserve} tokens but {request['model']} has a "
                               f"context window of {spec.context_window} tokens; start a new chat",
                               param="messages", metadata={"tokens": str(needed + reserve),
                                                           "contextWindow": str(spec.context_window)})

    async def list_chats(self, credential: str, limit: int = 0) -> list[Chat]:
        """The caller's chats, newest first."""
        principal = await self._auth.authenticate(credential)
        return await self.store.list_chats(owner_of(principal), limit)

    async def list_messages(self, credential: str, chat_id: str) -> list[ChatMessage]:
        """Messages of one of the caller's chats (404 for anyone else's)."""
        principal = await self._auth.authenticate(credential)
        chat = await self.store.get_chat(owner_of(principal), chat_id)
        return await self.store.messages(chat.id)

    async def delete_chat(self, credential: str, chat_id: str) -> None:
        """Delete one of the caller's chats with its messages (404 for anyone else's)."""
        principal = await self._auth.authenticate(credential)
        await self.store.delete_chat(owner_of(principal), chat_id)

    async def put_tool(self, credential: str, name: str, description: str, parameters: Any, url: str,
                       secret: str = "") -> CustomToolRow:
        """Register or replace a webhook tool of the caller's app (needs apps:write; URL SSRF-checked)."""
        principal = await self._writer(credential)
        schema = check_definition(name, description, parameters, set(BUILTIN_NAMES))
        await self.toolbox.egress.check(url)
        if len(secret) > 200:
            raise invalid("`secret` is longer than 200 characters", "secret")
        row = CustomToolRow(id=new_id("tool"), account_id=principal.account_id, app_id=principal.app_id,
                            name=name, description=description or "",
                            parameters=orjson.dumps(schema).decode(), url=url, secret=secret)
        return await self.store.put_tool(row)

    async def list_tools(self, credential: str) -> tuple[list[CustomToolRow], list[str]]:
        """Webhook tools of the caller's app and the built-ins enabled for it."""
        principal = await self._auth.authenticate(credential)
        rows = await self.store.tools(principal.account_id, principal.app_id)
        return rows, await self.toolbox.enabled_builtins(principal, principal.app_id)

    async def delete_tool(self, credential: str, name: str) -> None:
        """Remove a webhook tool of the caller's app."""
        principal = await self._writer(credential)
        await self.store.delete_tool(principal.account_id, principal.app_id, name)

    async def _writer(self, credential: str) -> Principal:
        principal = await self._auth.authenticate(credential)
        if not principal.has("apps:write"):
            raise GatewayError(ErrorKind.PERMISSION_DENIED, "managing tools needs the apps:write scope")
        return principal
