"""Builds the deployment part of the Config service: the service and its health checker."""
from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.clients.auth_keys import KeyIssuer
from tokenyard.deployments.health import HealthChecker
from tokenyard.deployments.service import DeploymentService
from tokenyard.egress import EgressGuard
from tokenyard.secretbox import box_for
from tokenyard.settings import Settings


def start_deployments(settings: Settings, sessions: async_sessionmaker, keys: KeyIssuer
                      ) -> tuple[DeploymentService, list[Any]]:
    """The service plus its running health checker; returns (service, closers). `keys` mints deployment keys
    through Auth (clients.auth_keys: in-process or over gRPC)."""
    box = box_for(settings.secret_key, settings.data_dir, legacy=[settings.admin_key])  # admin key: older seals
    service = DeploymentService(sessions, keys, EgressGuard(settings.egress_allow), box=box,
                                key_envs=settings.deploy_key_envs)
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50), trust_env=False)
    checker = HealthChecker(service, http)
    checker.start()
    return service, [checker.stop, http.aclose]

