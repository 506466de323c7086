"""Embeddings end to end: the openai SDK and plain HTTP against one gateway with the real local model and a
fake OpenAI-compatible upstream."""
from __future__ import annotations

import base64
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from tests.fakes import FakeOpenAI, fake_embedding
from tests.harness.gateway import Gateway

LOCAL = "local/all-minilm-l6-v2"
UPSTREAM = "fake/text-embedding-3-small"
MAX_REQUEST_TOKENS = 5000


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(require_api_key="sk-fake-upstream") as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI) -> Iterator[Gateway]:
    """The one gateway of this module (it loads the local model once)."""
    config = {"providers": {"fakeoai": {"kind": "openai", "base_url": f"{fake.url}/v1",
                                        "api_key_env": "FAKE_OPENAI_KEY", "max_retries": 0}},
              "models": [{"id": UPSTREAM, "type": "embedding", "provider": "fakeoai",
                          "upstream_model": "text-embedding-3-small", "dimensions": 1536,
                          "pricing": {"input_per_mtok_usd": "0.02"}}]}
    env = {"FAKE_OPENAI_KEY": "sk-fake-upstream",
           "TOKENYARD_EMBEDDINGS_MAX_REQUEST_TOKENS": str(MAX_REQUEST_TOKENS)}
    gateway = Gateway(workdir=tmp_path_factory.mktemp("embeddings"), config=config, env=env)
    try:
        gateway.start()
        yield gateway
    finally:
        gateway.stop()


def as_array(embedding: object) -> np.ndarray:
    """A float list, or the base64 string the SDK hands back untouched, as float32."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4")
    return np.asarray(embedding, dtype=np.float32)


def metric(gw: Gateway, name: str) -> float:
    text = httpx.get(f"{gw.url}/metrics").text
    found = re.search(rf'^{name}\{{model="all-minilm-l6-v2"\}} ([0-9.e+]+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_sdk_single_input_float_from_the_local_model(gw: Gateway) -> None:
    resp = gw.openai().embeddings.create(model=LOCAL, input="The cat sits on the mat.",
                                         encoding_format="float")
    assert resp.object == "list" and resp.model == LOCAL and len(resp.data) == 1
    item = resp.data[0]
    assert item.object == "embedding" and item.index == 0 and len(item.embedding) == 384
    assert np.linalg.norm(as_array(item.embedding)) == pytest.approx(1.0, abs=1e-4)
    assert resp.usage.prompt_tokens == resp.usage.total_tokens > 2


def test_sdk_batch_base64_decodes_to_the_float_vectors_in_input_order(gw: Gateway) -> None:
    texts = ["first input", "a second, longer input sentence", "third", "first input"]
    client = gw.openai()
    floats = client.embeddings.create(model=LOCAL, input=texts, encoding_format="float")
    b64 = client.embeddings.create(model=LOCAL, input=texts, encoding_format="base64")
    assert [d.index for d in floats.data] == [d.index for d in b64.data] == [0, 1, 2, 3]
    assert all(isinstance(d.embedding, str) for d in b64.data)
    for f, b in zip(floats.data, b64.data):
        assert np.array_equal(as_array(f.embedding), as_array(b.embedding))
    vectors = [as_array(d.embedding) for d in floats.data]
    assert np.allclose(vectors[0], vectors[3], atol=1e-5) and not np.allclose(vectors[0], vectors[1])
    assert floats.usage.prompt_tokens == b64.usage.prompt_tokens


def test_paraphrases_are_closer_than_unrelated_sentences(gw: Gateway) -> None:
    texts = ["A man is eating food.", "Someone is having a meal.",
             "How do I reset my password?", "I forgot my login credentials and need a new password.",
             "The stock market fell sharply today.", "Penguins live in the Antarctic."]
    data = gw.openai().embeddings.create(model=LOCAL, input=texts, encoding_format="float").data
    v = [as_array(d.embedding) for d in data]
    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b))  # the vectors are unit length

    for a, b in ((0, 1), (2, 3)):
        for unrelated in (4, 5):
            assert cos(v[a], v[b]) > cos(v[a], v[unrelated]) + 0.2
            assert cos(v[a], v[b]) > cos(v[b], v[unrelated]) + 0.2


def test_token_arrays_embed_like_the_text_they_encode(gw: Gateway) -> None:
    resp = gw.openai().embeddings.create(model=LOCAL, input=[[15339, 1917], [15339, 1917]],
                                         encoding_format="float")
    text = gw.openai().embeddings.create(model=LOCAL, input="hello world", encoding_format="float")
    assert np.allclose(as_array(resp.data[0].embedding), as_array(text.data[0].embedding), atol=1e-5)


def test_concurrent_requests_are_micro_batched(gw: Gateway) -> None:
    gw.openai().embeddings.create(model=LOCAL, input="warm up")
    calls = metric(gw, "tokenyard_embedding_model_calls_total")
    inputs = metric(gw, "tokenyard_embedding_model_inputs_total")
    n = 24
    with gw.http() as http, ThreadPoolExecutor(n) as pool:
        statuses = list(pool.map(lambda i: http.post("/v1/embeddings", json={
            "model": LOCAL, "input": f"concurrent request number {i}"}).status_code, range(n)))
    assert statuses == [200] * n
    assert metric(gw, "tokenyard_embedding_model_inputs_total") - inputs == n
    assert metric(gw, "tokenyard_embedding_model_calls_total") - calls < n


@pytest.mark.parametrize("body,status,fragment", [
    ({"model": LOCAL, "input": ""}, 400, "must not be an empty string"),
    ({"model": LOCAL, "input": []}, 400, "must not be an empty array"),
    ({"model": LOCAL, "input": ["ok", ""]}, 400, "input[1] must not be an empty string"),
    ({"model": LOCAL, "input": ["ok", 7]}, 400, "input[1] must be a string or an array of token ids"),
    ({"model": LOCAL, "input": ["ok", {"text": "x"}]}, 400, "input[1] must be a string"),
    ({"model": LOCAL}, 400, "Missing required parameter: 'input'"),
    ({"model": LOCAL, "input": ["x"] * 2049}, 400, "the limit is 2048 inputs per request"),
    ({"model": LOCAL, "input": ["word " * 100] * 60}, 400, "max_request_tokens"),
    ({"model": LOCAL, "input": "word " * 300}, 400, "accepts at most 256 tokens"),
    ({"model": LOCAL, "input": "x", "dimensions": 128}, 400, "always returns 384 dimensions"),
    ({"model": LOCAL, "input": "x", "encoding_format": "hex"}, 400, "encoding_format"),
    ({"model": "no/such-model", "input": "x"}, 404, "does not exist"),
    ({"model": "local/echo", "input": "x"}, 400, "is a chat model"),
])
def test_bad_input_gets_openai_error_json(gw: Gateway, body: dict, status: int, fragment: str) -> None:
    with gw.http() as http:
        resp = http.post("/v1/embeddings", json=body)
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert fragment in error["message"]
    assert error["type"] == "invalid_request_error"
    if status == 404:
        assert error["code"] == "model_not_found"
    if "256 tokens" in fragment:
        assert error["code"] == "context_length_exceeded"


def test_routes_need_a_key(gw: Gateway) -> None:
    for path in ("/v1/embeddings", "/v1/some-app/embeddings"):
        resp = httpx.post(f"{gw.url}{path}", json={"model": LOCAL, "input": "x"})
        assert resp.status_code == 401 and resp.json()["error"]["type"] == "authentication_error"


def test_usage_is_recorded_per_request(gw: Gateway) -> None:
    with gw.http() as http:
        resp = http.post("/v1/embeddings", json={"model": LOCAL, "input": ["metered one", "metered two"]},
                         headers={"x-request-id": "req-embed-usage-1"})
    assert resp.status_code == 200 and resp.headers["x-tokenyard-target"] == "local"
    tokens = resp.json()["usage"]["prompt_tokens"]
    db = gw.workdir / "data" / "tokenyard.db"
    row = None
    for _ in range(50):
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT kind, model, prompt_tokens, status FROM usage_records "
                               "WHERE client_request_id = ?", ("req-embed-usage-1",)).fetchone()
        if row:
            break
        time.sleep(0.1)
    assert row == ("embedding", LOCAL, tokens, "ok")


def test_sdk_against_an_openai_compatible_upstream(gw: Gateway, fake: FakeOpenAI) -> None:
    client = gw.openai()
    single = client.embeddings.create(model=UPSTREAM, input="hello upstream", encoding_format="float")
    assert single.model == UPSTREAM and len(single.data[0].embedding) == 1536
    assert np.allclose(as_array(single.data[0].embedding), fake_embedding("hello upstream", 1536), atol=1e-6)
    texts = ["one", "two", "three"]
    floats = client.embeddings.create(model=UPSTREAM, input=texts, encoding_format="float", dimensions=256)
    b64 = client.embeddings.create(model=UPSTREAM, input=texts, encoding_format="base64", dimensions=256)
    for i, (f, b) in enumerate(zip(floats.data, b64.data)):
        assert f.index == b.index == i
        assert np.array_equal(as_array(f.embedding), as_array(b.embedding))
        assert np.allclose(as_array(f.embedding), fake_embedding(texts[i], 256), atol=1e-6)
    assert floats.usage.prompt_tokens == 3
    sent = fake.requests[-1].json
    assert sent["model"] == "text-embedding-3-small" and sent["dimensions"] == 256
    assert sent["encoding_format"] == "float"


def test_upstream_token_budget_is_enforced_before_the_call(gw: Gateway, fake: FakeOpenAI) -> None:
    before = len(fake.requests)
    with gw.http() as http:
        resp = http.post("/v1/embeddings", json={"model": UPSTREAM, "input": ["word " * 1000] * 6})
    assert resp.status_code == 400 and "max_request_tokens" in resp.json()["error"]["message"]
    assert len(fake.requests) == before


def test_split_mode_embeddings_service_runs_alone_and_meters_through_metering(
        make_gateway: Callable[..., Gateway]) -> None:
    split = make_gateway(split=True)
    with split.http() as http:
        resp = http.post("/v1/embeddings", json={"model": LOCAL, "input": ["split one", "split two"]},
                         headers={"x-request-id": "req-embed-split-1"})
    assert resp.status_code == 200, resp.text
    assert [len(d["embedding"]) for d in resp.json()["data"]] == [384, 384]
    db = split.workdir / "data" / "tokenyard.db"
    for _ in range(50):
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT kind FROM usage_records WHERE client_request_id = ?",
                               ("req-embed-split-1",)).fetchone()
        if row:
            break
        time.sleep(0.1)
    assert row == ("embedding",)


@pytest.mark.parametrize("content,fragment", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'"just a string"', "must be a JSON object"),
    (b'{"model": 5, "input": "x"}', "'model'"),
])
def test_malformed_bodies_are_400(gw: Gateway, content: bytes, fragment: str) -> None:
    resp = httpx.post(f"{gw.url}/v1/embeddings", content=content, timeout=30,
                      headers={"Authorization": f"Bearer {gw.admin_key}", "Content-Type": "application/json"})
    assert resp.status_code == 400 and fragment in resp.json()["error"]["message"]
