"""`tokenyard keys|apps|models|usage`: manage and inspect a running gateway, printed as rich tables."""
from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Optional

import typer
from rich.markup import escape

from tokenyard.cmd.api import DEFAULT_URL, KEY_OPTION, URL_OPTION, api, fail
from tokenyard.cmd.output import console, print_table, when

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
apps_app = typer.Typer(help="Create, list, show and delete apps; read and set their AI config.",
                       no_args_is_help=True)


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Argument(help="Key name.")],
                scope: Annotated[list[str], typer.Option("--scope", help="Scope (repeatable).")] = ["ai:gateway"],
                app_id: Annotated[Optional[str], typer.Option("--app", help="Bind to an app.")] = None,
                expires_at: Annotated[Optional[str], typer.Option(help="ISO 8601 expiry.")] = None,
                url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Create a key; its secret is printed once."""
    body: dict[str, object] = {"name": name, "scopes": scope}
    if app_id:
        body["app_id"] = app_id
    if expires_at:
        body["expires_at"] = expires_at
    created = api(url, key).json("POST", "/v1/keys", json=body)
    console.print(f"Created key [bold]{created.get('id')}[/bold]. Secret (shown once):", soft_wrap=True,
                  highlight=False)
    print(created.get("key"))


@keys_app.command("list")
def keys_list(all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
              url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """List your keys (never their secrets)."""
    items = api(url, key).items("/v1/keys", {"include_revoked": "true"} if all_ else None)
    print_table("API keys (times UTC)",
                ["id", "name", "prefix", "scopes", "app", "created", "last used", "expires", "revoked"],
                [[k.get("id"), k.get("name"), k.get("prefix"), ", ".join(k.get("scopes") or []), k.get("app_id"),
                  when(k.get("created_at")), when(k.get("last_used_at")), when(k.get("expires_at")),
                  when(k.get("revoked_at"))] for k in items])


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id.")],
                url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Revoke a key for good."""
    api(url, key).request("DELETE", f"/v1/keys/{key_id}")
    console.print(f"Revoked {key_id}", soft_wrap=True, highlight=False)


@apps_app.command("create")
def apps_create(name: str, url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Create an app."""
    app = api(url, key).json("POST", "/v1/apps", json={"name": name})
    console.print(f"Created app [bold]{app['id']}[/bold] ({escape(app['name'])})", soft_wrap=True,
                  highlight=False)


@apps_app.command("list")
def apps_list(url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """List your apps."""
    items = api(url, key).items("/v1/apps")
    print_table("Apps (times UTC)", ["id", "name", "owner", "created"],
                [[a.get("id"), a.get("name"), a.get("owner"), when(a.get("created_at"))] for a in items])


@apps_app.command("show")
def apps_show(app_id: str, url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Show an app and its AI config."""
    client = api(url, key)
    app = client.json("GET", f"/v1/apps/{app_id}")
    config = client.json("GET", f"/v1/{app_id}/ai/config")
    console.print_json(json.dumps({"app": app, "ai_config": config}))


@apps_app.command("delete")
def apps_delete(app_id: str, url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Delete an app and its AI config; every key of the app is revoked."""
    api(url, key).request("DELETE", f"/v1/apps/{app_id}")
    console.print(f"Deleted {app_id} (its keys are revoked)", soft_wrap=True, highlight=False)


@apps_app.command("config")
def apps_config(app_id: str,
                set_json: Annotated[Optional[str], typer.Option("--set", help="New AI config as JSON.")] = None,
                url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Print an app's AI config, or replace it with --set '{...}'."""
    client = api(url, key)
    if set_json is None:
        console.print_json(json.dumps(client.json("GET", f"/v1/{app_id}/ai/config")))
        return
    try:
        body = json.loads(set_json)
    except ValueError:
        raise fail("--set must be a JSON object") from None
    console.print_json(json.dumps(client.json("PUT", f"/v1/{app_id}/ai/config", json=body)))


def models(type_: Annotated[Optional[str], typer.Option("--type", help="chat, embedding or video.")] = None,
           url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """List the model catalog with prices (no key needed)."""
    items = api(url, key, required=False).json("GET", "/v1/public/models").get("data", [])
    rows = []
    for m in items:
        if type_ and m.get("type") != type_:
            continue
        p = m.get("pricing") or {}
        rows.append([m.get("id"), m.get("type"), m.get("provider"), m.get("context_window"),
                     p.get("input_per_mtok_usd"), p.get("output_per_mtok_usd")])
    print_table("Models", ["id", "type", "provider", "context", "$ in / Mtok", "$ out / Mtok"], rows)


def usage(app_id: Annotated[str, typer.Option("--app", help="App id.")],
          start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")] = "",
          end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = "",
          url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Usage of an app over a date range (default: the last 30 days)."""
    today = dt.datetime.now(dt.timezone.utc).date()
    start = start or (today - dt.timedelta(days=29)).isoformat()
    end = end or today.isoformat()
    u = api(url, key).json("GET", f"/v1/{app_id}/ai/usage", params={"startDate": start, "endDate": end})
    rows = [[m["model"], m["requests"], m["promptTokens"], m["completionTokens"], m["totalTokens"], m["costUsd"]]
            for m in u.get("byModel", [])]
    rows.append(["total", u["requests"], u["promptTokens"], u["completionTokens"], u["totalTokens"],
                 u["costUsd"]])
    print_table(f"Usage of {app_id}, {u['startDate']} to {u['endDate']}",
                ["model", "requests", "prompt", "completion", "total", "cost (USD)"], rows)
