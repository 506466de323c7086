"""Provider passthrough in the Router: `/v1/{account_id}/{gateway_id}/{provider}/...` requests forwarded unchanged to
a configured provider with the caller's own provider credentials (BYOK), access-checked and metered here.

The facade only parses the path and relays bytes over InferenceService.Forward (a server-streaming bytes RPC;
in-process in the all-in-one gateway). This package reuses the Router's authenticator, app cache, rate limiter,
usage sink, provider HTTP pool and catalog: `access.py` (who may call), `paths.py` (what may be forwarded),
`meter.py` (usage read from the answer as it streams), `service.py` (forwarding), `servicer.py` (the RPCs).
"""
