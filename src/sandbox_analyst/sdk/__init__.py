"""The Python SDK: a sandbox from code, in this process or on a server.

    from sandbox_analyst import SandboxManager

    async with SandboxManager(env_vars={"STAGE": "test"}) as sm:
        await sm.execute_code("python", "total = sum(range(10))")
        print((await sm.execute_code("python", "total")).text)     # 45
        print((await sm.execute_code("bash", "echo $STAGE")).stdout)  # test

`SandboxManager` (async, `manager`), `SyncSandboxManager` (blocking, `sync`), the results
(`results`), where sandboxes live (`location`: local pool, a Sandbox Analyst server, E2B),
start retries (`retry`) and the SDK's errors (`errors`). docs/sdk.md has the guide.
"""

from sandbox_analyst.sdk.errors import (
    SandboxNotStartedError,
    SandboxStartFailedError,
    SandboxStartRefusedError,
    SandboxStartRetriesExhaustedError,
)
from sandbox_analyst.sdk.files import SandboxFileSystem
from sandbox_analyst.sdk.location import Location, resolve_location
from sandbox_analyst.sdk.manager import SandboxManager
from sandbox_analyst.sdk.results import ExecutionResult, ResourceUsage
from sandbox_analyst.sdk.retry import RetryPolicy
from sandbox_analyst.sdk.sync import SyncFileSystem, SyncSandboxManager

__all__ = [
    "ExecutionResult",
    "Location",
    "ResourceUsage",
    "RetryPolicy",
    "SandboxFileSystem",
    "SandboxManager",
    "SandboxNotStartedError",
    "SandboxStartFailedError",
    "SandboxStartRefusedError",
    "SandboxStartRetriesExhaustedError",
    "SyncFileSystem",
    "SyncSandboxManager",
    "resolve_location",
]
