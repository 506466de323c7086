"""SSRF guard for URLs supplied through the API: resolve the host and refuse internal addresses unless allowed.

Operator-configured upstreams (the YAML catalog) are trusted and never pass through here. URLs that users
send (deployment endpoints, tool webhooks) must not reach loopback, link-local, private, multicast or other
reserved ranges unless the operator lists the host or a CIDR in `TOKENYARD_EGRESS_ALLOW`
(`settings.egress_allow`). Every address the name resolves to is checked, so one internal A record is enough
to refuse it.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from tokenyard.errors import ErrorKind, GatewayError, invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
SCHEMES = ("http", "https")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (getaddrinfo in a thread, so the event loop never blocks)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _internal(addr: IPAddress) -> bool:
    """True for addresses a user-supplied URL must not reach (unless allowed)."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return _internal(addr.ipv4_mapped)
    if isinstance(addr, ipaddress.IPv6Address) and addr.sixtofour is not None:
        return _internal(addr.sixtofour)
    if isinstance(addr, ipaddress.IPv6Address) and addr in NAT64:
        return _internal(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return (addr.is_loopback or addr.is_link_local or addr.is_private or addr.is_multicast or addr.is_reserved
            or addr.is_unspecified or not addr.is_global)


@dataclass(frozen=True)
class AllowList:
    """Allowed exceptions: exact host names (case-insensitive) and networks (CIDRs or single addresses)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_allow(cls, allow: Iterable[str]) -> AllowList:
        """Parse `TOKENYARD_EGRESS_ALLOW` entries: each a CIDR, an IP address or a host name."""
        hosts, nets = set(), []
        for raw in allow:
            entry = raw.strip()
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(nets))

    def address_allowed(self, addr: IPAddress) -> bool:
        """True when the address is public, or internal but inside an allowed network."""
        if any(addr in net for net in self.networks if net.version == addr.version):
            return True
        return not _internal(addr)


def _parse(url: str, field: str) -> tuple[str, int]:
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise invalid("must be an http(s) URL of at most 2048 characters", field)
    if any(ch in url for ch in "\r\n\t\\ ") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise invalid("URL contains whitespace, control characters or backslashes", field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid("is not a valid URL", field) from None
    if parts.scheme.lower() not in SCHEMES:
        raise invalid("URL scheme must be http or https", field)
    if parts.username is not None or parts.password is not None:
        raise invalid("URL must not carry credentials", field)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise invalid("URL has no host", field)
    return host, port or (443 if parts.scheme.lower() == "https" else 80)


class EgressGuard:
    """Checks user-supplied URLs before the gateway connects to them."""

    def __init__(self, allow: Sequence[str] = (), resolver: Resolver = system_resolver,
                 refusal: ErrorKind = ErrorKind.INVALID_REQUEST) -> None:
        self.policy = AllowList.from_allow(allow)
        self._resolve = resolver
        self._refusal = refusal

    async def check(self, url: str, field: str = "url") -> list[str]:
        """Raise INVALID_REQUEST (400, naming `field`) when `url` may reach an internal address; return the
        addresses it resolves to. Resolving is repeated at every check, so a later DNS change is caught."""
        host, port = _parse(url, field)
        if host.lower() in self.policy.hosts:
            return []
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addrs = [str(literal)]
        else:
            try:
                addrs = await self._resolve(host, port)
            except (OSError, UnicodeError):
                raise invalid(f"host {host!r} does not resolve", field) from None
            if not addrs:
                raise invalid(f"host {host!r} does not resolve", field)
        for text in addrs:
            addr = ipaddress.ip_address(text.split("%", 1)[0])
            if not self.policy.address_allowed(addr):
                raise GatewayError(self._refusal,
                                   f"{field}: {host!r} resolves to a loopback, private, link-local or reserved "
                                   f"address; the operator must allow it with TOKENYARD_EGRESS_ALLOW",
                                   param=field)
        return addrs


@dataclass(frozen=True)
class Destination:
    """A vetted URL and the address it must be reached at (so DNS rebinding cannot swap it)."""

    url: str
    host: str
    address: str
    pinned_url: str
    host_header: str


class EgressPolicy:
    """For calls made on a user's behalf (tool webhooks): vet the URL like EgressGuard, refusing internal
    targets with 403, and return the URL pinned to the vetted address."""

    def __init__(self, allow: Sequence[str] = (), resolver: Resolver = system_resolver) -> None:
        self._guard = EgressGuard(allow, resolver, refusal=ErrorKind.PERMISSION_DENIED)
        self._resolve = resolver

    async def check(self, url: str, param: str = "url") -> Destination:
        """The pinned destination; 400 for a malformed URL, 403 for a forbidden address."""
        addrs = await self._guard.check(url, param)
        host, port = _parse(url, param)
        if not addrs:  # an allowed host name: resolve it to pin the connection
            try:
                addrs = await self._resolve(host, port)
            except (OSError, UnicodeError):
                raise invalid(f"host {host!r} does not resolve", param) from None
        address = addrs[0].split("%", 1)[0]
        parts = urlsplit(url)
        netloc = f"[{address}]" if ":" in address else address
        pinned = parts._replace(netloc=f"{netloc}:{port}").geturl()
        name = f"[{host}]" if ":" in host else host
        default = port == (443 if parts.scheme.lower() == "https" else 80)
        return Destination(url=url, host=host, address=address, pinned_url=pinned,
                           host_header=name if default else f"{name}:{port}")
