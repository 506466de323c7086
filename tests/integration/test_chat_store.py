"""The chat store on SQLite and PostgreSQL: ordering, ownership, deletion and tool replacement."""
from __future__ import annotations

import pytest

from tokenyard.chats.history import message_from_row, row_from_message
from tokenyard.chats.store import ChatStore, Owner
from tokenyard.chats.tables import Chat, CustomToolRow
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.storage.db import create_engine, migrate, sessionmaker


async def test_chat_store_round_trip(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    store = ChatStore(sessionmaker(engine))
    try:
        first = [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                 {"role": "assistant", "content": None, "tool_calls": [
                     {"id": "c1", "type": "function",
                      "function": {"name": "calculator", "arguments": "{}"}}]}]
        await store.append("chat_a", [row_from_message(m) for m in first],
                           create=Chat(id="chat_a", account_id="ann", app_id="", title="hi", model="gpt-4o"))
        await store.append("chat_a", [row_from_message({"role": "tool", "tool_call_id": "c1", "content": "2"},
                                                       tool_name="calculator")])
        await store.append("chat_b", [], create=Chat(id="chat_b", account_id="ann", app_id="app_1"))
        rows = await store.messages("chat_a")
        assert [message_from_row(r) for r in rows] == [*first, {"role": "tool", "tool_call_id": "c1",
                                                                "content": "2"}]
        assert rows[2].tool_name == "calculator"
        assert [c.id for c in await store.list_chats(Owner("ann"))] == ["chat_b", "chat_a"]
        assert [c.id for c in await store.list_chats(Owner("ann", "app_1"))] == ["chat_b"]
        for owner in (Owner("bob"), Owner("ann", "app_2")):
            with pytest.raises(GatewayError) as info:
                await store.delete_chat(owner, "chat_a")
            assert info.value.kind is ErrorKind.NOT_FOUND
        await store.delete_chat(Owner("ann"), "chat_a")
        assert await store.messages("chat_a") == []
        for url in ("http://a.example/1", "http://a.example/2"):
            await store.put_tool(CustomToolRow(id=f"tool_{url[-1]}", account_id="ann", app_id="", name="t",
                                               description="", parameters="{}", url=url))
        assert [t.url for t in await store.tools("ann", "")] == ["http://a.example/2"], "replaced"
        await store.delete_tool("ann", "", "t")
        with pytest.raises(GatewayError):
            await store.delete_tool("ann", "", "t")
    finally:
        await engine.dispose()
