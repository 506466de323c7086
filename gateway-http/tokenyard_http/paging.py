"""OpenAI-style list pages over gRPC list RPCs: `limit`/`after` in, `has_more`/`first_id`/`last_id` out."""
from __future__ import annotations

from collections.abc import Sequence

from fastapi import Query
from tokenyard.common.v1 import common_pb2
from tokenyard.paging import DEFAULT_PAGE, MAX_PAGE

ID_PATTERN = r"^[A-Za-z0-9_-]*$"
LIMIT = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description=f"Items per page (1 to {MAX_PAGE}).")
AFTER = Query("", max_length=64, pattern=ID_PATTERN,
              description="`last_id` of the previous page; empty for the first page.")


def page_request(limit: int, after: str) -> common_pb2.PageRequest:
    """The gRPC page request of the query parameters."""
    return common_pb2.PageRequest(page_size=limit, page_token=after)


def page_fields(ids: Sequence[str], next_page_token: str) -> dict[str, object]:
    """`has_more`, `first_id` and `last_id` of a page of items with these ids."""
    return {"has_more": bool(next_page_token), "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None}
