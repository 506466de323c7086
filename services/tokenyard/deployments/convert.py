"""Deployment proto <-> value conversions."""
from __future__ import annotations

import datetime as dt

from tokenyard.common.deployments import Deployment
from tokenyard.common.time import from_ts, ts
from tokenyard.config.v1 import config_service_pb2 as pb


def deployment_to_pb(d: Deployment) -> pb.Deployment:
    """Value -> proto (never the upstream key: ResolveDeployment sends that in a field of its own)."""
    return pb.Deployment(id=d.id, owner=d.owner, model=d.model, upstream_kind=d.upstream_kind, base_url=d.base_url,
                         api_key_env=d.api_key_env, state=d.state, created_at=ts(d.created_at), ends_at=ts(d.ends_at),
                         last_error=d.last_error, default_key_id=d.default_key_id, ready_at=ts(d.ready_at),
                         finished_at=ts(d.finished_at), has_api_key=d.has_api_key)


def deployment_from_pb(m: pb.Deployment, api_key: str = "") -> Deployment:
    """Proto -> value (`api_key`: the upstream key ResolveDeployment sent alongside)."""
    epoch = dt.datetime.fromtimestamp(0, dt.UTC)
    return Deployment(id=m.id, owner=m.owner, model=m.model, upstream_kind=m.upstream_kind, base_url=m.base_url,
                      api_key_env=m.api_key_env, state=m.state, created_at=from_ts(m, "created_at") or epoch,
                      ends_at=from_ts(m, "ends_at") or epoch, last_error=m.last_error,
                      default_key_id=m.default_key_id, ready_at=from_ts(m, "ready_at"),
                      finished_at=from_ts(m, "finished_at"), has_api_key=m.has_api_key, api_key=api_key)
