"""Auth proto <-> domain conversions."""
from __future__ import annotations

import datetime as dt


from tokenyard.auth.tables import ApiKey
from tokenyard.auth.v1 import auth_service_pb2 as pb
from tokenyard.common.time import from_ts, ts
from tokenyard.common.v1 import common_pb2
from tokenyard.principal import Principal, PrincipalKind


def principal_to_pb(p: Principal) -> common_pb2.Principal:
    """Principal -> proto."""
    expires = (ts(dt.datetime.fromtimestamp(p.expires_at, dt.UTC)) if p.expires_at else None)
    return common_pb2.Principal(account_id=p.account_id, key_id=p.key_id, scopes=sorted(p.scopes),
                                app_id=p.app_id, deployment_id=p.deployment_id, kind=int(p.kind),
                                rpm=p.rpm, tpm=p.tpm, expires_at=expires)


def principal_from_pb(m: common_pb2.Principal) -> Principal:
    """Proto -> Principal."""
    expires = from_ts(m, "expires_at")
    return Principal(account_id=m.account_id, kind=PrincipalKind(m.kind), scopes=frozenset(m.scopes),
                     key_id=m.key_id, app_id=m.app_id, deployment_id=m.deployment_id, rpm=m.rpm, tpm=m.tpm,
                     expires_at=expires.timestamp() if expires else 0.0)


def key_to_pb(k: ApiKey) -> pb.ApiKey:
    """Key row -> proto (never the secret or hash)."""
    return pb.ApiKey(id=k.id, name=k.name, prefix=k.prefix, scopes=list(k.scopes), account_id=k.account_id,
                     app_id=k.app_id or "", deployment_id=k.deployment_id or "", created_at=ts(k.created_at),
                     last_used_at=ts(k.last_used_at), expires_at=ts(k.expires_at), revoked_at=ts(k.revoked_at),
                     rpm=k.rpm, tpm=k.tpm)
