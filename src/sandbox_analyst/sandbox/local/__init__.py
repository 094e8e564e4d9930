"""The local backend: a zygote that imports the heavy libraries once and forks isolated
workers, kept ready in a pool, each running an IPython shell for one session.

Names are imported on first use (PEP 562): the zygote imports only what it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox_analyst.lazy_exports import lazy_exports as _lazy_exports

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


__getattr__, __dir__ = _lazy_exports(globals(), _EXPORTS)
