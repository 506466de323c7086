"""Tells a dependency outage (database or Redis unreachable, connection dropped) from a bug."""
from __future__ import annotations

from collections.abc import Iterator

# SQLSTATE classes of "the server went away / refuses connections": 08 connection exception,
# 57P operator intervention (admin shutdown, crash), 53300 too many connections, 55000 database not
# accepting connections.
_SQLSTATE_PREFIXES = ("08", "57P", "53300", "55000")
_CLASS_NAMES = frozenset({"InterfaceError", "InternalClientError", "ConnectionDoesNotExistError",
                          "ConnectionError", "TimeoutError", "BusyLoadingError"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo += [cur.__cause__, cur.__context__, getattr(cur, "orig", None)]


def is_outage(exc: BaseException) -> bool:
    """True when `exc` (or anything that caused it) says a database/Redis connection failed or was refused."""
    for cur in _chain(exc):
        if isinstance(cur, (ConnectionError, TimeoutError)):
            return True
        if type(cur).__name__ in _CLASS_NAMES and type(cur).__module__.split(".")[0] in (
                "sqlalchemy", "asyncpg", "redis", "sqlite3", "aiosqlite"):
            return True
        state = getattr(cur, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_SQLSTATE_PREFIXES):
            return True
    return False
