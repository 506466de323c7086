"""The SSRF guard: internal addresses refused (literal or resolved), operator allow-list, URL hygiene."""
from __future__ import annotations

import pytest
from tokenyard.egress import EgressGuard
from tokenyard.errors import ErrorKind, GatewayError


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]
    return resolve


DNS = resolver({"api.example.com": ["93.184.216.34"], "sneaky.example.com": ["93.184.216.34", "10.0.0.7"],
                "metadata.example.com": ["169.254.169.254"], "v6.example.com": ["2606:4700::1111"],
                "mapped.example.com": ["::ffff:127.0.0.1"], "empty.example.com": []})


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/v1", "http://localhost/v1", "http://10.1.2.3/", "http://172.16.0.1/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]:80/", "http://0.0.0.0/",
    "http://100.64.0.1/", "http://[fe80::1]/", "http://[fd00::1]/", "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::a00:1]/", "http://224.0.0.1/", "http://sneaky.example.com/", "http://metadata.example.com/",
    "http://mapped.example.com/", "http://2130706433/", "http://0x7f.1/",
])
async def test_internal_addresses_are_refused(url: str) -> None:
    guard = EgressGuard(resolver=resolver({"localhost": ["127.0.0.1"], **{
        h: a for h, a in [("sneaky.example.com", ["93.184.216.34", "10.0.0.7"]),
                          ("metadata.example.com", ["169.254.169.254"]),
                          ("mapped.example.com", ["::ffff:127.0.0.1"])]}}))
    with pytest.raises(GatewayError) as exc:
        await guard.check(url, "upstream.base_url")
    assert exc.value.kind is ErrorKind.INVALID_REQUEST
    assert exc.value.param == "upstream.base_url"


@pytest.mark.parametrize("url", ["https://api.example.com/v1", "http://93.184.216.34:8080/",
                                 "https://v6.example.com/"])
async def test_public_addresses_pass(url: str) -> None:
    assert await EgressGuard(resolver=DNS).check(url)


@pytest.mark.parametrize("url", ["ftp://api.example.com/", "file:///etc/passwd", "http://user:pw@api.example.com/",
                                 "http://api.example.com\\@evil/", "http://api.example.com/\r\nX: y", "",
                                 "http:///nohost", "http://api.example.com:99999/", "gopher://x/", "//api.example.com/",
                                 "http://nowhere.example.com/", "http://empty.example.com/"])
async def test_malformed_or_unresolvable_urls_are_refused(url: str) -> None:
    with pytest.raises(GatewayError) as exc:
        await EgressGuard(resolver=DNS).check(url)
    assert exc.value.kind is ErrorKind.INVALID_REQUEST


async def test_allow_list_by_cidr_address_and_host() -> None:
    guard = EgressGuard(["127.0.0.1", "10.0.0.0/8", "Internal.Example.com"],
                        resolver=resolver({"internal.example.com": ["192.168.9.9"], "localhost": ["127.0.0.1"]}))
    assert await guard.check("http://127.0.0.1:9999/v1") == ["127.0.0.1"]
    assert await guard.check("http://localhost:9999/v1") == ["127.0.0.1"]
    assert await guard.check("http://10.200.0.1/")
    await guard.check("http://internal.example.com./v1")
    for url in ("http://127.0.0.2/", "http://192.168.0.1/", "http://[::1]/"):
        with pytest.raises(GatewayError):
            await guard.check(url)


async def test_real_resolver_refuses_localhost() -> None:
    with pytest.raises(GatewayError):
        await EgressGuard().check("http://localhost:1/")
