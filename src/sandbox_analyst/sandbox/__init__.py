"""The execution engine's interface: stateful, isolated sessions from any backend.

    provider = create_provider(settings.sandbox, data_dir / "sandboxes")
    async with provider:
        sandbox = await provider.create()
        execution = await sandbox.run_code("import pandas as pd; pd.__version__")

Layers above depend on `Sandbox`, `SandboxProvider` and `SessionManager` only; the backends
(`sandbox.local`: a zygote pool on this machine; gateway and E2B) are chosen by
`sandbox.backend` and built by `create_provider`.

Names are imported on first use (PEP 562): a process that needs one module of the engine (the
zygote, a worker, `analyst exec`) does not import the rest, nor the settings' pydantic models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox_analyst.lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from sandbox_analyst.sandbox.base import (
        LANGUAGES,
        PYTHON_LANGUAGES,
        Language,
        Sandbox,
        SandboxFiles,
    )
    from sandbox_analyst.sandbox.cell_magic import split_cell, tagged_cell
    from sandbox_analyst.sandbox.errors import (
        BackendUnavailableError,
        FileAccessError,
        IsolationError,
        LanguageUnavailableError,
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
    from sandbox_analyst.sandbox.factory import (
        BACKENDS,
        backend_factory,
        create_provider,
        provider_for,
    )
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
    from sandbox_analyst.sandbox.sql_cells import SQL_RESULT_VARIABLE

# Exported name -> the module that defines it.
_EXPORTS = {
    "LANGUAGES": "sandbox_analyst.sandbox.base",
    "PYTHON_LANGUAGES": "sandbox_analyst.sandbox.base",
    "SQL_RESULT_VARIABLE": "sandbox_analyst.sandbox.sql_cells",
    "split_cell": "sandbox_analyst.sandbox.cell_magic",
    "tagged_cell": "sandbox_analyst.sandbox.cell_magic",
    "BACKENDS": "sandbox_analyst.sandbox.factory",
    "BackendUnavailableError": "sandbox_analyst.sandbox.errors",
    "CommandResult": "sandbox_analyst.sandbox.models",
    "EntryInfo": "sandbox_analyst.sandbox.models",
    "Execution": "sandbox_analyst.sandbox.models",
    "ExecutionError": "sandbox_analyst.sandbox.models",
    "FileAccessError": "sandbox_analyst.sandbox.errors",
    "IsolationError": "sandbox_analyst.sandbox.errors",
    "IsolationLayer": "sandbox_analyst.sandbox.provider",
    "Language": "sandbox_analyst.sandbox.base",
    "Logs": "sandbox_analyst.sandbox.models",
    "PathEscapeError": "sandbox_analyst.sandbox.errors",
    "ProviderHealth": "sandbox_analyst.sandbox.provider",
    "Result": "sandbox_analyst.sandbox.models",
    "Sandbox": "sandbox_analyst.sandbox.base",
    "SandboxBusyError": "sandbox_analyst.sandbox.errors",
    "SandboxClosedError": "sandbox_analyst.sandbox.errors",
    "SandboxError": "sandbox_analyst.sandbox.errors",
    "SandboxErrorName": "sandbox_analyst.sandbox.models",
    "SandboxFiles": "sandbox_analyst.sandbox.base",
    "SandboxInfo": "sandbox_analyst.sandbox.models",
    "SandboxNotFoundError": "sandbox_analyst.sandbox.errors",
    "SandboxProvider": "sandbox_analyst.sandbox.provider",
    "SandboxStartError": "sandbox_analyst.sandbox.errors",
    "SandboxUsageError": "sandbox_analyst.sandbox.errors",
    "LanguageUnavailableError": "sandbox_analyst.sandbox.errors",
    "SessionKey": "sandbox_analyst.sandbox.sessions",
    "SessionManager": "sandbox_analyst.sandbox.sessions",
    "SessionRecord": "sandbox_analyst.sandbox.provider",
    "SessionSpec": "sandbox_analyst.sandbox.provider",
    "TooManySessionsError": "sandbox_analyst.sandbox.errors",
    "TooManyUserSessionsError": "sandbox_analyst.sandbox.errors",
    "backend_factory": "sandbox_analyst.sandbox.factory",
    "create_provider": "sandbox_analyst.sandbox.factory",
    "provider_for": "sandbox_analyst.sandbox.factory",
}

__all__ = [
    "BACKENDS",
    "LANGUAGES",
    "PYTHON_LANGUAGES",
    "SQL_RESULT_VARIABLE",
    "BackendUnavailableError",
    "CommandResult",
    "EntryInfo",
    "Execution",
    "ExecutionError",
    "FileAccessError",
    "IsolationError",
    "IsolationLayer",
    "Language",
    "LanguageUnavailableError",
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
    "provider_for",
    "split_cell",
    "tagged_cell",
]


__getattr__, __dir__ = _lazy_exports(globals(), _EXPORTS)
