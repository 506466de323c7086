"""Starting the gateway as a newcomer does: a busy port is one line and a non-zero exit (never "ready", never a
traceback), and the generated bootstrap admin key cannot be lost (issue 19)."""
from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness.gateway import Gateway, free_port


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another process is listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def tokenyard(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """Run `tokenyard ARGS` to its end (a start that fails exits by itself)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("TOKENYARD_")}
    full.update({"TOKENYARD_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **env})
    return subprocess.run([sys.executable, "-m", "tokenyard", *args], env=full, capture_output=True, text=True,
                          timeout=90)


def assert_one_line_naming(out: subprocess.CompletedProcess, port: int, what: str) -> None:
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == [f"tokenyard: cannot listen on 127.0.0.1:{port} ({what}): "
                                               "address already in use"], out.stderr
    assert "ready" not in out.stdout and "Traceback" not in out.stdout + out.stderr


@pytest.mark.parametrize("busy", ["http", "grpc"])
def test_up_with_a_busy_port_is_one_line_and_fails(busy: str, busy_port: int, tmp_path: Path) -> None:
    http = busy_port if busy == "http" else free_port()
    grpc = busy_port if busy == "grpc" else free_port()
    out = tokenyard("up", "--http-listen", f"127.0.0.1:{http}", "--grpc-listen", f"127.0.0.1:{grpc}",
                    data_dir=tmp_path)
    assert_one_line_naming(out, busy_port, "HTTP" if busy == "http" else "gRPC")


@pytest.mark.parametrize(("service", "what"), [("http", "HTTP"), ("auth", "gRPC")])
def test_serve_with_a_busy_port_is_one_line_and_fails(service: str, what: str, busy_port: int,
                                                       tmp_path: Path) -> None:
    out = tokenyard("serve", service, "--listen", f"127.0.0.1:{busy_port}", data_dir=tmp_path,
                    TOKENYARD_INTERNAL_SECRET="startup-test-internal-secret-0123456789abcdef")
    assert_one_line_naming(out, busy_port, what)


def test_admin_key_is_not_lost_when_the_first_start_fails(busy_port: int, tmp_path: Path) -> None:
    first = tokenyard("up", "--http-listen", f"127.0.0.1:{free_port()}", "--grpc-listen",
                      f"127.0.0.1:{busy_port}", data_dir=tmp_path / "data")
    assert first.returncode != 0
    gw = Gateway(workdir=tmp_path, env={"TOKENYARD_ADMIN_KEY": ""})
    try:
        gw.start()
        secret = _admin_key_from(gw.logs())
        assert gw.openai(key=secret).models.list().data
    finally:
        gw.stop()


def test_a_generated_admin_key_is_saved_0600_and_named_at_every_later_start(
        make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(env={"TOKENYARD_ADMIN_KEY": ""})
    secret = _admin_key_from(gw.logs())
    path = gw.workdir / "data" / "admin-key"
    assert path.read_text().strip() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    gw.stop()
    gw.procs.clear()
    gw.start()
    assert gw.logs().count(secret) == 1, "the secret itself is printed only by the start that created it"
    assert f"the bootstrap admin API key is in {path.resolve()}" in gw.logs()
    path.unlink()  # stored elsewhere now: later starts say nothing more
    gw.stop()
    gw.procs.clear()
    gw.start()
    assert gw.logs().count("bootstrap admin API key is in") == 1
    assert gw.openai(key=secret).models.list().data


def _admin_key_from(logs: str) -> str:
    """The admin key a start printed, or the one in the file it named."""
    printed = re.search(r"Generated bootstrap admin API key \(store it now\): (ty_sk_\S+)", logs)
    if printed:
        return printed.group(1)
    named = re.search(r"bootstrap admin API key is in (\S+)", logs)
    assert named, f"no admin key printed or named:\n{logs}"
    return Path(named.group(1)).read_text().strip()


def test_the_first_local_embedding_call_logs_the_model_load_and_its_cost(gateway: Gateway) -> None:
    resp = gateway.openai().embeddings.create(model="local/all-minilm-l6-v2", input="warm up")
    assert len(resp.data[0].embedding) == 384
    log = (gateway.workdir / "gateway.log").read_text(errors="replace")
    loading = log.find('"msg":"loading local embedding model all-minilm-l6-v2 ..."')
    loaded = re.search(r'"level":"info","logger":"[\w.]+","msg":"local embedding model all-minilm-l6-v2 loaded in '
                       r'\d+\.\d s \(RSS \+\d+ MB, \d+ threads\)', log)
    assert loading >= 0 and loaded and loading < loaded.start(), log[-3000:]
    assert log.count("loading local embedding model") == 1, "loaded once per process"
