"""Builds the deployment parts of a process: the service and its checker (with Config), the Router's policy."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.auth.service import AuthService
from tokenyard.clients.deployments import DeploymentClient
from tokenyard.deployments.health import HealthChecker
from tokenyard.clients.auth_keys import KeyIssuer, LocalKeyIssuer, RemoteKeyIssuer
from tokenyard.deployments.service import DeploymentService
from tokenyard.egress import EgressGuard
from tokenyard.inference.deployment_policy import DeploymentPolicy
from tokenyard.clients.deployments import DeploymentCache
from tokenyard.secretbox import box_for
from tokenyard.settings import Settings


def start_deployments(settings: Settings, sessions: async_sessionmaker, auth_service: AuthService | None,
                      channel: Callable[[str], grpc.aio.Channel]) -> tuple[DeploymentService, list[Any]]:
    """The service plus its running health checker; returns (service, closers)."""
    keys: KeyIssuer = (LocalKeyIssuer(auth_service) if auth_service is not None
                       else RemoteKeyIssuer(channel("auth"), settings.internal_secret))
    box = box_for(settings.secret_key, settings.data_dir, legacy=[settings.admin_key])  # admin key: older seals
    service = DeploymentService(sessions, keys, EgressGuard(settings.egress_allow), box=box,
                                key_envs=settings.deploy_key_envs)
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50), trust_env=False)
    checker = HealthChecker(service, http)
    checker.start()
    return service, [checker.stop, http.aclose]


def deployment_policy(settings: Settings, service: DeploymentService | None,
                      channel: Callable[[str], grpc.aio.Channel]) -> DeploymentPolicy:
    """The Router's policy, reading deployments in-process or from the Config service."""
    resolve = (service.resolve if service is not None
               else DeploymentClient(channel("config"), settings.internal_secret).resolve)
    return DeploymentPolicy(DeploymentCache(resolve))
