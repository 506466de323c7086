"""The facade app for granian (bench/servers.py): `granian --interface asgi --factory bench.granian_facade:app`."""
from __future__ import annotations


def app():  # type: ignore[no-untyped-def]
    """The real facade, configured from TOKENYARD_* like `tokenyard serve http`."""
    from tokenyard.settings import Settings
    from tokenyard_http.app import create_app

    return create_app(Settings())
