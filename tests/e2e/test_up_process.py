"""`tokenyard up` as a process, the way a newcomer starts it: OS-chosen ports are the ports everything dials, and
the data folder holding key hashes, sealed upstream keys and usage is private (issue 19)."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import openai
import pytest
from tokenyard.inference.v1 import chat_pb2, inference_service_pb2 as pb, inference_service_pb2_grpc as rpc

from tests.harness.gateway import ADMIN_KEY

READY = re.compile(r"tokenyard ready: gRPC (\S+) .* HTTP (http://\S+)")


class Up:
    """A running `tokenyard up --http-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0` and the addresses it printed."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items()  # a newcomer's machine: no provider keys
               if not k.startswith("TOKENYARD_") and not k.endswith("_API_KEY")}
        env.update({"TOKENYARD_ADMIN_KEY": ADMIN_KEY, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "tokenyard", "up", "--data-dir", str(data_dir),
                                          "--http-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"],
                                         env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while not (match := READY.search(log.read_text())):
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        self.grpc_addr, self.url = match.group(1), match.group(2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def warnings(self) -> list[str]:
        lines = [json.loads(ln) for ln in self.log.read_text().splitlines() if ln.startswith("{")]
        return [ln["msg"] for ln in lines if ln.get("level") == "warning"]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[list[Up]]:
    started: list[Up] = []
    yield started
    for u in started:
        u.stop()


def test_os_chosen_grpc_port_is_the_port_the_facade_and_callers_use(up: list[Up], tmp_path: Path) -> None:
    gw = Up(tmp_path / "data", tmp_path / "up.log")
    up.append(gw)
    assert not gw.grpc_addr.endswith(":0")
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=ADMIN_KEY, max_retries=0, timeout=30)
    reply = client.chat.completions.create(model="local/echo", messages=[{"role": "user", "content": "port zero"}])
    assert reply.choices[0].message.content == "port zero"
    assert "local/echo" in {m.id for m in client.models.list().data}  # the facade asks Config over gRPC
    app = httpx.post(f"{gw.url}/v1/apps", json={"name": "zero"}, timeout=30,
                     headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert app.status_code in (200, 201), app.text
    with grpc.insecure_channel(gw.grpc_addr) as channel:
        request = chat_pb2.ChatCompletionRequest(model="local/echo", messages=[
            chat_pb2.ChatMessage(role="user", content=[chat_pb2.ContentPart(text="over gRPC")])])
        answer = rpc.InferenceServiceStub(channel).Chat(pb.ChatRequest(request=request), timeout=30,
                                                        metadata=[("authorization", f"Bearer {ADMIN_KEY}")])
    assert answer.completion.choices[0].message.content[0].text == "over gRPC"


def test_the_chat_app_answers_without_a_model_on_a_machine_without_provider_keys(up: list[Up],
                                                                                 tmp_path: Path) -> None:
    gw = Up(tmp_path / "data", tmp_path / "up.log")
    up.append(gw)
    with httpx.Client(base_url=gw.url, timeout=30, headers={"authorization": f"Bearer {ADMIN_KEY}"}) as http:
        with http.stream("POST", "/api/chat", json={"messages": [{"role": "user", "content": "hi there"}]}) as r:
            r.read()
        assert r.status_code == 200, r.text  # was 503: the default gpt-4o needs OPENAI_API_KEY
        chat = http.get("/api/chats").json()[0]
    assert chat["model"] == "local/echo"
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    assert "".join(e.get("textDelta", "") for e in events) == "hi there"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_dir_and_its_database_are_private(up: list[Up], tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    gw = Up(data, tmp_path / "up.log")
    up.append(gw)
    assert httpx.get(f"{gw.url}/healthz", timeout=30).status_code == 200
    assert _mode(data) == 0o700
    db = data / "tokenyard.db"
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert path.exists(), path
        assert _mode(path) == 0o600, (path, oct(_mode(path)))


def test_a_looser_existing_data_dir_is_tightened_with_a_warning(up: list[Up], tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Up(data, tmp_path / "first.log")
    first.stop()
    os.chmod(data, 0o755)
    db = data / "tokenyard.db"
    for path in (db, *(Path(f"{db}{suffix}") for suffix in ("-wal", "-shm"))):
        if path.exists():
            os.chmod(path, 0o644)
    again = Up(data, tmp_path / "again.log")
    up.append(again)
    assert _mode(data) == 0o700 and _mode(db) == 0o600
    warned = [w for w in again.warnings() if "was readable by others" in w]
    assert any(str(data) in w and "0755" in w for w in warned), again.warnings()
    assert any(str(db) in w and "0644" in w for w in warned), again.warnings()
