"""The systems under test: direct to the upstream, tokenyard all-in-one, tokenyard split, LiteLLM proxy."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import yaml

from bench.procs import Proc, free_port, wait_port
from bench.upstream import EMBED_DIMS, Upstream

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "ty_sk_bench-admin-key-0123456789abcdefghijklmnop"
LITELLM_KEY = "sk-bench-litellm-master-key"
UPSTREAM_KEY_ENV = "BENCH_UPSTREAM_KEY"
GRPC_SERVICES = ("auth", "config", "metering", "embeddings", "videojobs", "inference")
# Near-free prices so a long run never exhausts the bench account's credits (credit checks still run).
PRICING = {"input_per_mtok_usd": "0.01", "output_per_mtok_usd": "0.02"}


@dataclass
class Target:
    """A started system: base URL, credential, `routes[kind] = (path, model)` and the pids to measure."""

    name: str
    url: str
    key: str
    routes: dict[str, tuple[str, str]]
    procs: list[Proc] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopper: Callable[[], None] | None = None

    @property
    def pids(self) -> list[int]:
        """Process ids whose RSS counts as this target's."""
        return [p.popen.pid for p in self.procs]

    def headers(self) -> dict[str, str]:
        """Request headers (auth when there is a key)."""
        h = {"content-type": "application/json"}
        if self.key:
            h["authorization"] = f"Bearer {self.key}"
        return h

    def stop(self) -> None:
        """Stop its processes."""
        if self.stopper is not None:
            self.stopper()
        for p in reversed(self.procs):
            p.stop()


def direct(up: Upstream) -> Target:
    """Straight to nginx: the floor every gateway is measured against."""
    return Target("direct", up.url, "", {"chat": ("/plain/v1/chat/completions", "gpt-4o-mini"),
                                         "stream": ("/sse/v1/chat/completions", "gpt-4o-mini"),
                                         "embed": ("/plain/v1/embeddings", "text-embedding-3-small")})


def tokenyard_config(up: Upstream) -> dict[str, Any]:
    """The catalog overlay pointing bench models at the fake upstream."""
    common = {"context_window": 128000, "owned_by": "bench", "pricing": PRICING}
    return {
        "providers": {
            "bench-plain": {"kind": "openai", "base_url": f"{up.url}/plain/v1", "api_key_env": UPSTREAM_KEY_ENV},
            "bench-sse": {"kind": "openai", "base_url": f"{up.url}/sse/v1", "api_key_env": UPSTREAM_KEY_ENV},
        },
        "models": [
            {"id": "bench-chat", "type": "chat", "provider": "bench-plain", "upstream_model": "gpt-4o-mini",
             **common},
            {"id": "bench-stream", "type": "chat", "provider": "bench-sse", "upstream_model": "gpt-4o-mini",
             **common},
            {"id": "bench-embed", "type": "embedding", "provider": "bench-plain",
             "upstream_model": "text-embedding-3-small", "dimensions": EMBED_DIMS, "context_window": 8191,
             "owned_by": "bench", "pricing": {"input_per_mtok_usd": "0.01"}},
        ],
        "plans": [{"name": "free", "monthly_credits_usd": 1000000, "default": True}],
    }


GATEWAY_ROUTES = {"chat": ("/v1/chat/completions", "bench-chat"), "stream": ("/v1/chat/completions", "bench-stream"),
                  "embed": ("/v1/embeddings", "bench-embed"),
                  # the agent APIs, translated to the same chat-completions upstream (the direct target has
                  # no such route: their overhead is read against direct chat/stream)
                  "responses": ("/v1/responses", "bench-chat"), "responses_stream": ("/v1/responses", "bench-stream"),
                  "messages": ("/v1/messages", "bench-chat"), "messages_stream": ("/v1/messages", "bench-stream")}


def _tokenyard_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENYARD_")}
    paths = [str(ROOT / "services"), str(ROOT / "gateway-http"), str(ROOT)]
    env.update({"PYTHONPATH": os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
                "TOKENYARD_ADMIN_KEY": ADMIN_KEY, "TOKENYARD_DATA_DIR": str(work / "data"),
                "TOKENYARD_CONFIG": str(work / "config.yaml"), UPSTREAM_KEY_ENV: "sk-upstream-fake",
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    return env


def _wait_healthy(url: str, procs: list[Proc], timeout: float = 90.0, path: str = "/healthz") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited:\n{p.tail()}")
        try:
            if httpx.get(url + path, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout}s:\n" + "\n".join(p.tail() for p in procs))


def tokenyard(up: Upstream, work: Path, split: bool) -> Target:
    """`tokenyard up` (one process) or one `tokenyard serve <svc>` per service plus `serve http`."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(tokenyard_config(up)))
    env = _tokenyard_env(work)
    http_port = free_port()
    cmd = [sys.executable, "-m", "tokenyard"]
    procs: list[Proc] = []
    if not split:
        grpc_port = free_port()
        procs.append(Proc.spawn("tokenyard", [*cmd, "up", "--http-listen", f"127.0.0.1:{http_port}",
                                              "--grpc-listen", f"127.0.0.1:{grpc_port}"], work, env))
        admin_addr = f"127.0.0.1:{grpc_port}"
    else:
        ports = {svc: free_port() for svc in GRPC_SERVICES}
        env.update({f"TOKENYARD_{svc.upper()}_ADDR": f"127.0.0.1:{p}" for svc, p in ports.items()})
        env["TOKENYARD_INTERNAL_SECRET"] = secrets.token_urlsafe(32)  # what the split services present
        for svc in GRPC_SERVICES:
            procs.append(Proc.spawn(svc, [*cmd, "serve", svc, "--listen", f"127.0.0.1:{ports[svc]}"], work, env))
            wait_port(ports[svc], 90, procs[-1])
        procs.append(Proc.spawn("http", [*cmd, "serve", "http", "--listen", f"127.0.0.1:{http_port}"], work, env))
        admin_addr = f"127.0.0.1:{ports['auth']}"
    target = Target("tokenyard-split" if split else "tokenyard", f"http://127.0.0.1:{http_port}", ADMIN_KEY,
                    dict(GATEWAY_ROUTES), procs)
    try:
        _wait_healthy(target.url, procs)
        target.key, note = bench_key(admin_addr)
    except BaseException:
        target.stop()
        raise
    if note:
        target.notes.append(note)
    return target


def bench_key(auth_addr: str) -> tuple[str, str]:
    """A non-admin key with (very high) rpm/tpm limits, so auth, credits and rate-limit checks all run."""
    import grpc

    from tokenyard.auth.v1 import auth_service_pb2 as pb
    from tokenyard.auth.v1 import auth_service_pb2_grpc as pb_grpc

    try:
        with grpc.insecure_channel(auth_addr) as ch:
            resp = pb_grpc.AuthServiceStub(ch).CreateKey(
                pb.CreateKeyRequest(name="bench", scopes=["ai:gateway"], rpm=100_000_000, tpm=2_000_000_000,
                                    account_id="bench"),
                metadata=(("authorization", f"Bearer {ADMIN_KEY}"),), timeout=30)
        return resp.secret, ""
    except grpc.RpcError as exc:
        return ADMIN_KEY, f"could not create a bench key ({exc.code().name}); used the admin key"


def litellm_python(venv: Path) -> Path:
    """The LiteLLM venv's python, creating the venv and installing `litellm[proxy]` on first use."""
    py = venv / "bin" / "python"
    if not (venv / "bin" / "litellm").exists():
        print(f"installing litellm[proxy] into {venv} (first run only)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "litellm[proxy]"], check=True)
    return py


def litellm(up: Upstream, work: Path, venv: Path) -> Target:
    """LiteLLM proxy in its own venv, 1 worker, no database, master-key auth, local model cost map."""
    run = work / "litellm"
    run.mkdir(parents=True, exist_ok=True)
    py = litellm_python(venv)
    params = {"api_key": "sk-upstream-fake"}
    config = {
        "model_list": [
            {"model_name": "bench-chat", "litellm_params": {"model": "openai/gpt-4o-mini",
                                                            "api_base": f"{up.url}/plain/v1", **params}},
            {"model_name": "bench-stream", "litellm_params": {"model": "openai/gpt-4o-mini",
                                                              "api_base": f"{up.url}/sse/v1", **params}},
            {"model_name": "bench-embed", "litellm_params": {"model": "openai/text-embedding-3-small",
                                                             "api_base": f"{up.url}/plain/v1", **params}},
        ],
        "general_settings": {"master_key": LITELLM_KEY},
        "litellm_settings": {"telemetry": False},
    }
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "PYTHONUNBUFFERED": "1",
                "DISABLE_SCHEMA_UPDATE": "True"})
    litellm_bin = str(py.parent / "litellm")
    proc = Proc.spawn("litellm", [litellm_bin, "--config", str(run / "config.yaml"), "--host", "127.0.0.1",
                                  "--port", str(port), "--num_workers", "1"], run, env)
    target = Target("litellm", f"http://127.0.0.1:{port}", LITELLM_KEY, dict(GATEWAY_ROUTES), [proc])
    try:
        _wait_healthy(target.url, [proc], timeout=180, path="/health/liveliness")
    except BaseException:
        target.stop()
        raise
    return target
