"""The gateway's Prometheus metrics: one catalogue every service records into (bounded label sets).

Label rules: `model` is a catalog model id, `provider` a catalog provider id, `route` an API kind
(chat, chat_stream, embedding, ...). Values that would name a tenant go through `TENANT`: an app id is
"hidden" and a private deployment (its id, its model name) is "deployment", unless the operator opts in with
TOKENYARD_METRICS_TENANT_LABELS (apps then at most N distinct values, then "other"). Never a user, key or
request id. Series whose label values are known up front are created at 0
(`init_series`) so dashboards and alerts see them before the first event.

Every metric of the code base is defined here, nowhere else; services record through the helpers below (or
the metric objects): retries / fallbacks / circuit state (Router dispatch), video queue (the worker pool
reports the shared queue's depth) and jobs (VideoJobs). Rate-limit (429) and credit (402) rejections are
counted once, in `tokenyard_rejections_total`, where a GatewayError leaves a servicer (`grpcutil.abort`).
"""
from __future__ import annotations

import threading

from prometheus_client import Counter, Gauge, Histogram

from tokenyard.catalog import Catalog
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
JOB_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600)

REQUESTS = Counter("tokenyard_requests_total", "Admitted inference requests, by outcome (ok, error, cancelled).",
                   ["route", "model", "provider", "status"])
REQUEST_SECONDS = Histogram("tokenyard_request_duration_seconds", "Inference request latency in the Router.",
                            ["route", "model", "provider"], buckets=LATENCY_BUCKETS)
TTFT_SECONDS = Histogram("tokenyard_time_to_first_token_seconds", "Time to the first streamed chunk.",
                         ["model", "provider"], buckets=LATENCY_BUCKETS)
UPSTREAM_SECONDS = Histogram("tokenyard_upstream_duration_seconds",
                             "Time spent waiting on an upstream provider, per attempt.",
                             ["provider", "operation"], buckets=LATENCY_BUCKETS)
UPSTREAM_REQUESTS = Counter("tokenyard_upstream_requests_total",
                            "Upstream provider attempts, by outcome (ok or the error reason).",
                            ["provider", "operation", "outcome"])
OVERHEAD_SECONDS = Histogram("tokenyard_gateway_overhead_seconds",
                             "Request latency not spent upstream (total minus upstream time).",
                             ["route"], buckets=LATENCY_BUCKETS)
TOKENS = Counter("tokenyard_tokens_total", "Tokens metered, by direction (input, output).",
                 ["model", "provider", "direction"])
COST_USD = Counter("tokenyard_cost_usd_total", "Cost of metered usage in US dollars.", ["model", "provider"])
APP_REQUESTS = Counter("tokenyard_app_requests_total", "Admitted inference requests per app ('none' = no app).",
                       ["app", "status"])
APP_TOKENS = Counter("tokenyard_app_tokens_total", "Tokens metered per app.", ["app", "direction"])
APP_COST_USD = Counter("tokenyard_app_cost_usd_total", "Cost of metered usage per app in US dollars.", ["app"])
RETRIES = Counter("tokenyard_retries_total", "Upstream retries (attempts after the first).", ["provider"])
FALLBACKS = Counter("tokenyard_fallbacks_total", "Requests moved to a fallback model.", ["model", "fallback"])
CIRCUIT_STATE = Gauge("tokenyard_circuit_state", "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
                      ["provider"])
TOKENIZED_CHARS = Counter("tokenyard_tokenizer_chars_total",
                          "Characters run through the local tokenizer (prompt estimates, local usage counts): "
                          "a request's prompt is counted once, whatever uses it.")
REJECTIONS = Counter("tokenyard_rejections_total",
                     "Requests refused by a limit, counted once where refused (rate_limit, credits).", ["reason"])
ERRORS = Counter("tokenyard_errors_total", "Errors returned by gRPC services, by ErrorInfo reason.",
                 ["grpc_service", "reason"])
VIDEO_QUEUE_DEPTH = Gauge("tokenyard_video_queue_depth", "Video jobs waiting or running.", ["state"])
VIDEO_JOBS = Counter("tokenyard_video_jobs_total", "Video jobs finished, by final status.", ["status"])
VIDEO_JOB_SECONDS = Histogram("tokenyard_video_job_duration_seconds", "Video job time from submit to end.",
                              ["status"], buckets=JOB_BUCKETS)

# The gRPC server (MetricsInterceptor in telemetry.py) and the HTTP facade.
GRPC_STARTED = Counter("grpc_server_started_total", "RPCs started on the server.",
                       ["grpc_type", "grpc_service", "grpc_method"])
GRPC_HANDLED = Counter("grpc_server_handled_total", "RPCs completed on the server, by status code.",
                       ["grpc_type", "grpc_service", "grpc_method", "grpc_code"])
GRPC_SECONDS = Histogram("grpc_server_handling_seconds", "Time to handle an RPC (to the last message).",
                         ["grpc_type", "grpc_service", "grpc_method"], buckets=LATENCY_BUCKETS)
GRPC_MSG_SENT = Counter("grpc_server_msg_sent_total", "Stream messages sent by the server.",
                        ["grpc_type", "grpc_service", "grpc_method"])
HTTP_REQUESTS = Counter("tokenyard_http_requests_total", "HTTP requests served by the facade.",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("tokenyard_http_request_duration_seconds", "HTTP request latency (to the last byte).",
                         ["route", "method"], buckets=LATENCY_BUCKETS)
ACTIVE_STREAMS = Gauge("tokenyard_active_streams", "Streaming responses in progress.", ["route"])
# Usage hand-over to Metering (clients/usage_sink.py) and the shared rate-limit store.
USAGE_FLUSH_FAILURES = Counter("tokenyard_usage_flush_failures_total",
                               "Failed hand-overs of usage batches to Metering.")
USAGE_DELIVERED = Counter("tokenyard_usage_events_delivered_total",
                          "Usage events handed to Metering (incl. replays).")
RATE_LIMIT_BACKEND_ERRORS = Counter("tokenyard_rate_limit_backend_errors_total",
                                    "Rate-limit checks skipped because Redis was unreachable (requests let through).")
# Local embedding models (embeddings/runner.py).
EMBEDDING_MODEL_CALLS = Counter("tokenyard_embedding_model_calls_total",
                                "Batched calls into a local embedding model.", ["model"])
EMBEDDING_MODEL_INPUTS = Counter("tokenyard_embedding_model_inputs_total", "Inputs embedded by local models.",
                                 ["model"])
EMBEDDING_BATCH_SIZE = Histogram("tokenyard_embedding_batch_size", "Inputs per local embedding model call.",
                                 ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
EMBEDDING_MODEL_SECONDS = Histogram("tokenyard_embedding_model_seconds", "Time of one local embedding model call.",
                                    ["model"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
# Video workers (videojobs/worker.py).
VIDEO_CLAIMS = Counter("tokenyard_video_job_claims_total",
                       "Video job claims (retry = taken over after a lost lease).", ["attempt"])
VIDEO_RUNNING = Gauge("tokenyard_video_jobs_running", "Video jobs being rendered in this process.")
VIDEO_RENDER_SECONDS = Histogram("tokenyard_video_render_seconds",
                                 "Wall time from claim to result, per attempt.", ["model"],
                                 buckets=(1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600))

CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}
REJECTION_REASONS = {"RATE_LIMITED": "rate_limit", "INSUFFICIENT_QUOTA": "credits"}
VIDEO_STATES = ("queued", "running")
VIDEO_STATUSES = ("completed", "failed", "cancelled")


class BoundedLabel:
    """Maps free-form ids (app ids) to label values, keeping at most `limit` distinct ones, then "other"."""

    def __init__(self, limit: int = 200, empty: str = "none") -> None:
        self._limit = limit
        self._empty = empty
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if not value:
            return self._empty
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self._limit:
                return "other"
            self._seen.add(value)
        return value


PRIVATE_PROVIDER_PREFIX = "deployment/"
"""Provider ids of users' private deployments (`deployment/<id>`): they name a tenant's objects."""
HIDDEN_APP = "hidden"
PRIVATE = "deployment"


class TenantLabels:
    """Label values that would name a tenant or its objects (app ids, private deployments and their model names).

    Off by default: /metrics is often scraped or shown more widely than tenant data should be.
    """

    def __init__(self) -> None:
        self.shown = False
        self.apps = BoundedLabel()

    def app(self, app_id: str) -> str:
        """The `app` label: 'none' without an app, else the app id if shown, else 'hidden'."""
        if not app_id:
            return "none"
        return self.apps(app_id) if self.shown else HIDDEN_APP

    def private(self, provider_id: str) -> bool:
        """Is this provider a tenant's private deployment whose labels are hidden?"""
        return not self.shown and provider_id.startswith(PRIVATE_PROVIDER_PREFIX)

    def provider(self, provider_id: str) -> str:
        """The `provider` label."""
        return PRIVATE if self.private(provider_id) else provider_id

    def model(self, model: str, provider_id: str) -> str:
        """The `model` label of a call to `provider_id` (a private deployment's model name is hidden)."""
        return PRIVATE if self.private(provider_id) else model


TENANT = TenantLabels()


def show_tenant_labels(shown: bool) -> None:
    """Set once at start-up from TOKENYARD_METRICS_TENANT_LABELS."""
    TENANT.shown = shown


def _init_static() -> None:
    for reason in REJECTION_REASONS.values():
        REJECTIONS.labels(reason)
    for state in VIDEO_STATES:
        VIDEO_QUEUE_DEPTH.labels(state)
    for status in VIDEO_STATUSES:
        VIDEO_JOBS.labels(status)
        VIDEO_JOB_SECONDS.labels(status)


_init_static()


def init_series(catalog: Catalog) -> None:
    """Create the per-provider and per-model series at 0 (circuits closed) so they exist before any event."""
    for provider in catalog.providers:
        CIRCUIT_STATE.labels(provider).set(0)
        RETRIES.labels(provider)
    for model in catalog.models.values():
        for fallback in model.fallbacks:
            FALLBACKS.labels(model.id, fallback)


def record_retry(provider: str) -> None:
    """One more attempt at `provider` after a failed one."""
    RETRIES.labels(TENANT.provider(provider)).inc()


def record_fallback(model: str, fallback: str) -> None:
    """A request for `model` moved on to `fallback`."""
    FALLBACKS.labels(model, fallback).inc()


def set_circuit_state(provider: str, state: str) -> None:
    """Circuit of `provider` is now `state` (closed, half_open or open); not published for a hidden deployment."""
    if not TENANT.private(provider):
        CIRCUIT_STATE.labels(provider).set(CIRCUIT_STATES[state])


def record_rejection(kind_name: str) -> None:
    """Count a refused request if `kind_name` (an ErrorKind name) is a limit; other kinds are ignored."""
    reason = REJECTION_REASONS.get(kind_name)
    if reason is not None:
        REJECTIONS.labels(reason).inc()


def set_video_queue(queued: int, running: int) -> None:
    """Current number of queued and running video jobs (set by the VideoJobs service)."""
    VIDEO_QUEUE_DEPTH.labels("queued").set(queued)
    VIDEO_QUEUE_DEPTH.labels("running").set(running)


def video_job_finished(status: str, seconds: float) -> None:
    """A video job ended with `status` (completed, failed, cancelled) `seconds` after submission."""
    VIDEO_JOBS.labels(status).inc()
    VIDEO_JOB_SECONDS.labels(status).observe(seconds)
