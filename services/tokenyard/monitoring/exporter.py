"""The /metrics endpoint of a process that has no HTTP facade (`tokenyard serve <service>`)."""
from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app, start_http_server

log = logging.getLogger(__name__)


@dataclass
class MetricsServer:
    """Serves the process's metrics registry on a background thread (GET /metrics)."""

    server: Any
    thread: Any

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self.server.server_address[1])

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def scrape_allowed(token: str, authorization: str) -> bool:
    """No metrics token configured, or the request carries `Bearer <token>` (constant-time compare)."""
    return not token or hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


def _guarded(token: str) -> Callable[..., Iterable[bytes]]:
    app = make_wsgi_app()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not scrape_allowed(token, environ.get("HTTP_AUTHORIZATION", "")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"/metrics needs the metrics bearer token\n"]
        return app(environ, start_response)
    return wsgi


def start_metrics_server(listen: str, token: str = "") -> MetricsServer:
    """Serve metrics on HOST:PORT (the scrape target of this process), behind a bearer `token` if set."""
    host, _, port = listen.rpartition(":")
    addr = host.strip("[]") or "0.0.0.0"
    if token:
        server = make_server(addr, int(port), _guarded(token), _Server, handler_class=_Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True, name="metrics")
        thread.start()
    else:
        server, thread = start_http_server(int(port), addr=addr)
    out = MetricsServer(server, thread)
    log.info("metrics on http://%s:%d/metrics", host or "0.0.0.0", out.port)
    return out
