"""The HTTP client behind the operator commands: --url/--key (or env), one clear error line, non-zero exit."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

URL_OPTION = Annotated[str, typer.Option("--url", envvar="TOKENYARD_URL", help="Gateway base URL.")]
KEY_OPTION = Annotated[str, typer.Option("--key", envvar="TOKENYARD_KEY", help="API key (or JWT).",
                                         show_default=False)]
DEFAULT_URL = "http://127.0.0.1:8080"
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line to stderr and return the Exit to raise."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return f"HTTP {resp.status_code}: {err.get('message')}"
    if isinstance(err, str):
        return f"HTTP {resp.status_code}: {err}"
    return f"HTTP {resp.status_code}"


class Api:
    """A thin wrapper over httpx that turns failures into one-line errors."""

    def __init__(self, url: str, key: str, timeout: float = 60.0, required: bool = True) -> None:
        if not key and required:
            raise fail("no API key: pass --key or set TOKENYARD_KEY")
        try:
            self.client = httpx.Client(base_url=url.rstrip("/") or DEFAULT_URL, timeout=timeout,
                                       headers={"Authorization": f"Bearer {key}"} if key else {})
        except (httpx.InvalidURL, ValueError):
            raise fail(f"invalid --url {url!r}: expected e.g. {DEFAULT_URL}") from None

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send; raise typer.Exit with the API's error message on failure."""
        try:
            resp = self.client.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise fail(f"cannot reach {self.client.base_url}") from None
        except httpx.UnsupportedProtocol:
            raise fail(f"invalid --url {self.client.base_url}: expected e.g. {DEFAULT_URL}") from None
        except httpx.HTTPError as exc:
            raise fail(f"request to {self.client.base_url} failed: {type(exc).__name__}") from None
        if resp.status_code >= 400:
            raise fail(_message(resp))
        return resp

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and decode JSON (an answer that is not JSON: not a tokenyard gateway, one error line)."""
        try:
            return self.request(method, path, **kwargs).json()
        except ValueError:
            raise fail(f"{self.client.base_url} answered {path} with something that is not JSON: "
                       "is --url a tokenyard gateway?") from None

    def items(self, path: str, params: dict[str, Any] | None = None, max_pages: int = 100) -> list[Any]:
        """Every item of a paginated list (following `has_more`/`last_id`, 100 a page)."""
        out: list[Any] = []
        query: dict[str, Any] = {**(params or {}), "limit": 100}
        for _ in range(max_pages):
            page = self.json("GET", path, params=query)
            out += page.get("data", [])
            if not page.get("has_more") or not page.get("last_id"):
                break
            query["after"] = page["last_id"]
        return out

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed response (errors before the body become one-line errors)."""
        try:
            with self.client.stream(method, path, **kwargs) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise fail(_message(resp))
                yield resp
        except httpx.ConnectError:
            raise fail(f"cannot reach {self.client.base_url}") from None
        except httpx.UnsupportedProtocol:
            raise fail(f"invalid --url {self.client.base_url}: expected e.g. {DEFAULT_URL}") from None
        except httpx.HTTPError as exc:
            raise fail(f"stream failed: {type(exc).__name__}") from None


def api(url: str, key: str, required: bool = True) -> Api:
    """Build the client (URL defaults to the local all-in-one gateway); `required`: the command needs a key."""
    return Api(url or os.environ.get("TOKENYARD_URL", DEFAULT_URL), key, required=required)
