"""Container health probe: `python -m tokenyard.monitoring.healthcheck grpc HOST:PORT | http URL` (exit 0 = up)."""
from __future__ import annotations

import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def grpc_ok(addr: str, timeout: float = 3.0) -> bool:
    """Whether the gRPC server at `addr` reports SERVING for the overall health."""
    try:
        with grpc.insecure_channel(addr) as ch:
            resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        return resp.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def http_ok(url: str, timeout: float = 3.0) -> bool:
    """Whether GET `url` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - operator-given URL
            return 200 <= resp.status < 300
    except OSError:
        return False


def main(argv: list[str]) -> int:
    """Exit status for the probe named on the command line."""
    if len(argv) != 2 or argv[0] not in ("grpc", "http"):
        print("usage: python -m tokenyard.monitoring.healthcheck grpc HOST:PORT | http URL", file=sys.stderr)
        return 2
    ok = grpc_ok(argv[1]) if argv[0] == "grpc" else http_ok(argv[1])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
