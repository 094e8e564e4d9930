"""The `Sandbox` interface every backend implements (local, gateway, E2B)."""

from __future__ import annotations

import abc
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, ClassVar, Literal

from sandbox_analyst.sandbox.errors import (
    FileAccessError,
    LanguageUnavailableError,
    SandboxError,
    SandboxUsageError,
)
from sandbox_analyst.sandbox.metering import metered
from sandbox_analyst.sandbox.models import (
    CommandResult,
    EntryInfo,
    Execution,
    ExecutionError,
    Listing,
    Result,
    SandboxInfo,
)

# Output callbacks may be plain functions or coroutines; they fire while the code runs.
OutputHandler = Callable[[str], Awaitable[None] | None]
ResultHandler = Callable[[Result], Awaitable[None] | None]
ErrorHandler = Callable[[ExecutionError], Awaitable[None] | None]
FileData = bytes | BinaryIO | AsyncIterable[bytes]
Language = Literal["python", "bash", "sql", "r"]
LANGUAGES: tuple[str, ...] = ("python", "bash", "sql", "r")
# What every backend that runs Python runs: an sql cell is Python (DuckDB) in the session.
PYTHON_LANGUAGES: tuple[str, ...] = ("python", "bash", "sql")


def checked_language(
    language: str, available: tuple[str, ...] = LANGUAGES, *, backend: str = "local"
) -> Language:
    """`language` if it is known and in `available` (what this session of `backend` runs),
    else `SandboxUsageError` naming the choices (`LanguageUnavailableError` for a known
    language the session lacks)."""
    if language not in LANGUAGES:
        raise SandboxUsageError(f"unknown language {language!r}; use one of {LANGUAGES}")
    if language not in available:
        raise LanguageUnavailableError(language, available, backend)
    return language  # type: ignore[return-value]


def checked_env_vars(env_vars: Mapping[str, str] | None) -> dict[str, str]:
    """`env_vars` as a plain dict, or `SandboxUsageError` naming what no environment can hold
    (a name that is empty or has `=`, a NUL anywhere, something that is not a string)."""
    checked: dict[str, str] = {}
    for name, value in (env_vars or {}).items():
        if not isinstance(name, str) or not name or "=" in name or "\x00" in name:
            raise SandboxUsageError(f"invalid environment variable name {name!r}")
        if not isinstance(value, str) or "\x00" in value:
            raise SandboxUsageError(f"environment variable {name} must be a string without NUL")
        checked[name] = value
    return checked


async def call_handler(handler: Callable[[Any], Any] | None, payload: Any) -> None:
    """Fire an output callback (a plain function or a coroutine function), if there is one."""
    if handler is None:
        return
    outcome = handler(payload)
    if inspect.isawaitable(outcome):
        await outcome


class SandboxFiles(abc.ABC):
    """Files in the session's workdir. Every path is relative to it and may not escape it."""

    @abc.abstractmethod
    async def write(self, path: str, data: FileData) -> EntryInfo: ...

    @abc.abstractmethod
    def read(self, path: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]: ...

    async def read_bytes(self, path: str) -> bytes:
        return b"".join([chunk async for chunk in self.read(path)])

    @abc.abstractmethod
    async def list(self, path: str = ".", *, recursive: bool = False) -> list[EntryInfo]: ...

    async def walk(
        self,
        path: str = ".",
        *,
        max_entries: int = 10_000,
        max_depth: int = 32,
        time_limit: float = 5.0,
    ) -> Listing:
        """Everything below `path`, within bounds: `max_entries` entries, `max_depth` levels,
        `time_limit` seconds; `Listing.truncated` says which bound cut it. A backend that can
        stop early overrides this; this default lists everything, then cuts."""
        entries = await self.list(path, recursive=True)
        base = len([part for part in PurePosixPath(path).parts if part not in ("/", ".")])
        kept = [entry for entry in entries if entry.path.count("/") - base < max_depth]
        truncated = None
        if len(kept) < len(entries):
            truncated = f"directories deeper than {max_depth} levels were not entered"
        if len(kept) > max_entries:
            kept, truncated = kept[:max_entries], f"more than {max_entries:,} entries"
        return Listing(kept, truncated)

    @abc.abstractmethod
    async def remove(self, path: str) -> None: ...

    @abc.abstractmethod
    async def exists(self, path: str) -> bool: ...

    async def make_dir(self, path: str) -> bool:
        """Create the directory `path` and its parents; False if it already existed."""
        raise FileAccessError(f"{type(self).__name__} cannot create directories")

    async def move(self, source: str, destination: str) -> EntryInfo:
        """Rename `source` to `destination` (whose parent must exist)."""
        raise FileAccessError(f"{type(self).__name__} cannot move files")


@dataclass(frozen=True)
class PackageOverlay:
    """A session's own site directory for approved installs (`directory`, on this machine), on
    top of its template's (`layers`), whose packages it must not replace."""

    directory: Path
    layers: tuple[Path, ...] = ()


class Sandbox(abc.ABC):
    """A stateful Python session: variables, imports and files persist across `run_code`.

    `sandbox_id` is stable for the session's life and may be stored, and handed to the
    provider's `connect()`, by another process. A backend keeps `busy` true while code or a
    command runs and sets `last_used` (`time.monotonic()`) when one ends: the session manager
    never ends a busy session and reaps by `last_used`.
    """

    backend: ClassVar[str] = "unknown"
    """The backend's name (`sandbox.backend`), as metrics label its executions."""
    sandbox_id: str
    files: SandboxFiles
    busy: bool = False
    last_used: float = 0.0
    template: str = "default"
    """The template the session was made from."""

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages `run_code` runs in this session: Python, bash and SQL wherever Python
        runs; R where the backend and the session's template provide it."""
        return PYTHON_LANGUAGES

    @abc.abstractmethod
    async def run_code(
        self,
        code: str,
        *,
        language: Language = "python",
        env_vars: Mapping[str, str] | None = None,
        timeout: float | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
        on_result: ResultHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> Execution:
        """Run `code` and wait for it; outputs stream to the callbacks as they come.

        `language="bash"` runs `bash -c CODE` in the workdir under the same isolation; a
        non-zero exit gives `error = ExecutionError("CommandExitError", "exit code N")`.
        `language="sql"` runs DuckDB SQL in the session's Python over the workdir's files
        (`sandbox.sql_cells`); `language="r"` runs R in a persistent R process of the session,
        where `languages` lists it (else `LanguageUnavailableError`).
        `env_vars` are visible to this one execution only. Errors in the code come back in
        `Execution.error`, never as exceptions; a timeout interrupts the code and keeps the
        session's state."""

    @abc.abstractmethod
    async def run_command(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env_vars: Mapping[str, str] | None = None,
        timeout: float | None = None,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
    ) -> CommandResult:
        """Run a shell command (`bash -c COMMAND`) in the workdir, or in `cwd` relative to it.
        A timeout, or cancelling the call, kills the command's process group."""

    async def open_interpreter(self) -> Sandbox:
        """Another interpreter on this session's files: its own variables, the same workdir.
        It ends with this session; closing it leaves the files."""
        raise SandboxError(f"{type(self).__name__} cannot open a second interpreter")

    def package_overlay(self) -> PackageOverlay:
        """Where approved installs for this session go (a directory the server writes on this
        machine), and the template's overlays below it. `SandboxUsageError` where the session's
        files are not on this machine (a remote backend)."""
        raise SandboxUsageError(
            f"approved package installs need sessions on this machine (the local backend); "
            f"{type(self).__name__} sessions run elsewhere"
        )

    async def activate_package_overlay(self) -> None:
        """Put the package overlay on the running interpreter's import path (and on that of
        the Python processes its code starts), now and after any restart."""
        raise SandboxUsageError(f"{type(self).__name__} has no package overlay")

    @abc.abstractmethod
    async def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the running code; state is kept."""

    @abc.abstractmethod
    async def restart(self) -> None:
        """Fresh interpreter state; files in the workdir are kept."""

    @abc.abstractmethod
    async def close(self) -> None:
        """End the session for good. Idempotent."""

    @abc.abstractmethod
    async def info(self) -> SandboxInfo: ...

    @property
    @abc.abstractmethod
    def generation(self) -> int:
        """Counts interpreter restarts; a change means variables were lost (files were not)."""

    @property
    @abc.abstractmethod
    def closed(self) -> bool: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Each backend's own `run_code`, measured (`metering`), whoever calls it.
        run_code = cls.__dict__.get("run_code")
        if run_code is not None and not getattr(run_code, "__metered__", False):
            cls.run_code = metered(run_code, cls.backend)  # type: ignore[method-assign]

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
