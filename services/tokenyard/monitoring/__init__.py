"""Observability beyond the base gRPC/HTTP metrics: gateway metrics, metrics endpoint, tracing."""
