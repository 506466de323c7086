"""Persistence of chats, messages and custom tools (async SQLAlchemy, SQLite or PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.chats.tables import Chat, ChatMessage, CustomToolRow
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.storage.types import utcnow

MAX_CHATS = 1000


def new_id(prefix: str) -> str:
    """A random public id like `chat_5f0c...`."""
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass(frozen=True)
class Owner:
    """Whose chats a caller sees: an account, narrowed to one app for app keys (app_id None = every app)."""

    account_id: str
    app_id: str | None = None


def _chat_not_found(chat_id: str) -> GatewayError:
    return GatewayError(ErrorKind.NOT_FOUND, f"Chat {chat_id!r} not found", param="chatId")


class ChatStore:
    """Chats and their messages; every read is scoped to an Owner so foreign ids look like missing ones."""

    def __init__(self, sessions: async_sessionmaker, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def _owned(self, owner: Owner):  # type: ignore[no-untyped-def]
        q = select(Chat).where(Chat.account_id == owner.account_id)
        return q if owner.app_id is None else q.where(Chat.app_id == owner.app_id)

    async def get_chat(self, owner: Owner, chat_id: str) -> Chat:
        """The chat, or NOT_FOUND when it does not exist or belongs to someone else."""
        async with self._sessions() as s:
            chat = (await s.execute(self._owned(owner).where(Chat.id == chat_id))).scalar()
        if chat is None:
            raise _chat_not_found(chat_id)
        return chat

    async def list_chats(self, owner: Owner, limit: int = 0) -> list[Chat]:
        """The owner's chats, newest first."""
        n = min(limit, MAX_CHATS) if limit > 0 else MAX_CHATS
        q = self._owned(owner).order_by(Chat.created_at.desc(), Chat.id.desc()).limit(n)
        async with self._sessions() as s:
            return list((await s.execute(q)).scalars())

    async def messages(self, chat_id: str) -> list[ChatMessage]:
        """A chat's messages in order (callers check ownership first)."""
        q = select(ChatMessage).where(ChatMessage.chat_id == chat_id).order_by(ChatMessage.seq)
        async with self._sessions() as s:
            return list((await s.execute(q)).scalars())

    async def append(self, chat_id: str, rows: Sequence[ChatMessage], create: Chat | None = None) -> None:
        """Store messages (creating the chat first when `create` is given) and touch the chat's updated_at."""
        now = self._clock()
        async with self._sessions() as s, s.begin():
            if create is not None:
                create.created_at = create.updated_at = now
                s.add(create)
                await s.flush()
            for row in rows:
                row.chat_id = chat_id
                row.created_at = now
                s.add(row)
            await s.execute(update(Chat).where(Chat.id == chat_id).values(updated_at=now))

    async def delete_chat(self, owner: Owner, chat_id: str) -> None:
        """Delete a chat and its messages; NOT_FOUND when it is not the owner's."""
        async with self._sessions() as s, s.begin():
            chat = (await s.execute(self._owned(owner).where(Chat.id == chat_id))).scalar()
            if chat is None:
                raise _chat_not_found(chat_id)
            await s.execute(delete(ChatMessage).where(ChatMessage.chat_id == chat_id))
            await s.execute(delete(Chat).where(Chat.id == chat_id))

    async def put_tool(self, row: CustomToolRow) -> CustomToolRow:
        """Insert or replace the tool with the same (account, app, name)."""
        row.created_at = self._clock()
        async with self._sessions() as s, s.begin():
            await s.execute(delete(CustomToolRow).where(
                CustomToolRow.account_id == row.account_id, CustomToolRow.app_id == row.app_id,
                CustomToolRow.name == row.name))
            s.add(row)
            try:
                await s.flush()
            except IntegrityError:
                raise GatewayError(ErrorKind.CONFLICT, f"tool {row.name!r} is being registered concurrently",
                                   param="name") from None
        return row

    async def tools(self, account_id: str, app_id: str) -> list[CustomToolRow]:
        """Custom tools of one account's app (app_id '' = app-less), by name."""
        q = (select(CustomToolRow)
             .where(CustomToolRow.account_id == account_id, CustomToolRow.app_id == app_id)
             .order_by(CustomToolRow.name))
        async with self._sessions() as s:
            return list((await s.execute(q)).scalars())

    async def tool_names(self, account_id: str, app_id: str) -> list[str]:
        """Names of an account's webhook tools for one app and its app-less ones (what `enabledTools` may name
        besides the built-ins)."""
        q = (select(CustomToolRow.name).distinct()
             .where(CustomToolRow.account_id == account_id, CustomToolRow.app_id.in_((app_id, ""))))
        async with self._sessions() as s:
            return sorted((await s.execute(q)).scalars())

    async def delete_tool(self, account_id: str, app_id: str, name: str) -> None:
        """Remove a custom tool; NOT_FOUND when there is none by that name."""
        async with self._sessions() as s, s.begin():
            result = await s.execute(delete(CustomToolRow).where(
                CustomToolRow.account_id == account_id, CustomToolRow.app_id == app_id,
                CustomToolRow.name == name))
        if not result.rowcount:
            raise GatewayError(ErrorKind.NOT_FOUND, f"Tool {name!r} not found", param="name")
