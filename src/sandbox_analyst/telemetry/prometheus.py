"""The measurements in `events` as Prometheus metrics, and what `/metrics` renders.

Counters and histograms are process-wide (one scrape target is one server process; a replica
is another target), fed by one listener that `install()` subscribes. What is true *now* (live
sessions, ready workers per template, running turns) is read from the app's own objects at
scrape time by a `LiveCollector`, so several apps in one process (tests, embedded servers)
each report their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from sandbox_analyst.telemetry.events import (
    ExecutionFinished,
    FileStored,
    HTTPRequestFinished,
    LLMCallFinished,
    LLMRetried,
    SessionEnded,
    SessionLost,
    SessionRestored,
    SessionStarted,
    TelemetryEvent,
    TurnFinished,
    subscribe,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_MIB = 1024 * 1024
_MEMORY = tuple(m * _MIB for m in (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384))

EXECUTIONS = Counter(
    "analyst_executions",
    "Code executions in sandboxes, by how they ended.",
    ["backend", "language", "purpose", "outcome"],
    registry=REGISTRY,
)
EXECUTION_SECONDS = Histogram(
    "analyst_execution_duration_seconds",
    "Wall-clock time of one code execution.",
    ["backend"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
EXECUTION_PEAK_MEMORY = Histogram(
    "analyst_execution_peak_memory_bytes",
    "The session's peak resident memory when an execution ended (where the backend knows it).",
    ["backend"],
    buckets=_MEMORY,
    registry=REGISTRY,
)
SESSIONS_STARTED = Counter(
    "analyst_sessions_started",
    "Sandbox sessions a session manager handed out: created, or connected by a stored id.",
    ["backend", "how"],
    registry=REGISTRY,
)
SESSIONS_ENDED = Counter(
    "analyst_sessions_ended",
    "Sandbox sessions ended: idle (reaped), reclaimed (to make room), ended, shutdown.",
    ["backend", "reason"],
    registry=REGISTRY,
)
SESSIONS_LOST = Counter(
    "analyst_sessions_lost",
    "Sandbox sessions found dead where a live one was expected.",
    ["backend"],
    registry=REGISTRY,
)
SESSIONS_RESTORED = Counter(
    "analyst_sessions_restored",
    "Conversations whose lost sandbox was rebuilt (files written back, cells replayed).",
    ["reason"],
    registry=REGISTRY,
)
TURNS = Counter(
    "analyst_turns",
    "Chat turns, by stored outcome and why they stopped.",
    ["mode", "outcome", "stop_reason"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "analyst_turn_duration_seconds",
    "Wall-clock time of one chat turn.",
    ["mode"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
TURN_ITERATIONS = Histogram(
    "analyst_turn_iterations",
    "Model calls in one chat turn.",
    ["mode"],
    buckets=(1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100),
    registry=REGISTRY,
)
LLM_CALLS = Counter(
    "analyst_llm_calls",
    "Model calls (retries included in one call), by outcome: ok or the error's kind.",
    ["provider", "model", "outcome"],
    registry=REGISTRY,
)
LLM_FIRST_TOKEN_SECONDS = Histogram(
    "analyst_llm_first_token_seconds",
    "Time from a model call's start to its first text or tool call.",
    ["provider", "model"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
LLM_CALL_SECONDS = Histogram(
    "analyst_llm_call_duration_seconds",
    "Wall-clock time of one model call, retries included.",
    ["provider", "model"],
    buckets=_SECONDS,
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "analyst_llm_tokens",
    "Tokens the models read (input) and wrote (output), as the providers reported them.",
    ["provider", "model", "direction"],
    registry=REGISTRY,
)
LLM_RETRIES = Counter(
    "analyst_llm_retries",
    "Model calls retried after a retryable failure, by the failure's kind.",
    ["provider", "model", "reason"],
    registry=REGISTRY,
)
FILES_STORED = Counter(
    "analyst_files_stored",
    "Files stored: uploads and artifacts the code produced.",
    ["kind"],
    registry=REGISTRY,
)
FILES_STORED_BYTES = Counter(
    "analyst_files_stored_bytes",
    "Bytes of the files stored.",
    ["kind"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "analyst_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "analyst_http_request_duration_seconds",
    "Time to answer an HTTP request (a stream: until it ended).",
    ["method", "route"],
    buckets=_SECONDS,
    registry=REGISTRY,
)


def record(event: TelemetryEvent) -> None:
    """The listener: one event into its metrics."""
    match event:
        case ExecutionFinished():
            EXECUTIONS.labels(event.backend, event.language, event.purpose, event.outcome).inc()
            EXECUTION_SECONDS.labels(event.backend).observe(event.seconds)
            if event.peak_memory_bytes is not None:
                EXECUTION_PEAK_MEMORY.labels(event.backend).observe(event.peak_memory_bytes)
        case SessionStarted():
            SESSIONS_STARTED.labels(event.backend, event.how).inc()
        case SessionEnded():
            SESSIONS_ENDED.labels(event.backend, event.reason).inc()
        case SessionLost():
            SESSIONS_LOST.labels(event.backend).inc()
        case SessionRestored():
            SESSIONS_RESTORED.labels(event.reason).inc()
        case TurnFinished():
            TURNS.labels(event.mode, event.outcome, event.stop_reason).inc()
            TURN_SECONDS.labels(event.mode).observe(event.seconds)
            TURN_ITERATIONS.labels(event.mode).observe(event.iterations)
        case LLMCallFinished():
            labels = (event.provider, event.model)
            LLM_CALLS.labels(*labels, event.outcome).inc()
            LLM_CALL_SECONDS.labels(*labels).observe(event.seconds)
            if event.first_token_seconds is not None:
                LLM_FIRST_TOKEN_SECONDS.labels(*labels).observe(event.first_token_seconds)
            LLM_TOKENS.labels(*labels, "input").inc(event.input_tokens)
            LLM_TOKENS.labels(*labels, "output").inc(event.output_tokens)
        case LLMRetried():
            LLM_RETRIES.labels(event.provider, event.model, event.reason).inc()
        case FileStored():
            FILES_STORED.labels(event.kind).inc()
            FILES_STORED_BYTES.labels(event.kind).inc(event.size)
        case HTTPRequestFinished():
            HTTP_REQUESTS.labels(event.method, event.route, str(event.status)).inc()
            HTTP_SECONDS.labels(event.method, event.route).observe(event.seconds)


def install() -> None:
    """Start counting (idempotent)."""
    subscribe(record)


@dataclass(frozen=True)
class LiveState:
    """Readers of what is true now, called at each scrape (quick, non-blocking)."""

    sessions_live: Callable[[], int]
    pool_ready: Callable[[], Mapping[str, int]]
    turns_running: Callable[[], int]


class LiveCollector(Collector):
    def __init__(self, state: LiveState) -> None:
        self.state = state

    def collect(self) -> Iterable[Metric]:
        live = GaugeMetricFamily("analyst_sessions_live", "Sandbox sessions alive now.")
        live.add_metric([], self.state.sessions_live())
        yield live
        ready = GaugeMetricFamily(
            "analyst_sandbox_pool_ready",
            "Workers started ahead of time and waiting, per template.",
            labels=["template"],
        )
        for template, count in sorted(self.state.pool_ready().items()):
            ready.add_metric([template], count)
        yield ready
        running = GaugeMetricFamily("analyst_turns_running", "Chat turns running now.")
        running.add_metric([], self.state.turns_running())
        yield running


class _Shared(Collector):
    """The process-wide metrics, inside an app's own registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def app_registry(state: LiveState) -> CollectorRegistry:
    """What one app's `/metrics` shows: the process-wide metrics and its live state."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Shared())
    registry.register(LiveCollector(state))
    return registry


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The exposition the scraper asked for (`Accept`: text format, or OpenMetrics), and its
    content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
