"""The outbound URL guard: private, loopback and link-local targets need TOKENYARD_EGRESS_ALLOW."""
from __future__ import annotations

import pytest

from tokenyard.egress import EgressPolicy
from tokenyard.errors import ErrorKind, GatewayError

BLOCKED = ["http://127.0.0.1/x", "http://localhost:8080/x", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
           "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/", "http://192.168.0.1/",
           "http://172.16.5.4/", "http://100.64.0.1/", "http://0.0.0.0/", "http://2130706433/",
           "http://[fe80::1]/", "http://[fd00::1]/", "http://224.0.0.1/"]


@pytest.mark.parametrize("url", BLOCKED)
async def test_private_targets_are_refused_by_default(url: str) -> None:
    with pytest.raises(GatewayError) as info:
        await EgressPolicy().check(url)
    assert info.value.kind is ErrorKind.PERMISSION_DENIED and info.value.param == "url"


@pytest.mark.parametrize("url", ["ftp://example.org/", "file:///etc/passwd", "http://", "not a url",
                                 "http://user:pw@8.8.8.8/", "http://[::1/", "http://host.invalid/"])
async def test_malformed_or_unresolvable_urls_are_400(url: str) -> None:
    with pytest.raises(GatewayError) as info:
        await EgressPolicy().check(url, param="webhook")
    assert info.value.kind is ErrorKind.INVALID_REQUEST and info.value.param == "webhook"


async def test_public_addresses_pass_and_are_pinned() -> None:
    dest = await EgressPolicy().check("https://8.8.8.8/hook?a=1")
    assert dest.pinned_url == "https://8.8.8.8:443/hook?a=1" and dest.host_header == "8.8.8.8"


@pytest.mark.parametrize(("allow", "url", "ok"), [
    (["127.0.0.1"], "http://127.0.0.1:9000/x", True),
    (["127.0.0.1"], "http://localhost:9000/x", True),
    (["127.0.0.1"], "http://[::1]:9000/x", False),
    (["10.0.0.0/8"], "http://10.9.8.7/", True),
    (["10.0.0.0/8"], "http://192.168.1.1/", False),
    (["hooks.internal", "localhost"], "http://localhost:1/", True),
    (["localhost"], "http://127.0.0.1:1/", False),
])
async def test_operator_allow_list_of_hosts_and_cidrs(allow: list[str], url: str, ok: bool) -> None:
    policy = EgressPolicy(allow)
    if ok:
        dest = await policy.check(url)
        assert dest.address in ("127.0.0.1", "::1", "10.9.8.7")
    else:
        with pytest.raises(GatewayError):
            await policy.check(url)


async def test_pinned_url_keeps_host_header_and_port() -> None:
    dest = await EgressPolicy(["127.0.0.1"]).check("http://localhost:8123/a/b?c=d")
    assert dest.pinned_url == "http://127.0.0.1:8123/a/b?c=d"
    assert dest.host_header == "localhost:8123" and dest.host == "localhost"
