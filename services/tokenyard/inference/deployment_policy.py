"""Request policy for deployment keys: they reach only their own deployment, for its one model."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from tokenyard.catalog import ModelSpec, ProviderSpec, Timeouts
from tokenyard.clients.deployments import DeploymentCache
from tokenyard.common.deployments import READY, TERMINAL, Deployment
from tokenyard.common.deployments import not_ready
from tokenyard.errors import ErrorKind, GatewayError, invalid
from tokenyard.inference.context import CallContext
from tokenyard.monitoring.metrics import PRIVATE_PROVIDER_PREFIX
from tokenyard.principal import bound_key_refused
from tokenyard.providers.base import UpstreamTarget

Resolve = Callable[[str], Awaitable[Deployment | None]]
TIMEOUTS = Timeouts(connect=5.0, first_byte=120.0, total=600.0)


def target_of(dep: Deployment) -> UpstreamTarget:
    """Where a deployment's calls go: its own endpoint with the key Config resolved for it (the owner's own, or a
    mapped operator env var), one retry, generous timeouts, its own circuit breaker."""
    spec = ProviderSpec(kind=dep.upstream_kind, base_url=dep.base_url,  # type: ignore[arg-type]
                        timeouts=TIMEOUTS, max_retries=1)
    return UpstreamTarget(provider_id=f"{PRIVATE_PROVIDER_PREFIX}{dep.id}", spec=spec, upstream_model=dep.model,
                          api_key=dep.api_key)


class DeploymentPolicy:
    """Keys bound to a deployment: 403 on app routes and for anything but chat, 404 unknown, 401 finished (its
    keys are revoked), 409 not ready, 400 when the body's `model` is not the deployment's; otherwise the call
    goes to the deployment's endpoint only."""

    def __init__(self, deployments: DeploymentCache) -> None:
        self._deployments = deployments

    async def prepare(self, ctx: CallContext) -> None:
        dep_id = ctx.principal.deployment_id
        if not dep_id:
            return
        if ctx.app_id or ctx.kind != "chat":
            raise GatewayError(ErrorKind.PERMISSION_DENIED, bound_key_refused(ctx.principal))
        dep = await self._deployments.get(dep_id)
        if dep is None:
            raise GatewayError(ErrorKind.NOT_FOUND, f"No deployment {dep_id!r}")
        if dep.state in TERMINAL:
            raise GatewayError(ErrorKind.UNAUTHENTICATED, f"This key's deployment is {dep.state}; its keys are revoked")
        if dep.state != READY:
            raise not_ready(dep)
        model = ctx.param("model")
        if not model:
            raise invalid("`model` is required", "model")
        if model != dep.model:
            raise invalid(f"This key is bound to deployment {dep.id!r}, which serves `{dep.model}`, "
                          f"not `{model}`", "model")
        ctx.model = ModelSpec(id=dep.model, type="chat", provider=f"{PRIVATE_PROVIDER_PREFIX}{dep.id}",
                              upstream_model=dep.model,
                              owned_by=dep.owner)
        ctx.explicit_target = target_of(dep)
        ctx.response_metadata["x-tokenyard-deployment"] = dep.id

    async def admit(self, ctx: CallContext) -> None:
        return None

    async def finish(self, ctx: CallContext) -> None:
        return None
