"""The deployment policy: where a deployment key's call may go, and the Dispatcher honouring the pinned target."""
from __future__ import annotations

import datetime as dt

import pytest
from tokenyard.clients.deployments import DeploymentCache
from tokenyard.common.deployments import Deployment
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.context import CallContext
from tokenyard.inference.deployment_policy import DeploymentPolicy
from tokenyard.principal import Principal, PrincipalKind

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def dep(state: str) -> Deployment:
    return Deployment(id="dep_1", owner="alice", model="gemma4:26b", upstream_kind="openai",
                      base_url="http://10.0.0.5:8000/v1", api_key_env="", state=state,
                      created_at=NOW, ends_at=NOW, has_api_key=True, api_key="sk-inst")


def ctx(model: str = "gemma4:26b", deployment_id: str = "dep_1") -> CallContext:
    p = Principal(account_id="alice", kind=PrincipalKind.DEPLOYMENT_KEY, scopes=frozenset({"ai:gateway"}),
                  key_id="key_1", deployment_id=deployment_id)
    return CallContext(request_id="r", principal=p, request={"model": model, "messages": []})


def policy(found: Deployment | None) -> DeploymentPolicy:
    async def resolve(_: str) -> Deployment | None:
        return found
    return DeploymentPolicy(DeploymentCache(resolve))


async def test_ready_deployment_pins_the_target() -> None:
    c = ctx()
    await policy(dep("ready")).prepare(c)
    assert c.model is not None and c.model.id == "gemma4:26b"
    t = c.explicit_target
    assert (t.provider_id, t.spec.base_url, t.upstream_model, t.api_key) == (
        "deployment/dep_1", "http://10.0.0.5:8000/v1", "gemma4:26b", "sk-inst")
    assert c.response_metadata["x-tokenyard-deployment"] == "dep_1"


@pytest.mark.parametrize(("found", "model", "kind"), [
    (None, "gemma4:26b", ErrorKind.NOT_FOUND), (dep("pending"), "gemma4:26b", ErrorKind.DEPLOYMENT_NOT_READY),
    (dep("stopped"), "gemma4:26b", ErrorKind.UNAUTHENTICATED), (dep("ended"), "gemma4:26b", ErrorKind.UNAUTHENTICATED),
    (dep("failed"), "gemma4:26b", ErrorKind.UNAUTHENTICATED), (dep("ready"), "gpt-4o", ErrorKind.INVALID_REQUEST),
    (dep("ready"), "", ErrorKind.INVALID_REQUEST)])
async def test_refusals(found: Deployment | None, model: str, kind: ErrorKind) -> None:
    with pytest.raises(GatewayError) as exc:
        await policy(found).prepare(ctx(model))
    assert exc.value.kind is kind


async def test_other_keys_are_untouched() -> None:
    c = ctx(model="local/echo", deployment_id="")
    await policy(None).prepare(c)
    assert c.model is None and c.explicit_target is None


async def test_cache_serves_within_ttl() -> None:
    calls = []
    now = [0.0]

    async def resolve(dep_id: str) -> Deployment | None:
        calls.append(dep_id)
        return dep("ready")
    cache = DeploymentCache(resolve, ttl=1.0, clock=lambda: now[0])
    await cache.get("dep_1")
    await cache.get("dep_1")
    now[0] = 1.5
    await cache.get("dep_1")
    assert calls == ["dep_1", "dep_1"]
