"""tokenyard: a multi-tenant AI model gateway (gRPC services behind an OpenAI-compatible HTTP facade)."""

__version__ = "0.1.0"
