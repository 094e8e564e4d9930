"""The local backend: a zygote that imports the heavy libraries once and forks isolated
workers, kept ready in a pool, each running an IPython shell for one session."""

from sandbox_analyst.sandbox.local.pool import SandboxPool
from sandbox_analyst.sandbox.local.provider import LocalProvider
from sandbox_analyst.sandbox.local.sandbox import LocalSandbox

__all__ = ["LocalProvider", "LocalSandbox", "SandboxPool"]
