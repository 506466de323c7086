"""Issue 19, HTTP API behaviour: model retrieval by id, unknown app ids, tool names, JSON bodies, top-ups."""
from __future__ import annotations

import openai
import pytest

from tests.e2e.api19_fixtures import Api19, api19  # noqa: F401  (fixture)
from tests.e2e.tenancy_fixtures import new_app, new_key


def test_models_retrieve_accepts_ids_with_slashes(api19: Api19) -> None:
    client = api19.gw.openai()
    model = client.models.retrieve("local/echo")
    assert (model.id, model.object) == ("local/echo", "model")
    with pytest.raises(openai.NotFoundError) as exc:
        client.models.retrieve("local/no-such-model")
    assert exc.value.status_code == 404
    assert exc.value.body["code"] == "model_not_found" and exc.value.body["type"] == "invalid_request_error"
    assert client.models.retrieve("openai/gpt-4o-mini").id == "openai/gpt-4o-mini"
    assert client.models.retrieve("gpt-4o-mini").id == "openai/gpt-4o-mini"  # an alias names its model


def test_app_scoped_models_retrieve(api19: Api19) -> None:
    _, user = api19.user("models")
    app = new_app(user, allowedModels=["local/echo"])
    key = new_key(user, app_id=app)["key"]
    client = openai.OpenAI(base_url=f"{api19.gw.url}/v1/{app}", api_key=key, max_retries=0)
    assert client.models.retrieve("local/echo").id == "local/echo"
    with pytest.raises(openai.NotFoundError) as exc:
        client.models.retrieve("openai/gpt-4o-mini")  # in the catalog, not allowed for this app
    assert exc.value.body["code"] == "model_not_found"
