"""The /metrics endpoint of a process that has no HTTP facade (`tokenyard serve <service>`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import start_http_server

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


def start_metrics_server(listen: str) -> MetricsServer:
    """Serve metrics on HOST:PORT (the scrape target of this process)."""
    host, _, port = listen.rpartition(":")
    server, thread = start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0")
    out = MetricsServer(server, thread)
    log.info("metrics on http://%s:%d/metrics", host or "0.0.0.0", out.port)
    return out
