"""The execution engine: stateful, isolated Python sessions.

async with SandboxPool(settings.sandbox, data_dir / "sandboxes") as pool:
    sandbox = await pool.acquire()
    execution = await sandbox.run_code("import pandas as pd; pd.__version__")
"""

from sandbox_analyst.sandbox.base import Sandbox, SandboxFiles
from sandbox_analyst.sandbox.errors import (
    FileAccessError,
    IsolationError,
    PathEscapeError,
    SandboxBusyError,
    SandboxClosedError,
    SandboxError,
    SandboxNotFoundError,
    SandboxStartError,
    TooManySessionsError,
)
from sandbox_analyst.sandbox.local.pool import SandboxPool
from sandbox_analyst.sandbox.local.sandbox import LocalSandbox
from sandbox_analyst.sandbox.manager import SessionManager
from sandbox_analyst.sandbox.models import (
    EntryInfo,
    Execution,
    ExecutionError,
    Logs,
    Result,
    SandboxErrorName,
    SandboxInfo,
)
from sandbox_analyst.sandbox.provider import (
    ProviderHealth,
    SandboxProvider,
    SessionRecord,
    SessionSpec,
)

__all__ = [
    "EntryInfo",
    "Execution",
    "ExecutionError",
    "FileAccessError",
    "IsolationError",
    "LocalSandbox",
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
    "SandboxPool",
    "SandboxProvider",
    "SandboxStartError",
    "SessionManager",
    "SessionRecord",
    "SessionSpec",
    "TooManySessionsError",
]
