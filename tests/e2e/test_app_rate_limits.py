"""An app's `rateLimits` from its AI config are enforced on its routes, with rate-limit headers."""
from __future__ import annotations

from tests.harness.gateway import Gateway


def test_app_rpm_from_ai_config_is_enforced(gateway: Gateway) -> None:
    with gateway.http() as http:
        app_id = http.post("/v1/apps", json={"name": "limited"}).json()["id"]
        r = http.put(f"/v1/{app_id}/ai/config", json={"rateLimits": {"rpm": 2, "tpm": 0}})
        assert r.status_code == 200, r.text
        assert r.json()["rateLimits"]["rpm"] == 2
        body = {"model": "local/echo", "messages": [{"role": "user", "content": "hi"}]}
        first = http.post(f"/v1/{app_id}/chat/completions", json=body)
        assert first.status_code == 200, first.text
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert http.post(f"/v1/{app_id}/chat/completions", json=body).status_code == 200
        third = http.post(f"/v1/{app_id}/chat/completions", json=body)
        assert third.status_code == 429
        assert third.json()["error"]["type"] == "rate_limit_error"
        assert int(third.headers["retry-after"]) >= 1
        # The app-less route is not subject to the app's limit.
        assert http.post("/v1/chat/completions", json=body).status_code == 200
