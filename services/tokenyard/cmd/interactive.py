"""`tokenyard chat` (streams to the terminal) and `tokenyard videos` (submit, wait with a progress bar, download)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tokenyard.cmd.api import DEFAULT_URL, KEY_OPTION, URL_OPTION, api, fail
from tokenyard.cmd.output import print_table, when

console = Console()
videos_app = typer.Typer(help="Generate videos: create (optionally --wait and download), list, get.",
                         no_args_is_help=True)


def chat(prompt: Annotated[str, typer.Argument(help="Your message.")],
         model: Annotated[str, typer.Option(help="Model id or alias.")] = "local/echo",
         system: Annotated[Optional[str], typer.Option(help="System prompt.")] = None,
         app_id: Annotated[Optional[str], typer.Option("--app", help="Use an app's route and config.")] = None,
         url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Send one message and stream the answer to the terminal."""
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    path = f"/v1/{app_id}/chat/completions" if app_id else "/v1/chat/completions"
    body = {"model": model, "messages": messages, "stream": True}
    with api(url, key).stream("POST", path, json=body) as resp:
        for line in resp.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                sys.stdout.write("\n")
                raise fail(event["error"].get("message", "stream failed"))
            for choice in event.get("choices") or ():
                sys.stdout.write((choice.get("delta") or {}).get("content") or "")
                sys.stdout.flush()
    sys.stdout.write("\n")


def _poll(client, video_id: str, timeout: float) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task(f"{video_id} queued", total=100)
        while True:
            video = client.json("GET", f"/v1/videos/{video_id}")
            progress.update(task, completed=video.get("progress") or 0,
                            description=f"{video_id} {video.get('status')}")
            if video.get("status") in ("completed", "failed", "cancelled"):
                return video
            if time.monotonic() > deadline:
                raise fail(f"{video_id} not finished after {timeout:.0f}s (still {video.get('status')})")
            time.sleep(1.0)


@videos_app.command("create")
def videos_create(prompt: Annotated[str, typer.Argument(help="What the video shows.")],
                  model: Annotated[str, typer.Option(help="Video model.")] = "local/test-pattern",
                  seconds: Annotated[Optional[float], typer.Option(help="Length in seconds.")] = None,
                  size: Annotated[Optional[str], typer.Option(help="WIDTHxHEIGHT.")] = None,
                  wait: Annotated[bool, typer.Option("--wait", help="Wait, then download the MP4.")] = False,
                  output: Annotated[Optional[Path], typer.Option("-o", "--output", help="MP4 path.")] = None,
                  timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 600,
                  url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Submit a video job; with --wait show progress until done and download the MP4."""
    client = api(url, key)
    body: dict[str, object] = {"model": model, "prompt": prompt}
    if seconds is not None:
        body["seconds"] = seconds
    if size:
        body["size"] = size
    video = client.json("POST", "/v1/videos", json=body)
    console.print(f"Submitted [bold]{video['id']}[/bold] ({video['status']})", soft_wrap=True, highlight=False)
    if not wait:
        return
    video = _poll(client, video["id"], timeout)
    if video["status"] != "completed":
        raise fail(f"{video['id']} {video['status']}: {video.get('error') or ''}".strip())
    path = output or Path(f"{video['id']}.mp4")
    path.write_bytes(client.request("GET", f"/v1/videos/{video['id']}/content").content)
    console.print(f"Saved {path} ({path.stat().st_size} bytes, charged ${video.get('charged_credits_usd')})")


@videos_app.command("list")
def videos_list(url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """List your video jobs."""
    data = api(url, key).json("GET", "/v1/videos")
    print_table("Videos (times UTC)", ["id", "model", "status", "progress", "seconds", "size", "created"],
                [[v.get("id"), v.get("model"), v.get("status"), v.get("progress"), v.get("seconds"), v.get("size"),
                  when(v.get("created_at"))] for v in data.get("data", [])])


@videos_app.command("get")
def videos_get(video_id: str, url: URL_OPTION = DEFAULT_URL, key: KEY_OPTION = "") -> None:
    """Show one job."""
    console.print_json(json.dumps(api(url, key).json("GET", f"/v1/videos/{video_id}")))
