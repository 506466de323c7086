"""Tiny loopback fakes of the tools' HTTP backends: Open-Meteo (forecast, geocoding), SearXNG, webhooks."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PLACES = {"berlin": {"name": "Berlin", "latitude": 52.52437, "longitude": 13.41053, "country": "Germany",
                     "admin1": "Land Berlin", "timezone": "Europe/Berlin"}}


class ToolBackends:
    """One HTTP server for every tool backend; records requests; `webhook_status` makes /hook fail."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.webhook_status = 200
        self.webhook_answer: Any = {"ok": True}
        backends = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                backends.requests.append({"method": "GET", "path": parts.path, "query": query,
                                          "headers": dict(self.headers)})
                self._send(*backends.answer_get(parts.path, query))

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                backends.requests.append({"method": "POST", "path": self.path, "body": body,
                                          "json": json.loads(body or b"null"), "headers": dict(self.headers)})
                self._send(backends.webhook_status, backends.webhook_answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer_get(self, path: str, q: dict[str, str]) -> tuple[int, Any]:
        """Open-Meteo /v1/forecast and /v1/search, SearXNG /search."""
        if path == "/v1/search":
            place = PLACES.get(q.get("name", "").lower())
            return 200, {"results": [place], "generationtime_ms": 0.5} if place else {"generationtime_ms": 1}
        if path == "/v1/forecast":
            fahrenheit = q.get("temperature_unit") == "fahrenheit"
            return 200, {"latitude": float(q["latitude"]), "longitude": float(q["longitude"]),
                         "timezone": "Europe/Berlin", "current_units": {
                             "time": "iso8601", "temperature_2m": "°F" if fahrenheit else "°C",
                             "relative_humidity_2m": "%", "apparent_temperature": "°C",
                             "wind_speed_10m": "km/h", "weather_code": "wmo code"},
                         "current": {"time": "2025-03-01T12:00", "interval": 900,
                                     "temperature_2m": 53.8 if fahrenheit else 12.1,
                                     "relative_humidity_2m": 61, "apparent_temperature": 10.4,
                                     "wind_speed_10m": 14.2, "weather_code": 3}}
        if path == "/search":
            return 200, {"query": q.get("q"), "number_of_results": 2, "results": [
                {"url": "https://example.org/a", "title": "Result A", "content": "About " + q.get("q", ""),
                 "engine": "fake"},
                {"url": "https://example.org/b", "title": "Result B", "content": "More", "engine": "fake"}]}
        return 404, {"error": "not found"}

    def start(self) -> "ToolBackends":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
