"""Measurements as typed events, and the process-wide list of listeners they go to.

`emit(event)` is called where something happens (an execution ends, a session starts, a model
call finishes); it costs a list walk when no one listens. Listeners (`subscribe`) must be quick
and must not raise: a listener that does is logged and the others still get the event, because
counting must never break the thing counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecutionFinished:
    """One `Sandbox.run_code` ended. `purpose`: "code" (asked for by a model or a client), or
    the service's own "preview", "probe", "replay". `outcome`: "ok", "error" (the code
    raised), "timeout", "restarted", "lost", "disk_quota", "command_exit", or "failed" (the
    call itself raised)."""

    backend: str
    language: str
    purpose: str  # see `context.execution_purpose`
    outcome: str
    seconds: float
    peak_memory_bytes: int | None


@dataclass(frozen=True)
class SessionStarted:
    """A session manager got a session for a key: `created` (new) or `connected` (an existing
    one by its stored id)."""

    backend: str
    how: str


@dataclass(frozen=True)
class SessionEnded:
    """A session ended. `reason`: "idle" (reaped), "reclaimed" (to make room), "ended" (asked
    for), "shutdown"."""

    backend: str
    reason: str


@dataclass(frozen=True)
class SessionLost:
    """A session was found dead (its worker or kernel gone) where a live one was expected."""

    backend: str


@dataclass(frozen=True)
class SessionRestored:
    """A conversation's lost session was rebuilt: files written back, cells replayed."""

    reason: str
    cells_replayed: int
    cells_failed: int


@dataclass(frozen=True)
class TurnFinished:
    """A chat turn ended. `outcome`: the stored status (complete, failed, cancelled);
    `stop_reason`: why it stopped; `iterations`: model calls it made."""

    mode: str  # "agent" | "team"
    outcome: str
    stop_reason: str
    seconds: float
    iterations: int


@dataclass(frozen=True)
class LLMCallFinished:
    """One model call (with its retries) ended. `outcome`: "ok", or the `LLMError` kind
    that ended it; `first_token_seconds`: until the first text or tool call, None if none
    came."""

    provider: str
    model: str
    outcome: str
    seconds: float
    first_token_seconds: float | None
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class LLMRetried:
    provider: str
    model: str
    reason: str  # the retried error's kind


@dataclass(frozen=True)
class FileStored:
    """A file was stored: `kind` "upload" or "artifact"."""

    kind: str
    size: int


@dataclass(frozen=True)
class HTTPRequestFinished:
    """`route`: the route's template (`/api/conversations/{conversation_id}`), never the raw
    path, so that ids do not become label values."""

    method: str
    route: str
    status: int
    seconds: float


TelemetryEvent = (
    ExecutionFinished
    | SessionStarted
    | SessionEnded
    | SessionLost
    | SessionRestored
    | TurnFinished
    | LLMCallFinished
    | LLMRetried
    | FileStored
    | HTTPRequestFinished
)
Listener = Callable[[TelemetryEvent], None]

_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Send every event from now on to `listener` too (once, however often it subscribes)."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def emit(event: TelemetryEvent) -> None:
    for listener in tuple(_listeners):
        try:
            listener(event)
        except Exception:
            log.exception("telemetry listener %r failed on %s", listener, type(event).__name__)
