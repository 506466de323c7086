"""The fake upstream: nginx answering canned OpenAI chat, SSE and embeddings bodies (static files)."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Proc, wait_port

CHUNKS = 20
WORDS = ["Hello", " from", " the", " bench", " upstream", ",", " a", " canned", " answer", " of",
         " twenty", " small", " chunks", " sent", " as", " one", " server", "-sent", " event", " stream"]
PROMPT_TOKENS, COMPLETION_TOKENS = 12, CHUNKS
EMBED_DIMS = 64


def chat_body() -> bytes:
    """A non-streamed chat.completion."""
    return _dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench-upstream",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(WORDS)},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                  "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}})


def _chunk(delta: dict, finish: str | None = None, usage: dict | None = None, choices: bool = True) -> bytes:
    body: dict = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
                  "model": "bench-upstream",
                  "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []}
    if usage is not None:
        body["usage"] = usage
    return b"data: " + _dumps(body) + b"\n\n"


def sse_body() -> bytes:
    """A streamed answer: a role chunk, CHUNKS content chunks, a finish chunk, a usage chunk and [DONE]."""
    usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
             "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
    parts = [_chunk({"role": "assistant", "content": ""})]
    parts += [_chunk({"content": w}) for w in WORDS[:CHUNKS]]
    parts += [_chunk({}, finish="stop"), _chunk({}, usage=usage, choices=False), b"data: [DONE]\n\n"]
    return b"".join(parts)


def embeddings_body() -> bytes:
    """One embedding of EMBED_DIMS floats."""
    vec = [round(((i * 37) % 101) / 101 - 0.5, 6) for i in range(EMBED_DIMS)]
    return _dumps({"object": "list", "model": "bench-upstream",
                   "data": [{"object": "embedding", "index": 0, "embedding": vec}],
                   "usage": {"prompt_tokens": 5, "total_tokens": 5}})


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  keepalive_requests 10000000; keepalive_timeout 120s;
  client_body_buffer_size 64k;
  open_file_cache max=16 inactive=600s; open_file_cache_valid 600s;
  etag off;
  types {{ }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {work}/www;
    # POST to a static file is a 405; error_page turns that into a GET of the canned body, answered 200.
    location = /plain/v1/chat/completions {{ error_page 405 =200 /_/chat.json; return 405; }}
    location = /sse/v1/chat/completions {{ error_page 405 =200 /_/sse.txt; return 405; }}
    location = /plain/v1/embeddings {{ error_page 405 =200 /_/embeddings.json; return 405; }}
    location = /sse/v1/embeddings {{ error_page 405 =200 /_/embeddings.json; return 405; }}
    location = /_/chat.json {{ internal; default_type application/json; }}
    location = /_/embeddings.json {{ internal; default_type application/json; }}
    location = /_/sse.txt {{ internal; default_type text/event-stream; add_header Cache-Control no-cache; }}
    location / {{ default_type application/json; return 404 '{{"error":{{"message":"not found"}}}}'; }}
  }}
}}
"""


@dataclass
class Upstream:
    """nginx on loopback. Chat under /plain/v1 answers JSON, under /sse/v1 an SSE stream of CHUNKS chunks."""

    work: Path
    port: int
    proc: Proc | None = None

    @property
    def url(self) -> str:
        """Base URL (no path)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Upstream":
        """Write the config and start nginx in the foreground (daemon off) as our child."""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise SystemExit("nginx not found: apt-get install nginx-light (or nginx)")
        self.work.mkdir(parents=True, exist_ok=True)
        conf = self.work / "nginx.conf"
        www = self.work / "www" / "_"
        www.mkdir(parents=True, exist_ok=True)
        (www / "chat.json").write_bytes(chat_body())
        (www / "sse.txt").write_bytes(sse_body())
        (www / "embeddings.json").write_bytes(embeddings_body())
        conf.write_text(NGINX_CONF.format(work=self.work, port=self.port))
        check = subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", str(self.work)], capture_output=True)
        if check.returncode:
            raise SystemExit(f"nginx config invalid: {check.stderr.decode()}")
        self.proc = Proc.spawn("nginx", [nginx, "-c", str(conf), "-p", str(self.work)], self.work)
        wait_port(self.port, 10, self.proc)
        time.sleep(0.1)
        return self

    def stop(self) -> None:
        """Stop nginx."""
        if self.proc is not None:
            self.proc.stop()
