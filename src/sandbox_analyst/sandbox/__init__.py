"""The execution engine's interface: stateful, isolated sessions from any backend.

    provider = create_provider(settings.sandbox, data_dir / "sandboxes")
    async with provider:
        sandbox = await provider.create()
        execution = await sandbox.run_code("import pandas as pd; pd.__version__")

Layers above depend on `Sandbox`, `SandboxProvider` and `SessionManager` only; the backends
(`sandbox.local`: a zygote pool on this machine; gateway and E2B) are chosen by
`sandbox.backend` and built by `create_provider`.
"""

from sandbox_analyst.sandbox.base import Language, Sandbox, SandboxFiles
from sandbox_analyst.sandbox.errors import (
    BackendUnavailableError,
    FileAccessError,
    IsolationError,
    PathEscapeError,
    SandboxBusyError,
    SandboxClosedError,
    SandboxError,
    SandboxNotFoundError,
    SandboxStartError,
    SandboxUsageError,
    TooManySessionsError,
    TooManyUserSessionsError,
)
from sandbox_analyst.sandbox.factory import BACKENDS, backend_factory, create_provider
from sandbox_analyst.sandbox.models import (
    CommandResult,
    EntryInfo,
    Execution,
    ExecutionError,
    Logs,
    Result,
    SandboxErrorName,
    SandboxInfo,
)
from sandbox_analyst.sandbox.provider import (
    IsolationLayer,
    ProviderHealth,
    SandboxProvider,
    SessionRecord,
    SessionSpec,
)
from sandbox_analyst.sandbox.sessions import SessionKey, SessionManager

__all__ = [
    "BACKENDS",
    "BackendUnavailableError",
    "CommandResult",
    "EntryInfo",
    "Execution",
    "ExecutionError",
    "FileAccessError",
    "IsolationError",
    "IsolationLayer",
    "Language",
    "Logs",
    "PathEscapeError",
    "ProviderHealth",
    "Result",
    "Sandbox",
    "SandboxBusyError",
    "SandboxClosedError",
    "SandboxError",
    "SandboxErrorName",
    "SandboxFiles",
    "SandboxInfo",
    "SandboxNotFoundError",
    "SandboxProvider",
    "SandboxStartError",
    "SandboxUsageError",
    "SessionKey",
    "SessionManager",
    "SessionRecord",
    "SessionSpec",
    "TooManySessionsError",
    "TooManyUserSessionsError",
    "backend_factory",
    "create_provider",
]
