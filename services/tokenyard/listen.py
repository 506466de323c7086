"""Claiming listen addresses before anything starts, so a busy port is one clear line and a non-zero exit."""
from __future__ import annotations

import socket


class ListenError(Exception):
    """An address a process must listen on cannot be bound; the message is the one line to print."""


def split_addr(addr: str) -> tuple[str, int]:
    """HOST:PORT (or [V6]:PORT) as (host, port); an empty host is 127.0.0.1."""
    host, _, port = addr.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def with_port(addr: str, port: int) -> str:
    """`addr`'s host with `port` (the port a `:0` address actually got), as HOST:PORT or [V6]:PORT."""
    host = split_addr(addr)[0]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind(addr: str, what: str) -> socket.socket:
    host, port = split_addr(addr)
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                              flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ListenError(f"cannot listen on {addr} ({what}): {_reason(exc)}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # what uvicorn and gRPC set as well
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {addr} ({what}): {_reason(exc)}") from None
    return sock


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def claim_http(addr: str) -> socket.socket:
    """A bound, listening socket for the HTTP facade (handed to uvicorn, so nothing can take the port between
    this check and serving)."""
    sock = _bind(addr, "HTTP")
    sock.listen(2048)
    return sock


def check_free(addr: str, what: str) -> None:
    """Raise ListenError when `addr` cannot be bound now (gRPC binds its own socket; this catches a busy port
    before the database, the admin key or any worker is touched)."""
    _bind(addr, what).close()
