"""`SyncSandboxManager`: the same sandbox for scripts and notebooks, without `await`.

    with SyncSandboxManager() as sm:
        sm.execute_code("python", "x = 41")
        print(sm.execute_code("python", "x + 1").text)   # 42

The async manager runs on one event loop in a background thread, shared by every
`SyncSandboxManager` of the process: it works where an event loop already runs in the
calling thread (Jupyter), and the local managers share one sandbox pool. Output callbacks
are called on that thread. Ctrl-C while a call waits cancels it (a running execution is
interrupted) and raises `KeyboardInterrupt`. Managers still open when the interpreter exits
are closed then.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import weakref
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox.base import ErrorHandler, FileData, OutputHandler, ResultHandler
from sandbox_analyst.sandbox.models import EntryInfo
from sandbox_analyst.sdk.manager import SandboxManager
from sandbox_analyst.sdk.results import ExecutionResult, ResourceUsage
from sandbox_analyst.sdk.retry import RetryPolicy

T = TypeVar("T")


class _LoopThread:
    """One event loop in a daemon thread, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def run(self, step: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            step.close()
            raise RuntimeError(
                "a SyncSandboxManager cannot be called from its own callbacks (they run on "
                "its event loop's thread); use SandboxManager there"
            )
        finished = threading.Event()

        async def tracked() -> T:
            try:
                return await step
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(tracked(), self._running_loop())
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            # Let the cancellation land: the running code is interrupted, a start cleans up.
            finished.wait(timeout=30)
            raise

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=loop.run_forever, name="sandbox-analyst-sdk", daemon=True
                )
                self._thread.start()
                self._loop = loop
            return self._loop


_LOOP = _LoopThread()
_open: weakref.WeakSet[SyncSandboxManager] = weakref.WeakSet()


class SyncSandboxManager:
    """`SandboxManager` with blocking methods; the same arguments (see there)."""

    def __init__(
        self,
        template: str | None = None,
        env_vars: Mapping[str, str] | None = None,
        timeout: float | None = None,
        *,
        backend: str | None = None,
        server_url: str | None = None,
        api_key: str | None = None,
        settings: Settings | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.manager = SandboxManager(
            template,
            env_vars,
            timeout,
            backend=backend,
            server_url=server_url,
            api_key=api_key,
            settings=settings,
            retry=retry,
        )
        self.files = SyncFileSystem(self.manager)

    @property
    def backend(self) -> str:
        return self.manager.backend

    @property
    def started(self) -> bool:
        return self.manager.started

    @property
    def sandbox_id(self) -> str:
        return self.manager.sandbox_id

    def __enter__(self) -> SyncSandboxManager:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> SyncSandboxManager:
        _open.add(self)
        _LOOP.run(self.manager.start())
        return self

    def close(self) -> None:
        _LOOP.run(self.manager.close())
        _open.discard(self)

    def execute_code(
        self,
        language: str,
        code: str,
        *,
        timeout: float | None = None,
        env_vars: Mapping[str, str] | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
        on_result: ResultHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> ExecutionResult:
        return _LOOP.run(
            self.manager.execute_code(
                language,
                code,
                timeout=timeout,
                env_vars=env_vars,
                on_stdout=on_stdout,
                on_stderr=on_stderr,
                on_result=on_result,
                on_error=on_error,
            )
        )

    def info(self) -> ResourceUsage:
        return _LOOP.run(self.manager.info())

    def interrupt(self) -> None:
        _LOOP.run(self.manager.interrupt())

    def restart(self) -> None:
        _LOOP.run(self.manager.restart())


class SyncFileSystem:
    """`SandboxManager.files`, blocking."""

    def __init__(self, manager: SandboxManager) -> None:
        self._files = manager.files

    def write(self, path: str, data: str | FileData) -> EntryInfo:
        return _LOOP.run(self._files.write(path, data))

    def read(self, path: str) -> bytes:
        return _LOOP.run(self._files.read(path))

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        return _LOOP.run(self._files.read_text(path, encoding))

    def list(self, path: str = ".", *, recursive: bool = False) -> list[EntryInfo]:
        return _LOOP.run(self._files.list(path, recursive=recursive))

    def exists(self, path: str) -> bool:
        return _LOOP.run(self._files.exists(path))

    def make_dir(self, path: str) -> bool:
        return _LOOP.run(self._files.make_dir(path))

    def remove(self, path: str) -> None:
        _LOOP.run(self._files.remove(path))


@atexit.register
def _close_open_managers() -> None:
    # Sandboxes end with this process anyway; closing them here ends them cleanly (a remote
    # sandbox would otherwise live on until its server's timeout).
    for manager in list(_open):
        try:
            manager.close()
        except Exception:  # one that cannot be closed must not keep the others open
            continue
