"""Sandbox Analyst: a self-hosted data analyst agent and its sandboxes.

`from sandbox_analyst import SandboxManager` gives the SDK (`sandbox_analyst.sdk`). The names
below are imported on first use, so `import sandbox_analyst` (and every `analyst` command)
does not pay for the sandbox engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox_analyst.lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from sandbox_analyst.sdk import (
        ExecutionResult,
        ResourceUsage,
        RetryPolicy,
        SandboxManager,
        SandboxStartFailedError,
        SyncSandboxManager,
    )

_EXPORTS = {
    "ExecutionResult": "sandbox_analyst.sdk",
    "ResourceUsage": "sandbox_analyst.sdk",
    "RetryPolicy": "sandbox_analyst.sdk",
    "SandboxManager": "sandbox_analyst.sdk",
    "SandboxStartFailedError": "sandbox_analyst.sdk",
    "SyncSandboxManager": "sandbox_analyst.sdk",
}

__all__ = [
    "ExecutionResult",
    "ResourceUsage",
    "RetryPolicy",
    "SandboxManager",
    "SandboxStartFailedError",
    "SyncSandboxManager",
]


__getattr__, __dir__ = _lazy_exports(globals(), _EXPORTS)
