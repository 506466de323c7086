"""The `search` tool: web search through a SearXNG-compatible JSON API (`GET url?q=...&format=json`)."""
from __future__ import annotations

from typing import Any

import httpx

from tokenyard.chats.tools.base import ToolCallInfo, ToolError
from tokenyard.chats.tools.http import fetch_json

SNIPPET_CHARS = 500


class SearchTool:
    """Top web results (title, url, snippet). `url` is the search endpoint, e.g. https://searx.example/search."""

    name = "search"
    description = "Search the web; returns the top results with title, URL and a snippet."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 500},
            "maxResults": {"type": "integer", "minimum": 1, "maximum": 10},
        },
        "required": ["query"],
        "additionalProperties": False,
    }

    def __init__(self, http: httpx.AsyncClient, url: str, api_key: str = "") -> None:
        self._http = http
        self._url = url
        self._api_key = api_key

    async def run(self, args: dict[str, Any], call: ToolCallInfo) -> dict[str, Any]:
        """Run the query and keep the first results."""
        headers = {"accept": "application/json"}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        data = await fetch_json(self._http, "the search service", "GET", self._url, headers=headers,
                                params={"q": args["query"], "format": "json"})
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise ToolError("the search service answered without results")
        top = []
        for r in results[: int(args.get("maxResults") or 5)]:
            if isinstance(r, dict) and r.get("url"):
                top.append({"title": str(r.get("title") or ""), "url": str(r["url"]),
                            "snippet": str(r.get("content") or "")[:SNIPPET_CHARS]})
        return {"query": args["query"], "results": top}
