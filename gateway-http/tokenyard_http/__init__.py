"""tokenyard's HTTP facade: OpenAI-compatible REST and Server-Sent Events over the gRPC services."""
