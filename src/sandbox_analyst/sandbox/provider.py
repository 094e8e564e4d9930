"""`SandboxProvider`: where sandboxes come from. One implementation per backend (`local`: the
zygote pool on this machine; `gateway`: a Jupyter Kernel / Enterprise Gateway; `e2b`: E2B).

The layers above depend on this interface and on `Sandbox`, never on a backend's classes: a
backend is chosen by `sandbox.backend` and built by `create_provider(settings)`.

A session has a stable `sandbox_id`. It can be stored (in the database, by the service) and
handed to `connect()` later, possibly by another server process, to reach the same session
while it lives.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox_analyst.sandbox.base import Sandbox

if TYPE_CHECKING:
    from sandbox_analyst.sandbox.egress import EgressSink

DEFAULT_TEMPLATE = "default"
"""The template of a session whose `SessionSpec.template` is None."""


@dataclass(frozen=True)
class SessionSpec:
    """What a new session is made of.

    `env_vars` reach the code only when given here: never the server's own environment.
    `labels` are the caller's bookkeeping (owner, purpose), kept with the session and
    reported by `list_sessions()`; a backend does not interpret them.
    """

    template: str | None = None  # None: the default template
    env_vars: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    egress: tuple[str, ...] | None = None
    """An allow-list (`host:port` entries) that narrows the template's egress for this
    session, e.g. the assistant's: a connection must pass both. None: the template's as it
    is; empty: no network. Backends that do not run the egress proxy ignore it."""


@dataclass(frozen=True)
class SessionRecord:
    """A live session as the provider knows it."""

    sandbox_id: str
    template: str
    labels: Mapping[str, str]
    started_at: float  # time.time()


@dataclass(frozen=True)
class IsolationLayer:
    """One layer of isolation between sessions, as the backend can tell."""

    name: str
    status: str  # "active", "unavailable", or "disabled" (switched off by the settings)
    detail: str  # what it gives when active; why not otherwise
    remedy: str = ""  # what an operator can do to get it


@dataclass(frozen=True)
class ProviderHealth:
    """What `analyst doctor` and `/api/health` report of a backend. Available before
    `start()` too (then `ready` is False): the isolation a backend would give is worth
    showing precisely when it refuses to start."""

    backend: str
    ready: bool  # sessions can be created now
    detail: str
    sessions: int  # live sessions this provider can reach
    facts: Mapping[str, Any] = field(default_factory=dict)  # backend-specific, for display
    isolation_level: str | None = None  # "none", "basic", "strict"; None: not known here
    layers: tuple[IsolationLayer, ...] = ()


class SandboxProvider(abc.ABC):
    """Starts, finds and ends sessions of one backend."""

    backend: str

    @abc.abstractmethod
    async def start(self) -> None:
        """Get ready to create sessions (idempotent). May be slow (a zygote's imports); the
        service calls it from the event loop, never at import."""

    async def wait_ready(self) -> None:
        """Start, and wait until a session can be had without a start-up of its own (local:
        the pool is full). For benchmarks, `analyst doctor` and tests; a backend with nothing
        to prepare is ready once started."""
        await self.start()

    @abc.abstractmethod
    async def create(self, spec: SessionSpec | None = None) -> Sandbox:
        """A new session. Raises `SandboxStartError` when none can be had."""

    @abc.abstractmethod
    async def connect(self, sandbox_id: str) -> Sandbox:
        """The live session `sandbox_id`. Raises `SandboxNotFoundError` when it has ended or
        was never this backend's."""

    @abc.abstractmethod
    async def end(self, sandbox_id: str) -> bool:
        """End the session for good (files included); False if it did not exist."""

    @abc.abstractmethod
    async def list_sessions(self) -> list[SessionRecord]:
        """The live sessions this provider can reach."""

    @abc.abstractmethod
    async def health(self) -> ProviderHealth: ...

    def record_egress_to(self, sink: EgressSink) -> None:
        """Send the records of the egress connections of sessions made from now on to `sink`
        (for a provider built before the database that keeps them). A backend that runs no
        egress proxy has none to record."""
        return

    def ready_workers(self) -> dict[str, int]:
        """Sessions started ahead of time and waiting, per template (for metrics; quick, no
        I/O). Empty for a backend that keeps none."""
        return {}

    @abc.abstractmethod
    async def shutdown(self) -> None:
        """End every session this process started and release the backend."""

    async def __aenter__(self) -> SandboxProvider:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()
