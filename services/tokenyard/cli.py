"""The `tokenyard` command: run the gateway (all-in-one or one service at a time)."""
from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Optional

import typer

from tokenyard.settings import SERVICES

app = typer.Typer(help="tokenyard: a multi-tenant AI model gateway.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
SERVE_CHOICES = (*SERVICES, "http")


def _settings(**overrides: object):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from tokenyard.catalog import ConfigError, load_catalog
    from tokenyard.settings import Settings

    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for e in exc.errors():
            name = "_".join(str(p) for p in e["loc"]).upper()
            typer.echo(f"tokenyard: invalid setting TOKENYARD_{name}: {e['msg']}", err=True)
        raise typer.Exit(2) from None
    try:
        catalog = load_catalog(settings.config)
    except ConfigError as exc:
        typer.echo(f"tokenyard: invalid config: {exc}", err=True)
        raise typer.Exit(2) from None
    return settings, catalog


def _with_internal_secret(settings, services: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """The settings with this process's internal service credential; one line and exit 2 when a split process
    lacks TOKENYARD_INTERNAL_SECRET."""
    from tokenyard.internal import MissingInternalSecret, with_internal_secret

    try:
        return with_internal_secret(settings, services)
    except MissingInternalSecret as exc:
        typer.echo(f"tokenyard: {exc}", err=True)
        raise typer.Exit(2) from None


def _asyncio_run(coro) -> None:  # type: ignore[no-untyped-def]
    """asyncio.run on uvloop when it is installed (it is, with uvicorn[standard]): a faster event loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _graceful_server_class():  # type: ignore[no-untyped-def]
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM after shutting down, which would skip our own clean-up; this does not.
        `on_ready` runs once the app started and the socket accepts connections."""

        on_ready: Callable[[], None] = staticmethod(lambda: None)

        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
            old = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in old.items():
                    signal.signal(sig, handler)

        async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
            await super().startup(sockets=sockets)
            if self.started:
                self.on_ready()

    return GracefulServer


async def _serve_http(settings, sock, on_ready, runtime=None) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from tokenyard.monitoring.tracing import enabled as tracing_on
    from tokenyard_http.app import create_app
    from tokenyard_http.connections import protocol

    # All-in-one: the facade calls the Router in-process (chat and passthrough), unless tracing wants that hop
    # as a span of its own.
    local = runtime.parts.inference_servicer if runtime is not None and not tracing_on() else None
    config = uvicorn.Config(create_app(settings, local_inference=local),
                            log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=10,
                            http=protocol(settings.http_header_timeout_seconds,
                                          settings.http_body_timeout_seconds),  # httptools + deadlines
                            timeout_keep_alive=settings.http_keep_alive_seconds,
                            log_config=None)  # keep our JSON log handler
    server = _graceful_server_class()(config)
    server.on_ready = on_ready
    await server.serve(sockets=[sock])


def _ready_line(settings, services: tuple[str, ...], runtime, http_sock) -> str:  # type: ignore[no-untyped-def]
    from tokenyard.listen import with_port

    parts = []
    if runtime is not None:
        parts.append(f" gRPC {with_port(settings.grpc_listen, runtime.port)} ({', '.join(services)})")
    if http_sock is not None:
        parts.append(f" HTTP http://{with_port(settings.http_listen, http_sock.getsockname()[1])}")
    return "tokenyard ready:" + "".join(parts)


async def _run(settings, catalog, services: tuple[str, ...], http: bool) -> None:  # type: ignore[no-untyped-def]
    from tokenyard.listen import check_free, claim_http
    from tokenyard.monitoring import tracing
    from tokenyard.runtime import Runtime
    from tokenyard.storage.private import private_dir

    # Ports first: a busy one stops the start before the database, the admin key or any worker is touched.
    http_sock = claim_http(settings.http_listen) if http else None
    runtime = metrics = None
    try:
        if services:
            check_free(settings.grpc_listen, "gRPC")
            private_dir(settings.data_dir)  # key hashes, sealed upstream keys, usage: 0700 (storage.private)
        role = services[0] if len(services) == 1 else "gateway" if services else "http"
        tracing.setup(settings.otel_exporter, f"tokenyard-{role}")
        metrics = _metrics_server(settings) if services and not http else None
        runtime = await Runtime.start(settings, services, catalog=catalog) if services else None
        if runtime is not None:
            settings = runtime.settings  # the gRPC port actually bound (`--grpc-listen HOST:0` lets the OS pick)

        def ready() -> None:
            for line in runtime.admin_key_notice.lines() if runtime and runtime.admin_key_notice else ():
                print(line, flush=True)
            print(_ready_line(settings, services, runtime, http_sock), flush=True)

        if http:
            await _serve_http(settings, http_sock, ready, runtime)
        else:
            ready()
            await _wait_for_signal()
    finally:
        if runtime is not None:
            await runtime.stop()
        if metrics is not None:
            metrics.close()
        if http_sock is not None:
            http_sock.close()
        tracing.shutdown()


def _metrics_server(settings):  # type: ignore[no-untyped-def]
    from tokenyard.listen import ListenError
    from tokenyard.monitoring.exporter import start_metrics_server

    if not settings.metrics_listen:
        return None
    try:
        return start_metrics_server(settings.metrics_listen, settings.metrics_token)
    except OSError as exc:
        raise ListenError(f"cannot listen on {settings.metrics_listen} (metrics): "
                          f"{(exc.strerror or str(exc)).lower()}") from None


def _start(settings, catalog, services: tuple[str, ...], http: bool) -> None:  # type: ignore[no-untyped-def]
    """Run until stopped; a port that cannot be bound is one line on stderr and exit status 1."""
    from tokenyard.listen import ListenError

    try:
        _asyncio_run(_run(settings, catalog, services, http))
    except ListenError as exc:
        typer.echo(f"tokenyard: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def up(
    config: Annotated[Optional[Path], typer.Option(help="YAML config on top of the default catalog.")] = None,
    http_listen: Annotated[Optional[str], typer.Option(help="HTTP facade address (default 127.0.0.1:8080).")] = None,
    grpc_listen: Annotated[Optional[str], typer.Option(help="gRPC address (default 127.0.0.1:50051).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Local data folder (default ./.tokenyard).")] = None,
) -> None:
    """Start every service and the HTTP facade in one process (SQLite, local models, no API key needed)."""
    from tokenyard import logs

    settings, catalog = _settings(config=config, http_listen=http_listen, grpc_listen=grpc_listen,
                                  data_dir=data_dir)
    settings = _with_internal_secret(settings, SERVICES)
    logs.setup(settings.log_level)
    _start(settings, catalog, SERVICES, http=True)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVE_CHOICES)}.")],
    listen: Annotated[str, typer.Option(help="Address to listen on, HOST:PORT.")],
    config: Annotated[Optional[Path], typer.Option(help="YAML config on top of the default catalog.")] = None,
    metrics_listen: Annotated[Optional[str], typer.Option(
        help="HOST:PORT serving Prometheus /metrics (gRPC services; the facade serves it on its own port).")] = None,
) -> None:
    """Start one service alone (split deployment). Other services are found via TOKENYARD_<SERVICE>_ADDR; every
    process needs the same TOKENYARD_INTERNAL_SECRET."""
    from tokenyard import logs

    if service not in SERVE_CHOICES:
        typer.echo(f"tokenyard: unknown service {service!r}; choose from {', '.join(SERVE_CHOICES)}", err=True)
        raise typer.Exit(2)
    if service == "http":
        settings, catalog = _settings(config=config, http_listen=listen)
        settings = _with_internal_secret(settings, ())
        logs.setup(settings.log_level)
        _start(settings, catalog, (), http=True)
        return
    settings, catalog = _settings(config=config, grpc_listen=listen, metrics_listen=metrics_listen)
    settings = _with_internal_secret(settings, (service,))
    logs.setup(settings.log_level)
    _start(settings, catalog, (service,), http=False)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context) -> None:
    """Run the benchmark suite (bench/run.py in a source checkout); extra arguments go to it, e.g. --quick."""
    import subprocess

    script = Path(__file__).resolve().parents[2] / "bench" / "run.py"
    if not script.exists():
        typer.echo("error: the benchmark suite ships with the source checkout (bench/run.py not found)", err=True)
        raise typer.Exit(1)
    raise typer.Exit(subprocess.call([sys.executable, str(script), *ctx.args], cwd=script.parent.parent))


def _register_operator_commands() -> None:
    from tokenyard.cmd import interactive, resources

    app.add_typer(resources.keys_app, name="keys")
    app.add_typer(resources.apps_app, name="apps")
    app.add_typer(interactive.videos_app, name="videos")
    app.command("models")(resources.models)
    app.command("usage")(resources.usage)
    app.command("chat")(interactive.chat)


_register_operator_commands()


def main() -> None:
    """Entry point for `python -m tokenyard`."""
    with contextlib.suppress(KeyboardInterrupt):
        app()
    sys.exit(0)
