"""Config proto <-> domain conversions."""
from __future__ import annotations

import datetime as dt

from tokenyard.common.time import ts
from tokenyard.config.model import AppConfig, AppInfo
from tokenyard.config.v1 import config_service_pb2 as pb


def app_to_pb(a: AppInfo) -> pb.App:
    """App -> proto."""
    return pb.App(id=a.id, name=a.name, owner=a.owner, created_at=ts(a.created_at))


def app_from_pb(m: pb.App) -> AppInfo:
    """Proto -> App."""
    return AppInfo(id=m.id, name=m.name, owner=m.owner, created_at=m.created_at.ToDatetime(tzinfo=dt.UTC))


def config_to_pb(c: AppConfig) -> pb.AppConfig:
    """AppConfig -> proto."""
    return pb.AppConfig(default_model=c.default_model, max_tokens_per_request=c.max_tokens_per_request,
                        allowed_models=list(c.allowed_models), rpm=c.rpm, tpm=c.tpm,
                        enabled_tools=list(c.enabled_tools), custom_tools_json=c.custom_tools_json,
                        require_gateway_key=c.require_gateway_key,
                        allow_unauthenticated_passthrough=c.allow_unauthenticated_passthrough)


def config_from_pb(m: pb.AppConfig) -> AppConfig:
    """Proto -> AppConfig."""
    return AppConfig(default_model=m.default_model, max_tokens_per_request=m.max_tokens_per_request,
                     allowed_models=tuple(m.allowed_models), rpm=m.rpm, tpm=m.tpm,
                     enabled_tools=tuple(m.enabled_tools), custom_tools_json=m.custom_tools_json,
                     require_gateway_key=m.require_gateway_key,
                     allow_unauthenticated_passthrough=m.allow_unauthenticated_passthrough)
