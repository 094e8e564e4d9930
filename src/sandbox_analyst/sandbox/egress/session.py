"""`EgressSession`: one sandbox session's use of the egress proxy: its policy, its limits and
the record of every connection it made or was refused."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from sandbox_analyst.sandbox.egress.policy import EgressPolicy

log = logging.getLogger("sandbox_analyst.egress")


@dataclass(frozen=True)
class EgressLimits:
    connections_per_minute: int = 120
    concurrent_connections: int = 32
    bytes_per_session: int = 1024 * 1024 * 1024
    """Sent plus received, over the session's whole life."""


@dataclass(frozen=True)
class EgressRecord:
    """One connection through the proxy (or one refused), as the audit log keeps it."""

    session_id: str
    method: str
    """CONNECT for a TLS tunnel, else the HTTP method of a plain request."""
    host: str
    port: int
    path: str | None
    allowed: bool
    reason: str
    address: str | None = None
    """The address connected to (after the proxy's own resolution), when it got that far."""
    bytes_sent: int = 0
    bytes_received: int = 0
    started_at: float = 0.0
    """time.time()"""
    duration_s: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)
    """The session's labels (its owner and purpose), as the caller gave them."""


EgressSink = Callable[[EgressRecord], None]


def log_record(record: EgressRecord) -> None:
    """The default sink: one log line per connection, with the record's fields as `extra`."""
    outcome = "allowed" if record.allowed else "denied"
    log.info(
        "egress %s: session %s %s %s:%s%s (%s) sent %d received %d bytes",
        outcome,
        record.session_id,
        record.method,
        record.host,
        record.port,
        record.path or "",
        record.reason,
        record.bytes_sent,
        record.bytes_received,
        extra={"egress": record.__dict__},
    )


class EgressSession:
    """Counters and policy of one session. Lives in the server's event loop."""

    def __init__(
        self,
        session_id: str,
        policy: EgressPolicy,
        limits: EgressLimits | None = None,
        sink: EgressSink = log_record,
    ) -> None:
        self.session_id = session_id
        self.policy = policy
        self.limits = limits or EgressLimits()
        self.sink = sink
        self.bytes_used = 0
        self._recent: collections.deque[float] = collections.deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_limited = -1.0
        self._unrecorded = 0
        self.closed = False
        self.labels: Mapping[str, str] = {}

    def narrow(self, policy: EgressPolicy) -> None:
        """Apply a stricter policy (e.g. the assistant's) from now on."""
        self.policy = policy

    def label(self, labels: Mapping[str, str]) -> None:
        """Whose session this is, for the records (a pooled worker gets its session's labels
        only when it is handed out)."""
        self.labels = dict(labels)

    def over_capacity(self) -> str | None:
        """Why a new connection must be dropped at once (no answer, no wait): more are open
        than the session may hold. A flood must not cost the server more than a close."""
        if len(self._tasks) > self.limits.concurrent_connections:
            return (
                f"more than {self.limits.concurrent_connections} connections open at once "
                "(sandbox.egress.max_concurrent_connections)"
            )
        return None

    def admit(self) -> str | None:
        """Count a new connection; the reason it must be refused, if it must."""
        now = time.monotonic()
        while self._recent and now - self._recent[0] > 60.0:
            self._recent.popleft()
        if self.bytes_used >= self.limits.bytes_per_session:
            return (
                f"the session used its {self.limits.bytes_per_session} bytes of egress "
                "(sandbox.egress.max_bytes_per_session)"
            )
        if len(self._recent) >= self.limits.connections_per_minute:
            return (
                f"more than {self.limits.connections_per_minute} connections in a minute "
                "(sandbox.egress.max_connections_per_minute)"
            )
        self._recent.append(now)
        return None

    def spend(self, count: int) -> bool:
        """Add `count` bytes to the session's use; False once the budget is spent."""
        self.bytes_used += count
        return self.bytes_used <= self.limits.bytes_per_session

    def record_limited(self, record: EgressRecord) -> None:
        """Record a connection refused by the limits: at most one a second, the next one
        saying how many were not recorded in between (a flood must not flood the log)."""
        now = time.monotonic()
        if now - self._last_limited < 1.0:
            self._unrecorded += 1
            return
        self._last_limited = now
        if self._unrecorded:
            more = f"; {self._unrecorded} more refused by the limits were not recorded one by one"
            record = replace(record, reason=record.reason + more)
            self._unrecorded = 0
        self.record(record)

    def record(self, record: EgressRecord) -> None:
        try:
            self.sink(replace(record, labels=self.labels))
        except Exception:  # a broken audit sink must not break the session's connections
            log.exception("could not record an egress connection")

    def track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Cut every open connection of the session (each records itself as it ends)."""
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
