"""What the server reports about itself: measurements (`events`: emitted by every layer, at no
cost until something listens), their Prometheus form (`prometheus`, imported only by the API's
`/metrics`), and the context every log line of a request or a turn carries (`context`, `logs`).

This package sits beside `config` at the bottom of the layers: the sandbox, the LLM adapters
and the service report what happened without knowing who, if anyone, is counting. Nothing here
imports `prometheus_client` except `prometheus` itself (its import costs over 100 ms, which
`analyst exec` and the zygote do not pay).
"""

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
    emit,
    subscribe,
    unsubscribe,
)

__all__ = [
    "ExecutionFinished",
    "FileStored",
    "HTTPRequestFinished",
    "LLMCallFinished",
    "LLMRetried",
    "SessionEnded",
    "SessionLost",
    "SessionRestored",
    "SessionStarted",
    "TelemetryEvent",
    "TurnFinished",
    "emit",
    "subscribe",
    "unsubscribe",
]
