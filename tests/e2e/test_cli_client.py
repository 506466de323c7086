"""The client commands as a newcomer meets them (issue 19): in a narrow terminal every id a list prints is whole
and accepted by the next command, times are UTC dates, and an unreachable gateway is one line on stderr."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer

from tests.harness.gateway import Gateway

DATE = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d\b")


def cli(*args: str, url: str, key: str, columns: int = 60) -> subprocess.CompletedProcess:
    """`tokenyard ARGS` with the URL and key from the environment, in a terminal `columns` wide."""
    env = {**os.environ, "TOKENYARD_URL": url, "TOKENYARD_KEY": key, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "tokenyard", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def ok(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_key_ids_from_a_narrow_list_are_accepted_by_revoke(gateway: Gateway) -> None:
    created = ok(cli("keys", "create", "narrow-terminal-key", url=gateway.url, key=gateway.admin_key))
    key_id = re.search(r"key_[0-9a-f]+", created).group(0)  # type: ignore[union-attr]
    listed = ok(cli("keys", "list", url=gateway.url, key=gateway.admin_key))
    ids = re.findall(r"key_[\w…]+", listed)
    assert key_id in ids and not any("…" in i for i in ids), listed
    assert DATE.search(listed) and not re.search(r"\d{4}-\d\d-\d\dT|\b1[0-9]{9}\b", listed), listed
    for printed in ids:
        if printed == key_id:
            ok(cli("keys", "revoke", printed, url=gateway.url, key=gateway.admin_key))
    revoked = ok(cli("keys", "list", "--all", url=gateway.url, key=gateway.admin_key))
    block = revoked[revoked.index(key_id):]
    assert re.search(r"revoked\s+" + DATE.pattern, block), revoked


def test_app_ids_from_a_narrow_list_are_accepted_by_delete(gateway: Gateway) -> None:
    created = ok(cli("apps", "create", "an app with a rather long name", url=gateway.url, key=gateway.admin_key))
    app_id = re.search(r"app_[0-9a-f]+", created).group(0)  # type: ignore[union-attr]
    listed = ok(cli("apps", "list", url=gateway.url, key=gateway.admin_key))
    assert app_id in re.findall(r"app_[\w…]+", listed), listed
    assert DATE.search(listed), listed
    ok(cli("apps", "delete", app_id, url=gateway.url, key=gateway.admin_key))
    assert app_id not in ok(cli("apps", "list", url=gateway.url, key=gateway.admin_key))


def test_a_wide_terminal_gets_a_table_with_whole_ids(gateway: Gateway) -> None:
    created = ok(cli("apps", "create", "wide", url=gateway.url, key=gateway.admin_key))
    app_id = re.search(r"app_[0-9a-f]+", created).group(0)  # type: ignore[union-attr]
    listed = ok(cli("apps", "list", url=gateway.url, key=gateway.admin_key, columns=120))
    assert "┃ id" in listed and f"│ {app_id} │" in listed, listed


def test_model_ids_are_whole_in_a_narrow_terminal(gateway: Gateway) -> None:
    listed = ok(cli("models", url=gateway.url, key=""))
    assert "local/all-minilm-l6-v2" in listed and "…" not in listed, listed


@pytest.mark.parametrize("args", [("keys", "list"), ("apps", "list"), ("models",), ("videos", "list"),
                                  ("usage", "--app", "app_x"), ("chat", "hi")])
def test_an_unreachable_gateway_is_one_line_on_stderr(args: tuple[str, ...]) -> None:
    out = cli(*args, url="http://127.0.0.1:9", key="ty_sk_any")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == ["error: cannot reach http://127.0.0.1:9"], out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_every_client_command_takes_url_and_key_with_their_env_vars() -> None:
    from tokenyard.cli import app

    root = typer.main.get_command(app)
    server_side = {"up", "serve", "bench"}
    seen = 0
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        if name in server_side:
            continue
        leaves = command.commands.values() if hasattr(command, "commands") else [command]  # a group
        for leaf in leaves:
            options = {p.name: p for p in leaf.params if p.param_type_name == "option"}
            assert options["url"].envvar == "TOKENYARD_URL", f"{name} {leaf.name}"
            assert options["key"].envvar == "TOKENYARD_KEY", f"{name} {leaf.name}"
            seen += 1
    assert seen >= 14
