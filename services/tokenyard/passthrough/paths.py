"""What a passthrough request may say: a safe path under the provider's base URL, and which headers travel."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

import httpx
from tokenyard.errors import ErrorKind, GatewayError, invalid

HOP_BY_HOP = frozenset({"connection", "keep-alive", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
                        "proxy-connection", "proxy-authenticate", "proxy-authorization"})
NEVER_FORWARDED = HOP_BY_HOP | {"host", "content-length", "cookie", "cookie2", "tokenyard-authorization",
                                "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"}
NEVER_RETURNED = HOP_BY_HOP | {"set-cookie", "set-cookie2", "server", "date"}
_SAFE_RAW = re.compile(rb"^[!$&'()*+,\-./0-9:;=@A-Z_a-z~%]*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True)
class ProxyPath:
    """`/v1/{account_id}/{gateway_id}/{provider}/{rest}` split; `rest` stays exactly as the client encoded it."""

    account_id: str
    gateway_id: str
    provider: str
    rest: str


def _escape(message: str) -> GatewayError:
    return invalid(f"Invalid passthrough path: {message}", "path")


def split_path(raw_path: bytes) -> ProxyPath:
    """Split the raw request path (never the decoded one, which would hide `%2e%2e` and `%2f`)."""
    if not raw_path.startswith(b"/v1/"):
        raise GatewayError(ErrorKind.NOT_FOUND, "Unknown route")
    parts = raw_path[4:].split(b"/", 3)
    if len(parts) != 4 or not all(parts[:3]):
        raise GatewayError(ErrorKind.NOT_FOUND, "Unknown route")
    account, gateway, provider = (unquote(p.decode("latin-1")) for p in parts[:3])
    return ProxyPath(account, gateway, provider, check_rest(parts[3]))


def check_rest(raw: bytes) -> str:
    """The provider-relative path, refused when it could leave the provider's base URL or smuggle anything."""
    if not raw:
        raise _escape("a provider path is required after the provider name")
    if not _SAFE_RAW.match(raw):
        raise _escape("it contains characters that must be percent-encoded (spaces, backslashes, control or "
                      "non-ASCII characters)")
    text = raw.decode("ascii")
    decoded = text
    for _ in range(4):  # undo double (and deeper) encoding before judging
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    if "\\" in decoded or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        raise _escape("backslashes and control characters are not allowed")
    if decoded.startswith("/") or "//" in decoded or "//" in text:
        raise _escape("empty segments ('//') are not allowed")
    if _SCHEME.match(decoded) or "://" in decoded:
        raise _escape("absolute URLs are not allowed")
    if any(seg in (".", "..") for seg in decoded.split("?")[0].split("/")):
        raise _escape("'.' and '..' segments are not allowed")
    return text


def upstream_url(base_url: str, rest: str, query: bytes) -> httpx.URL:
    """`base_url` + `/` + `rest` (+ the raw query), verified to stay under the base URL."""
    if any(b < 0x21 or b > 0x7E or b == 0x23 for b in query):
        raise invalid("Invalid passthrough query string", "query")
    base = httpx.URL(base_url.rstrip("/") + "/")
    url = httpx.URL(str(base) + rest + (("?" + query.decode("ascii")) if query else ""))
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port) or \
            not url.raw_path.startswith(base.raw_path):
        raise _escape("it does not stay under the provider's base URL")
    return url


def _listed(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names the `Connection` header marks as hop-by-hop."""
    out: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            out |= {token.strip().lower() for token in value.split(",") if token.strip()}
    return out


def request_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The client's headers minus hop-by-hop ones, Host, cookies, proxies and the gateway's own credential."""
    items = list(headers)
    drop = NEVER_FORWARDED | _listed(items)
    return [(k, v) for k, v in items if k.lower() not in drop and not k.lower().startswith("proxy-")]


def response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The upstream's headers minus hop-by-hop ones and cookies (the server adds its own Date and Server)."""
    items = list(headers)
    drop = NEVER_RETURNED | _listed(items)
    return [(k, v) for k, v in items if k.lower() not in drop and not k.lower().startswith("proxy-")]
