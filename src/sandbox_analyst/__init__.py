"""Sandbox Analyst: a self-hosted data analyst agent and its sandboxes.

`from sandbox_analyst import SandboxManager` gives the SDK (`sandbox_analyst.sdk`). The names
below are imported on first use, so `import sandbox_analyst` (and every `analyst` command)
does not pay for the sandbox engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox_analyst.sdk import (
        ExecutionResult,
        ResourceUsage,
        RetryPolicy,
        SandboxManager,
        SandboxStartFailedError,
        SyncSandboxManager,
    )

_LAZY = {
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sandbox_analyst' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
