"""A running E2B sandbox as this process holds it: the session, its code contexts (separate
interpreters on the same files) and the commands running in it.

Paths here are workdir-relative (`""` is the workdir itself); how a client names them (E2B's
`/home/user/...`) is the front end's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import shlex
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sandbox_analyst.sandbox import Execution, LanguageUnavailableError, Sandbox
from sandbox_analyst.sandbox.base import (
    ErrorHandler,
    OutputHandler,
    ResultHandler,
    checked_language,
)
from sandbox_analyst.service.e2b.errors import (
    ContextNotFound,
    ContextSetupFailed,
    DefaultContextProtected,
    ProcessNotFound,
    SandboxLimitReached,
    UnsupportedLanguage,
)
from sandbox_analyst.service.e2b.metrics import SandboxMetrics

logger = logging.getLogger(__name__)

Language = Literal["python", "bash", "sql", "r"]
LANGUAGES: tuple[str, ...] = ("python", "bash", "sql", "r")
_ALIASES = {
    "py": "python",
    "python3": "python",
    "sh": "bash",
    "shell": "bash",
    "duckdb": "sql",
}
# Numbers handed out as process ids: the sandbox's own pids are its business.
_FIRST_PID = 1000
# Each python context is a process of its own, each command too: a sandbox gets a few.
MAX_CONTEXTS = 8
MAX_COMMANDS = 16


def normalize_language(language: str | None) -> Language:
    name = (language or "python").strip().lower()
    name = _ALIASES.get(name, name)
    if name not in LANGUAGES:
        raise UnsupportedLanguage(
            f"language {language!r} is not supported here; use one of: {', '.join(LANGUAGES)}"
        )
    return name  # type: ignore[return-value]


@dataclass
class CodeContext:
    """Where code runs. Python contexts other than the default have an interpreter of their
    own (variables apart, files shared); bash contexts run each cell as a fresh shell in
    their directory."""

    id: str
    language: Language
    cwd: str  # workdir-relative
    interpreter: Sandbox

    @property
    def default(self) -> bool:
        return self.id.startswith("default-")


@dataclass(frozen=True)
class CommandOutput:
    stream: Literal["stdout", "stderr"]
    text: str


@dataclass(frozen=True)
class CommandEnd:
    exit_code: int
    exited: bool  # False: killed or timed out before it finished
    status: str
    error: str | None = None


CommandEvent = CommandOutput | CommandEnd


@dataclass
class RunningCommand:
    """A command started in the sandbox; its output is queued for the one stream that
    started it. Ending that stream (or `kill`) kills the command."""

    pid: int
    argv: list[str]
    cwd: str
    env_vars: Mapping[str, str]
    tag: str | None
    events: asyncio.Queue[CommandEvent] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    def kill(self) -> bool:
        if self.task is None or self.task.done():
            return False
        self.task.cancel()
        return True


class LiveSandbox:
    """Everything of one running sandbox that lives in memory."""

    def __init__(
        self,
        sandbox_id: str,
        owner_id: str,
        template_id: str,
        session: Sandbox,
        *,
        end_at: datetime,
        access_token: str,
    ) -> None:
        self.sandbox_id = sandbox_id
        self.owner_id = owner_id
        self.template_id = template_id
        self.session = session
        self.end_at = end_at
        self.access_token = access_token
        self.expiry: asyncio.TimerHandle | None = None
        default = CodeContext(f"default-{uuid.uuid4()}", "python", "", session)
        self._contexts: dict[str, CodeContext] = {default.id: default}
        self._default_by_language: dict[str, CodeContext] = {"python": default}
        self._commands: dict[int, RunningCommand] = {}
        self._pids = itertools.count(_FIRST_PID)
        self._lock = asyncio.Lock()
        self.metrics = SandboxMetrics()

    @property
    def closed(self) -> bool:
        return self.session.closed

    # --- code contexts -------------------------------------------------------------------

    def contexts(self) -> list[CodeContext]:
        return list(self._contexts.values())

    def interpreters(self) -> list[Sandbox]:
        """The session first, then every other interpreter a context runs (each a process)."""
        found = {id(self.session): self.session}
        for context in self._contexts.values():
            if not context.interpreter.closed:
                found.setdefault(id(context.interpreter), context.interpreter)
        return list(found.values())

    def context(self, context_id: str) -> CodeContext:
        found = self._contexts.get(context_id)
        if found is None:
            raise ContextNotFound(context_id)
        return found

    def _check_available(self, language: Language) -> None:
        try:
            checked_language(language, self.session.languages, backend=self.session.backend)
        except LanguageUnavailableError as exc:
            raise UnsupportedLanguage(str(exc)) from None

    async def default_context(self, language: Language) -> CodeContext:
        """The context code of `language` runs in when the client names none: the session
        itself (so the default Python context sees `_sql`, the last SQL result)."""
        self._check_available(language)
        async with self._lock:
            existing = self._default_by_language.get(language)
            if existing is None:
                # bash needs no interpreter state: it runs in the session itself.
                existing = CodeContext(f"default-{uuid.uuid4()}", language, "", self.session)
                self._contexts[existing.id] = existing
                self._default_by_language[language] = existing
            return existing

    async def create_context(self, language: Language, cwd: str) -> CodeContext:
        if len(self._contexts) >= MAX_CONTEXTS:
            raise SandboxLimitReached(
                f"this sandbox already has {MAX_CONTEXTS} code contexts; remove one first"
            )
        self._check_available(language)
        if cwd and not (await self.session.files.exists(cwd)):
            raise ContextSetupFailed(f"the context's directory {cwd!r} does not exist")
        interpreter = self.session
        if language != "bash":  # Python, SQL (Python's DuckDB) and R: state of their own
            interpreter = await self.session.open_interpreter()
            if cwd:
                await self._enter(interpreter, cwd)
        context = CodeContext(str(uuid.uuid4()), language, cwd, interpreter)
        self._contexts[context.id] = context
        return context

    async def _enter(self, interpreter: Sandbox, cwd: str) -> None:
        moved = await interpreter.run_code(f"import os as _os; _os.chdir({cwd!r}); del _os")
        if moved.error is not None:
            await interpreter.close()
            raise ContextSetupFailed(f"cannot work in {cwd!r}: {moved.error.value}")

    async def restart_context(self, context_id: str) -> None:
        context = self.context(context_id)
        if context.language != "bash":
            await context.interpreter.restart()
            if context.cwd and not context.default:
                await context.interpreter.run_code(
                    f"import os as _os; _os.chdir({context.cwd!r}); del _os"
                )

    async def remove_context(self, context_id: str) -> None:
        context = self.context(context_id)
        if context.default:
            raise DefaultContextProtected(
                "the default context of a language cannot be removed; restart it instead"
            )
        del self._contexts[context_id]
        if context.interpreter is not self.session:
            await context.interpreter.close()

    async def run(
        self,
        context: CodeContext,
        code: str,
        *,
        env_vars: Mapping[str, str] | None,
        timeout: float | None,
        on_stdout: OutputHandler,
        on_stderr: OutputHandler,
        on_result: ResultHandler,
        on_error: ErrorHandler,
    ) -> Execution:
        """Run `code` in `context`; `env_vars` add to the sandbox's own for this one run."""
        if context.language == "bash" and context.cwd:
            code = f"cd -- {shlex.quote(context.cwd)} || exit 1\n{code}"
        return await context.interpreter.run_code(
            code,
            language=context.language,
            env_vars=env_vars,
            timeout=timeout,
            on_stdout=on_stdout,
            on_stderr=on_stderr,
            on_result=on_result,
            on_error=on_error,
        )

    # --- commands ------------------------------------------------------------------------

    def start_command(
        self,
        argv: list[str],
        *,
        cwd: str,
        env_vars: Mapping[str, str],
        tag: str | None,
        timeout: float | None,
    ) -> RunningCommand:
        """Start `argv`; `timeout` None: the sandbox's own time limit for commands."""
        if len(self._commands) >= MAX_COMMANDS:
            raise SandboxLimitReached(
                f"this sandbox already runs {MAX_COMMANDS} commands; wait for one or kill it"
            )
        command = RunningCommand(next(self._pids), argv, cwd, dict(env_vars), tag)
        self._commands[command.pid] = command
        command.task = asyncio.get_running_loop().create_task(
            self._run_command(command, timeout), name=f"e2b-command-{command.pid}"
        )
        return command

    async def _run_command(self, command: RunningCommand, timeout: float | None) -> None:
        queue = command.events

        def out(stream: Literal["stdout", "stderr"]) -> Callable[[str], Awaitable[None]]:
            async def put(text: str) -> None:
                queue.put_nowait(CommandOutput(stream, text))

            return put

        try:
            result = await self.session.run_command(
                shell_line(command.argv),
                cwd=command.cwd or None,
                env_vars=command.env_vars,
                timeout=timeout,
                on_stdout=out("stdout"),
                on_stderr=out("stderr"),
            )
        except asyncio.CancelledError:
            queue.put_nowait(CommandEnd(-1, False, "signal: killed"))
            raise
        except Exception as exc:  # the sandbox failed, not the command: say so on the stream
            logger.warning("command %s in sandbox %s failed: %s", command.pid, self.sandbox_id, exc)
            queue.put_nowait(CommandEnd(-1, False, "error", str(exc)))
        else:
            if result.exit_code is None:
                queue.put_nowait(CommandEnd(-1, False, "signal: killed", result.error))
            else:
                status = f"exit status {result.exit_code}"
                queue.put_nowait(CommandEnd(result.exit_code, True, status, result.error))
        finally:
            self._commands.pop(command.pid, None)

    def commands(self) -> list[RunningCommand]:
        return list(self._commands.values())

    def command(self, pid: int) -> RunningCommand:
        found = self._commands.get(pid)
        if found is None:
            raise ProcessNotFound(pid)
        return found

    def kill_command(self, pid: int) -> bool:
        return self.command(pid).kill()

    # --- the end ---------------------------------------------------------------------------

    async def close(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        for command in list(self._commands.values()):
            command.kill()
        for context in list(self._contexts.values()):
            if context.interpreter is not self.session:
                with contextlib.suppress(Exception):
                    await context.interpreter.close()
        self._contexts.clear()


def shell_line(argv: list[str]) -> str:
    """One shell command line for `argv`. `bash -c LINE` and `sh -c LINE` (how the SDKs send
    `commands.run(LINE)`) give LINE itself; anything else is quoted word by word."""
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in ("bash", "sh"):
        flags, line = argv[1:-1], argv[-1]
        if flags and flags[-1] == "-c" and all(flag.startswith("-") for flag in flags):
            return line
    return shlex.join(argv)
