"""The local backend: a zygote that imports the heavy libraries once and forks isolated
workers, kept ready in a pool, each running an IPython shell for one session.

Names are imported on first use (PEP 562): the zygote imports only what it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox_analyst.sandbox.local.pool import SandboxPool
    from sandbox_analyst.sandbox.local.provider import LocalProvider
    from sandbox_analyst.sandbox.local.sandbox import LocalSandbox

# Exported name -> the module that defines it.
_EXPORTS = {
    "LocalProvider": "sandbox_analyst.sandbox.local.provider",
    "LocalSandbox": "sandbox_analyst.sandbox.local.sandbox",
    "SandboxPool": "sandbox_analyst.sandbox.local.pool",
}

__all__ = [
    "LocalProvider",
    "LocalSandbox",
    "SandboxPool",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
