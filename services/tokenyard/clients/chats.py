"""What the Config service reads of the chat app: the webhook tool names an app may enable.

Config validates an app's `enabledTools` against its owner's webhook tools, which the chat app stores. Both
run against the same database (in the all-in-one process and when split), so this reader is in-process.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.chats.store import ChatStore


def tool_names_reader(sessions: async_sessionmaker) -> Callable[[str, str], Awaitable[Iterable[str]]]:
    """(owner account, app id) -> names of the owner's webhook tools for that app."""
    return ChatStore(sessions).tool_names
