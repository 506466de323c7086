"""AppPolicy: route access rules and app config applied to requests (default model, max_tokens cap, allow list)."""
from __future__ import annotations

import datetime as dt

import pytest
from tokenyard.catalog import load_catalog
from tokenyard.config.model import AppConfig, AppInfo, AppSnapshot
from tokenyard.errors import ErrorKind, GatewayError
from tokenyard.inference.app_policy import AppPolicy
from tokenyard.inference.context import CallContext
from tokenyard.principal import USER_SCOPES, Principal, PrincipalKind

CATALOG = load_catalog()
APP = AppInfo("app_1", "one", "alice", dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
CFG = AppConfig(default_model="local/echo", max_tokens_per_request=100, allowed_models=("local/echo",), rpm=7)
ALICE = Principal("alice", PrincipalKind.USER, USER_SCOPES)
BOB = Principal("bob", PrincipalKind.USER, USER_SCOPES)
APP_KEY = Principal("alice", PrincipalKind.APP_KEY, frozenset({"ai:gateway"}), key_id="key_a", app_id="app_1")
NO_GATEWAY = Principal("alice", PrincipalKind.PERSONAL_KEY, frozenset({"usage:read"}), key_id="key_u")
ADMIN = Principal("admin", PrincipalKind.PERSONAL_KEY, frozenset({"admin"}), key_id="key_admin")


class FakeCache:
    async def get(self, app_id: str) -> AppSnapshot | None:
        return AppSnapshot(APP, CFG) if app_id == "app_1" else None


async def run(principal: Principal, request: dict, app_id: str = "app_1") -> CallContext:
    policy = AppPolicy(FakeCache())  # type: ignore[arg-type]
    ctx = CallContext(request_id="r", principal=principal, request=request, app_id=app_id)
    await policy.prepare(ctx)
    name = ctx.request.get("model")
    ctx.model, ctx.requested_model = CATALOG.resolve(name), name
    await policy.admit(ctx)
    return ctx


async def refused(principal: Principal, request: dict, app_id: str = "app_1") -> GatewayError:
    with pytest.raises(GatewayError) as info:
        await run(principal, request, app_id)
    return info.value


MSG = [{"role": "user", "content": "hi"}]


async def test_app_route_fills_default_model_and_max_tokens_and_exposes_limits() -> None:
    ctx = await run(ALICE, {"messages": MSG})
    assert ctx.request["model"] == "local/echo" and ctx.request["max_tokens"] == 100
    assert ctx.app_config.rpm == 7


async def test_max_tokens_above_cap_is_400_naming_it_and_below_is_kept() -> None:
    err = await refused(ALICE, {"messages": MSG, "max_completion_tokens": 101})
    assert err.kind is ErrorKind.INVALID_REQUEST and err.param == "max_completion_tokens"
    ctx = await run(ALICE, {"messages": MSG, "max_tokens": 5})
    assert ctx.request["max_tokens"] == 5


async def test_model_outside_allowed_list_is_model_not_allowed() -> None:
    err = await refused(ALICE, {"model": "openai/gpt-4o", "messages": MSG})
    assert err.kind is ErrorKind.MODEL_NOT_ALLOWED and err.param == "model"


@pytest.mark.parametrize("app_id", ["app_1", "app_other", "not-an-app"])
async def test_other_users_and_unknown_apps_are_404(app_id: str) -> None:
    assert (await refused(BOB if app_id == "app_1" else ALICE, {"messages": MSG}, app_id)).kind \
        is ErrorKind.NOT_FOUND


async def test_app_keys_only_reach_their_own_app_routes() -> None:
    await run(APP_KEY, {"messages": MSG})
    assert (await refused(APP_KEY, {"model": "local/echo", "messages": MSG}, "")).kind is ErrorKind.PERMISSION_DENIED
    assert (await refused(APP_KEY, {"messages": MSG}, "app_2")).kind is ErrorKind.NOT_FOUND


async def test_app_less_route_needs_ai_gateway_and_applies_no_config() -> None:
    ctx = await run(ALICE, {"model": "openai/gpt-4o", "messages": MSG, "max_tokens": 5000}, "")
    assert ctx.request["max_tokens"] == 5000 and ctx.app_config is None
    assert (await refused(NO_GATEWAY, {"model": "local/echo", "messages": MSG}, "")).kind \
        is ErrorKind.PERMISSION_DENIED


async def test_admin_reaches_any_app() -> None:
    assert (await run(ADMIN, {"messages": MSG})).request["model"] == "local/echo"
