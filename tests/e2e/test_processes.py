"""Process-level behaviour: split deployment, bootstrap admin key, graceful stop, bad config."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import httpx

from tests.harness.gateway import Gateway


def test_split_services_as_separate_processes_answer_plain_and_streaming(make_gateway: Callable[..., Gateway]
                                                                          ) -> None:
    gw = make_gateway(split=True)
    assert len(gw.procs) == 7
    client = gw.openai()
    resp = client.chat.completions.create(model="local/echo", messages=[{"role": "user", "content": "split mode"}])
    assert resp.choices[0].message.content == "split mode"
    words = [c.choices[0].delta.content for c in client.chat.completions.create(
        model="local/echo", stream=True, messages=[{"role": "user", "content": "a b c"}])
        if c.choices and c.choices[0].delta.content]
    assert words == ["a ", "b ", "c"]


def test_generated_admin_key_is_printed_once_and_works(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(env={"TOKENYARD_ADMIN_KEY": ""})
    line = next(ln for ln in gw.logs().splitlines() if "Generated bootstrap admin API key" in ln)
    secret = line.rsplit(" ", 1)[-1]
    assert secret.startswith("ty_sk_")
    resp = gw.openai(key=secret).chat.completions.create(model="local/echo",
                                                         messages=[{"role": "user", "content": "ok"}])
    assert resp.choices[0].message.content == "ok"
    gw.stop()
    gw.procs.clear()
    gw.start()
    assert gw.logs().count("Generated bootstrap admin API key") == 1
    assert gw.openai(key=secret).models.list().data


def test_sigterm_stops_the_gateway_cleanly(make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway()
    gw.stop()
    assert gw.procs["gateway"].returncode == 0
    try:
        httpx.get(f"{gw.url}/healthz", timeout=1)
        raise AssertionError("still serving")
    except httpx.HTTPError:
        pass


def test_invalid_config_stops_startup_naming_the_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("models:\n  - {id: x/y, type: chat, provider: nowhere}\n")
    env = {**os.environ, "TOKENYARD_CONFIG": str(cfg), "TOKENYARD_DATA_DIR": str(tmp_path / "d")}
    out = subprocess.run([sys.executable, "-m", "tokenyard", "up", "--http-listen", "127.0.0.1:0"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "models[x/y].targets[0].provider" in out.stderr and "nowhere" in out.stderr
