"""Runs the real gateway as processes (all-in-one or split into one process per service) for tests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ADMIN_KEY = "ty_sk_test-admin-key-0123456789abcdefghijklmnop"
INTERNAL_SECRET = "test-internal-secret-0123456789abcdefghijklmnop"
"""What split processes present to each other (all-in-one generates its own in memory)."""
GRPC_SERVICES = ("auth", "config", "metering", "embeddings", "videojobs", "inference")


def free_port() -> int:
    """A currently free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Gateway:
    """A gateway under test. `start()` blocks until /healthz answers; `stop()` sends SIGTERM."""

    workdir: Path
    config: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    split: bool = False
    http_port: int = 0
    grpc_port: int = 0
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    service_ports: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Base URL of the HTTP facade."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_addr(self) -> str:
        """gRPC address (all-in-one server, or the inference service when split)."""
        port = self.service_ports.get("inference", self.grpc_port)
        return f"127.0.0.1:{port}"

    @property
    def admin_key(self) -> str:
        """The bootstrap admin key."""
        return self.env.get("TOKENYARD_ADMIN_KEY", ADMIN_KEY)

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENYARD_")}
        env.update({"TOKENYARD_ADMIN_KEY": ADMIN_KEY, "TOKENYARD_DATA_DIR": str(self.workdir / "data"),
                    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
        if self.split:
            env["TOKENYARD_INTERNAL_SECRET"] = INTERNAL_SECRET
        if self.config is not None:
            path = self.workdir / "config.yaml"
            path.write_text(yaml.safe_dump(self.config))
            env["TOKENYARD_CONFIG"] = str(path)
        env.update(self.env)
        return env

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "tokenyard", *args], env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start(self, timeout: float = 60.0) -> "Gateway":
        """Start the process(es) and wait until the facade is healthy."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.http_port = self.http_port or free_port()
        env = self._base_env()
        if not self.split:
            self.grpc_port = self.grpc_port or free_port()
            self._spawn("gateway", ["up", "--http-listen", f"127.0.0.1:{self.http_port}",
                                    "--grpc-listen", f"127.0.0.1:{self.grpc_port}"], env)
        else:
            for svc in GRPC_SERVICES:
                self.service_ports.setdefault(svc, free_port())
            for svc, port in self.service_ports.items():
                env[f"TOKENYARD_{svc.upper()}_ADDR"] = f"127.0.0.1:{port}"
            for svc in GRPC_SERVICES:
                self.start_service(svc, env)
            self._spawn("http", ["serve", "http", "--listen", f"127.0.0.1:{self.http_port}"], env)
        self.wait_healthy(timeout)
        return self

    def start_service(self, svc: str, env: dict[str, str] | None = None) -> None:
        """(Re)start one service of a split gateway."""
        if env is None:
            env = self._base_env()
            for s, port in self.service_ports.items():
                env[f"TOKENYARD_{s.upper()}_ADDR"] = f"127.0.0.1:{port}"
        self._spawn(svc, ["serve", svc, "--listen", f"127.0.0.1:{self.service_ports[svc]}"], env)
        self._wait_port(self.service_ports[svc], 60.0, svc)

    def _wait_port(self, port: int, timeout: float, name: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{self.logs(name)}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not listen on {port}:\n{self.logs(name)}")

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Block until GET /healthz answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.logs(name)}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gateway not healthy after {timeout}s:\n{self.logs()}")

    def logs(self, name: str | None = None) -> str:
        """Captured output of one process (or all)."""
        names = [name] if name else list(self.procs)
        return "\n".join(f"--- {n}\n" + (self.workdir / f"{n}.log").read_text(errors="replace")[-8000:]
                         for n in names if (self.workdir / f"{n}.log").exists())

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send a signal to one process and wait for it to end."""
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM every process (facade first), SIGKILL stragglers."""
        order = sorted(self.procs, key=lambda n: n not in ("http", "gateway"))
        for name in order:
            proc = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def openai(self, key: str | None = None, **kwargs: Any) -> Any:
        """An official OpenAI SDK client pointed at the gateway."""
        import openai

        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key or self.admin_key, max_retries=0, **kwargs)

    def http(self, key: str | None = None) -> httpx.Client:
        """A plain HTTP client with the given (default admin) key."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key or self.admin_key}"},
                            timeout=30)
