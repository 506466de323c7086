"""Keyset pagination of newest-first lists (apps, API keys): page sizes, `after` cursors and page tokens.

A page token is the id of the last item of the previous page (OpenAI's `after`). Items are ordered by
(`created_at` desc, `id` desc), so a page never skips or repeats an item when others are added meanwhile.
"""
from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy import and_, or_

from tokenyard.common.v1 import common_pb2
from tokenyard.errors import invalid

DEFAULT_PAGE = 20
MAX_PAGE = 100
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
T = TypeVar("T")


def page_size(page: common_pb2.PageRequest) -> int:
    """The requested page size (0 = the default); INVALID_ARGUMENT outside 1..MAX_PAGE."""
    size = page.page_size or DEFAULT_PAGE
    if not 1 <= size <= MAX_PAGE:
        raise invalid(f"'limit' must be between 1 and {MAX_PAGE}", "limit")
    return size


def valid_id(value: str, param: str = "after") -> str:
    """An object id (or `after` cursor) checked for shape before it reaches the database: letters, digits,
    `_` and `-`, at most 64 (INVALID_ARGUMENT naming `param` otherwise; empty passes)."""
    if value and not _ID.fullmatch(value):
        raise invalid(f"'{param}' must be an object id such as the last id of the previous page", param)
    return value


def older_than(model: Any, cursor: Any) -> Any:
    """SQL condition: rows after `cursor` in (created_at desc, id desc) order."""
    return or_(model.created_at < cursor.created_at,
               and_(model.created_at == cursor.created_at, model.id < cursor.id))


def newest_first(model: Any) -> tuple[Any, Any]:
    """The ORDER BY matching `older_than`."""
    return model.created_at.desc(), model.id.desc()


def split_page(rows: list[T], size: int, id_of: Any = lambda r: r.id) -> tuple[list[T], str]:
    """(the page, the next page token) from up to `size + 1` rows; the token is empty on the last page."""
    if len(rows) <= size:
        return rows, ""
    rows = rows[:size]
    return rows, id_of(rows[-1])
