"""Request policy for tenancy: who may call which route, and each app's AI config (model, max_tokens cap)."""
from __future__ import annotations

from tokenyard.clients.config_cache import AppCache
from tokenyard.common.rules import allows
from tokenyard.common.rules import can_access
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.inference.context import CallContext


def _denied(message: str) -> GatewayError:
    return GatewayError(ErrorKind.PERMISSION_DENIED, message)


class AppPolicy:
    """App-less routes need a JWT or the ai:gateway scope and apply no app config; app routes need access to
    the app (owner, admin, or the app's own key) and apply its config. App config is read from memory.
    Deployment-bound keys are left to the DeploymentPolicy."""

    def __init__(self, apps: AppCache) -> None:
        self._apps = apps

    async def prepare(self, ctx: CallContext) -> None:
        p = ctx.principal
        if p.bound:
            return  # a deployment-bound key: the DeploymentPolicy confines it (and the Router checks it did)
        if not p.has("ai:gateway"):
            raise _denied("calling models needs the ai:gateway scope")
        if not ctx.app_id:
            if p.app_id:
                raise _denied(f"this is an app key: call /v1/{p.app_id}/... instead")
            return
        snap = await self._apps.get(ctx.app_id) if ctx.app_id.startswith("app_") else None
        if snap is None or (p.app_id and p.app_id != ctx.app_id):
            raise GatewayError(ErrorKind.NOT_FOUND, f"No app {ctx.app_id!r}")
        if not can_access(p, snap.app):
            raise GatewayError(ErrorKind.NOT_FOUND, f"No app {ctx.app_id!r}")
        ctx.app, ctx.app_config = snap.app, snap.config
        cfg = snap.config
        if not ctx.param("model") and cfg.default_model:
            ctx.set_param("model", cfg.default_model)
        if ctx.kind == "chat" and cfg.max_tokens_per_request:
            self._cap_tokens(ctx, cfg.max_tokens_per_request)

    @staticmethod
    def _cap_tokens(ctx: CallContext, cap: int) -> None:
        present = False
        for name in ("max_tokens", "max_completion_tokens"):
            value = ctx.param(name)
            if value is None:
                continue
            present = True
            if isinstance(value, int) and value > cap:
                raise invalid(f"`{name}` is {value}, above this app's maxTokensPerRequest of {cap}", name)
        if not present:
            ctx.set_param("max_tokens", cap)

    async def admit(self, ctx: CallContext) -> None:
        cfg = ctx.app_config
        if cfg is not None and ctx.model is not None and not allows(cfg, ctx.model.id):
            raise GatewayError(ErrorKind.MODEL_NOT_ALLOWED,
                               f"The model `{ctx.requested_model}` is not allowed for this app", param="model")

    async def finish(self, ctx: CallContext) -> None:
        return None
