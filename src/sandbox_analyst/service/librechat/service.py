"""`LibreChatService`: LibreChat's Code API on our sandboxes (the wire is `api.librechat`).

One execution: the input files (refs to files of the caller's sessions) are written into the
sandbox's working directory, which the code also sees as `/mnt/data`; the code runs; every
file it created or changed there comes back as a new file of the execution's session, which
LibreChat downloads (`/download/<session>/<file>`). As LibreChat's tool tells its model, a
failed execution returns no files.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import shlex
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sandbox_analyst.config import LibreChatSettings
from sandbox_analyst.sandbox import (
    Execution,
    LanguageUnavailableError,
    SandboxError,
    SandboxErrorName,
    SessionManager,
)
from sandbox_analyst.service.errors import NotFound, ValidationError
from sandbox_analyst.service.librechat.errors import ProfileMismatch, UnsupportedLanguage
from sandbox_analyst.service.librechat.files import LibreChatFiles, StoredFile, file_path
from sandbox_analyst.service.librechat.identity import LibreChatCaller
from sandbox_analyst.service.librechat.runtimes import PlacedFile, Runtime, Runtimes
from sandbox_analyst.store import BlobStore, Database, utcnow

logger = logging.getLogger(__name__)

Profile = Literal["default", "stateful"]
# LibreChat's own names (`py`, `bash`, `r`; its tool offers more, which run nowhere here), and
# `sql`: DuckDB over the session's files.
_LANGUAGES = {
    "py": "python",
    "python": "python",
    "python3": "python",
    "bash": "bash",
    "sh": "bash",
    "sql": "sql",
    "r": "r",
}
SWEEP_INTERVAL_S = 3600.0
MAX_INPUT_FILES = 100
MAX_ARGS = 100
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp")
_WALK_LIMIT = 5000  # entries of the working directory looked at for new files


@dataclass(frozen=True)
class InputRef:
    """A file the caller wants in the working directory: (session, id) of one of theirs, and
    the name it should have there (default: its stored name)."""

    session_id: str
    file_id: str
    name: str | None = None


@dataclass(frozen=True)
class ExecRequest:
    lang: str
    code: str
    args: list[str] = field(default_factory=list)
    files: list[InputRef] = field(default_factory=list)
    session_id: str | None = None
    runtime_hint: str | None = None
    profile: str | None = None  # the client's `X-CodeAPI-Expected-Profile`


@dataclass(frozen=True)
class ExecOutcome:
    session_id: str
    stdout: str
    stderr: str
    files: list[StoredFile]
    runtime_id: str | None = None
    runtime_status: Literal["new", "reused"] | None = None


class LibreChatService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        sessions: SessionManager,
        settings: LibreChatSettings,
        *,
        max_file_bytes: int,
    ) -> None:
        self.settings = settings
        self.files = LibreChatFiles(db, blobs, max_file_bytes=max_file_bytes)
        keep_s = min(float(settings.stateful_keep_s), sessions.idle_timeout)
        self.runtimes = Runtimes(sessions, keep_s=keep_s)
        self._sweeping: asyncio.Task[int] | None = None
        self._last_sweep = -SWEEP_INTERVAL_S

    async def execute(self, caller: LibreChatCaller, request: ExecRequest) -> ExecOutcome:
        language = _LANGUAGES.get(request.lang.strip().lower())
        if language is None:
            raise UnsupportedLanguage(
                f"lang {request.lang!r} is not run here: use py (Python), bash, sql (DuckDB) or r",
                field="lang",
            )
        profile = choose_profile(request.profile, self.settings)
        if len(request.files) > MAX_INPUT_FILES or len(request.args) > MAX_ARGS:
            raise ValidationError(
                f"at most {MAX_INPUT_FILES} files and {MAX_ARGS} args per execution"
            )
        inputs = await self._inputs(caller, request.files)
        self.sweep_if_due()
        session_id = request.session_id
        if session_id is not None:
            await self.files.check_session(caller, session_id)
        if profile == "stateful" and not (request.runtime_hint or session_id):
            # Nothing to key the state by yet: the session id this call makes, which
            # LibreChat sends back with the next call.
            session_id = await self.files.new_session(caller)
        async with self._runtime(caller, profile, request.runtime_hint or session_id) as runtime:
            session_id = session_id or runtime.session_id
            if session_id is None:
                session_id = await self.files.new_session(caller)
            runtime.session_id = session_id
            await self._place(runtime, inputs)
            before = await _snapshot(runtime)
            execution = await self._run(runtime, language, request)
            outputs: list[StoredFile] = []
            notes: list[str] = []
            if execution.error is None:
                await _keep_figures(runtime, execution, before)
                outputs, notes = await self._collect(runtime, session_id, before)
        return ExecOutcome(
            session_id=session_id,
            stdout=_stdout(execution),
            stderr=_stderr(execution) + "".join(f"note: {note}\n" for note in notes),
            files=outputs,
            runtime_id=runtime.runtime_id if profile == "stateful" else None,
            runtime_status=("reused" if runtime.reused else "new")
            if profile == "stateful"
            else None,
        )

    async def sweep(self) -> int:
        """Delete the files older than `librechat.file_retention_hours`; how many went."""
        hours = self.settings.file_retention_hours
        if hours == 0:
            return 0
        return await self.files.sweep(utcnow() - timedelta(hours=hours))

    def sweep_if_due(self) -> None:
        """Start a sweep in the background at most once per `SWEEP_INTERVAL_S` (called as
        new files come in: a server that gets none has nothing new to forget)."""
        now = time.monotonic()
        if self._sweeping is not None or now - self._last_sweep < SWEEP_INTERVAL_S:
            return
        self._last_sweep = now
        self._sweeping = asyncio.get_running_loop().create_task(self.sweep())
        self._sweeping.add_done_callback(self._swept)

    def _swept(self, task: asyncio.Task[int]) -> None:
        self._sweeping = None
        if not task.cancelled() and task.exception() is not None:
            logger.error("removing old LibreChat files failed", exc_info=task.exception())

    async def shutdown(self) -> None:
        if self._sweeping is not None:
            await asyncio.gather(self._sweeping, return_exceptions=True)
        await self.runtimes.shutdown()

    def _runtime(
        self, caller: LibreChatCaller, profile: Profile, name: str | None
    ) -> contextlib.AbstractAsyncContextManager[Runtime]:
        if profile == "default" or name is None:
            return self.runtimes.fresh(caller.owner)
        return self.runtimes.kept(caller.owner, name)

    async def _inputs(
        self, caller: LibreChatCaller, refs: list[InputRef]
    ) -> list[tuple[str, StoredFile]]:
        placed: list[tuple[str, StoredFile]] = []
        for ref in refs:
            try:
                stored = await self.files.get(caller, ref.session_id, ref.file_id)
            except NotFound:
                raise ValidationError(
                    f"no file {ref.session_id}/{ref.file_id} (of this caller): upload it again",
                    field="files",
                ) from None
            placed.append((file_path(ref.name or stored.name), stored))
        return placed

    async def _place(self, runtime: Runtime, inputs: list[tuple[str, StoredFile]]) -> None:
        files = runtime.sandbox.files
        present = await _snapshot(runtime) if runtime.placed else {}
        for path, stored in inputs:
            known = runtime.placed.get(path)
            if (
                known is not None
                and known.file_id == stored.id
                and present.get(path) == (known.size, known.modified)
            ):
                continue  # a kept sandbox holds it as it was stored: no need to write it again
            if "/" in path:
                await files.make_dir(path.rsplit("/", 1)[0])
            entry = await files.write(path, self.files.open(stored))
            runtime.placed[path] = PlacedFile(stored.id, entry.size, entry.modified.timestamp())

    async def _run(self, runtime: Runtime, language: str, request: ExecRequest) -> Execution:
        sandbox = runtime.sandbox
        if language not in sandbox.languages:
            available = LanguageUnavailableError(language, sandbox.languages, sandbox.backend)
            raise UnsupportedLanguage(str(available), field="lang")
        code = request.code
        if language == "bash" and request.args:
            code = f"set -- {shlex.join(request.args)}\n{code}"
        elif language == "python":
            # Like `python main.py ARGS`: a script sees its arguments in sys.argv.
            argv = ["main.py", *request.args]
            await sandbox.run_code(f"import sys as _s; _s.argv = {argv!r}; del _s")
        return await sandbox.run_code(code, language=language)  # type: ignore[arg-type]

    async def _collect(
        self, runtime: Runtime, session_id: str, before: dict[str, tuple[int, float]]
    ) -> tuple[list[StoredFile], list[str]]:
        """The files the code created or changed, stored; and notes on those left out."""
        after = await _snapshot(runtime)
        changed = sorted(path for path, seen in after.items() if before.get(path) != seen)
        limit = self.settings.max_output_files
        notes = []
        if len(changed) > limit:
            notes.append(
                f"{len(changed) - limit} more new files were not returned "
                f"(at most {limit} per execution)"
            )
        outputs = []
        for path in changed[:limit]:
            size, modified = after[path]
            if size > self.files.max_file_bytes:
                notes.append(f"{path} was not returned: over the file size limit")
                continue
            try:
                stored = await self.files.store(
                    session_id, path, runtime.sandbox.files.read(path), origin="output"
                )
            except SandboxError as exc:  # a link, a fifo, a file gone meanwhile...
                notes.append(f"{path} was not returned: {exc}")
                continue
            runtime.placed[path] = PlacedFile(stored.id, size, modified)
            outputs.append(stored)
        return outputs, notes


def choose_profile(asked: str | None, settings: LibreChatSettings) -> Profile:
    """The profile a call runs in: the one the client expects, or the configured default."""
    name = (asked or settings.default_profile).strip().lower()
    if name not in ("default", "stateful"):
        raise ProfileMismatch(f"unknown execution profile {asked!r}: default or stateful")
    if name == "stateful" and settings.stateful_keep_s == 0:
        raise ProfileMismatch(
            "this server keeps no state between calls (librechat.stateful_keep_s is 0)"
        )
    return name  # type: ignore[return-value]


async def _keep_figures(
    runtime: Runtime, execution: Execution, before: dict[str, tuple[int, float]]
) -> None:
    """Figures the code showed (`plt.show()`, a plot as the last expression) rather than saved:
    written into the working directory as `figure-N.png`, so they come back like saved ones
    (LibreChat shows image files; it has no other channel for a displayed figure). Not when
    the call saved an image itself: our interpreter also shows every figure still open at the
    end, so a `savefig` would otherwise come back twice."""
    images = [
        (result.png, "png") if result.png else (result.jpeg, "jpg")
        for result in execution.results
        if result.png or result.jpeg
    ]
    if not images:
        return
    after = await _snapshot(runtime)
    saved = [
        path
        for path, seen in after.items()
        if before.get(path) != seen and path.lower().endswith(_IMAGE_EXTENSIONS)
    ]
    if saved:
        return
    taken = set(after)
    number = 0
    for data, extension in images:
        name = ""
        while not name or name in taken:
            number += 1
            name = f"figure-{number}.{extension}"
        taken.add(name)
        await runtime.sandbox.files.write(name, base64.b64decode(data or ""))


async def _snapshot(runtime: Runtime) -> dict[str, tuple[int, float]]:
    """Files of the working directory (not hidden ones, nor caches) with size and mtime."""
    listing = await runtime.sandbox.files.walk(".", max_entries=_WALK_LIMIT)
    return {
        entry.path: (entry.size, entry.modified.timestamp())
        for entry in listing.entries
        if not entry.is_dir
        and not any(part.startswith(".") or part == "__pycache__" for part in entry.path.split("/"))
    }


def _stdout(execution: Execution) -> str:
    text = "".join(execution.logs.stdout)
    value = execution.text
    if value:  # the last expression's value, as a REPL prints it
        text += value if value.endswith("\n") else value + "\n"
    return text


def _stderr(execution: Execution) -> str:
    text = "".join(execution.logs.stderr)
    error = execution.error
    if error is None or error.name == SandboxErrorName.COMMAND_EXIT:
        return text
    detail = error.traceback or f"{error.name}: {error.value}"
    return text + (detail if detail.endswith("\n") else detail + "\n")
