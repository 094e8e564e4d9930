"""One sandbox per (user, conversation), kept alive across turns and rebuilt when lost.

A conversation's sandbox can disappear between two turns: reaped when idle, its worker killed
or crashed, the server restarted. Before each turn the chat service asks for it here; when it
had to be replaced (or its worker was), the state is rebuilt the way it was made: the
conversation's files are written back into the workdir (uploads, and the artifacts its code
wrote), then its successful code cells are replayed in order. Uploads attached since the last
turn are copied in before every turn.

Sessions come from a `SessionManager` (any backend; caps and idle reaping live there) under the
key (owner, conversation). A turn holds its session from `acquire` to `finish`. The session's
id is stored with the conversation (`SandboxIds`): a process that does not know the
conversation's session yet reconnects to it first, and only rebuilds when it is gone (with the
local backend, a session never outlives its process, so a stored id leads to a new session).

The backend (local: the zygote, seconds of imports) starts on first need or on `start()`,
always from the event loop, never at import.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sandbox_analyst.sandbox import (
    LanguageUnavailableError,
    Sandbox,
    SessionKey,
    SessionManager,
    SessionSpec,
    split_cell,
)
from sandbox_analyst.telemetry import SessionRestored, emit
from sandbox_analyst.telemetry.context import executions_for

logger = logging.getLogger(__name__)

# A trivial cell that tells whether the worker survived since the last turn: a lost worker is
# only noticed (and replaced, bumping `generation`) when something runs.
_PROBE = "pass"


@dataclass(frozen=True)
class StoredFile:
    """A file of the conversation kept in the blob store."""

    file_id: str
    name: str  # the sanitised display name
    size: int
    media_type: str
    open: Callable[[], AsyncIterator[bytes]]


class ConversationRecords(Protocol):
    """What a rebuild needs from storage (the chat service provides it)."""

    async def uploads(self) -> list[StoredFile]:
        """Files uploaded to the conversation, oldest first."""
        ...

    async def artifacts(self) -> list[StoredFile]:
        """Files the conversation's code produced, oldest first."""
        ...

    async def successful_cells(self) -> list[str]:
        """Code of the executions that succeeded, in the order they ran."""
        ...


class SandboxIds(Protocol):
    """Where a conversation's sandbox id is kept (the conversations table)."""

    async def load(self, conversation_id: str) -> str | None: ...

    async def save(self, conversation_id: str, sandbox_id: str) -> None: ...


@dataclass(frozen=True)
class PlacedFile:
    """An upload as the code sees it in the workdir."""

    path: str
    size: int
    media_type: str


@dataclass(frozen=True)
class ReplayFailure:
    """A cell that failed when replayed: its place among the replayed cells (1-based), its
    code and its error."""

    cell: int
    code: str
    name: str
    value: str


@dataclass(frozen=True)
class Restoration:
    """How a lost sandbox was rebuilt."""

    reason: Literal["new_sandbox", "worker_lost"]
    files: int
    cells_replayed: int
    cells_failed: int
    failures: tuple[ReplayFailure, ...] = ()


@dataclass
class PreparedSandbox:
    sandbox: Sandbox
    files: list[PlacedFile]
    restoration: Restoration | None


@dataclass
class _Known:
    """What we know of a conversation's live sandbox since its last turn."""

    owner_id: str
    sandbox: Sandbox
    generation: int
    placed: dict[str, str] = field(default_factory=dict)  # upload file id -> workdir path


class ConversationSandboxes:
    """Implements `SandboxCloser`: deleting a conversation ends its sandbox."""

    def __init__(
        self,
        sessions: SessionManager,
        *,
        code_timeout: float,
        ids: SandboxIds | None = None,
        owns_sessions: bool = True,
    ) -> None:
        """`code_timeout` bounds each replayed cell; `owns_sessions=False` when `sessions` is
        shared with others (tests, benchmarks): `shutdown` then ends only this one's sessions
        and leaves the manager and its backend running."""
        self.sessions = sessions
        self.code_timeout = code_timeout
        self._ids = ids
        self._owns_sessions = owns_sessions
        self._known: dict[str, _Known] = {}  # by conversation id
        self._keys: dict[str, SessionKey] = {}  # conversation id -> its session's key
        self._held: dict[str, SessionKey] = {}  # conversations whose turn holds the sandbox
        self._reconnected: set[str] = set()  # reached by a stored id: state intact

    async def start(self) -> None:
        """Start the backend (idempotent; concurrent callers share one start)."""
        await self.sessions.start()

    async def shutdown(self) -> None:
        if self._owns_sessions:
            await self.sessions.shutdown()
        else:
            for key in set(self._keys.values()):
                await self.sessions.end(key)
        self._known.clear()
        self._keys.clear()
        self._held.clear()

    def get(self, conversation_id: str) -> Sandbox | None:
        """The conversation's live sandbox, if it has one."""
        known = self._known.get(conversation_id)
        if known is None or known.sandbox.closed:
            return None
        return known.sandbox

    async def acquire(
        self, owner_id: str, conversation_id: str, spec: SessionSpec | None = None
    ) -> Sandbox:
        """The conversation's sandbox: the live one, the stored one if it still lives, or a
        new one made of `spec` (its assistant's template, egress and environment; None: the
        defaults); held until `finish`. A live session keeps what it was made with. Raises
        `TooManySessionsError` (or its per-user kind) when no session can be had,
        `TemplateNotFoundError` / `TemplateNotBuiltError` when the template cannot be
        started."""
        key = SessionKey(owner_id, conversation_id)
        known_id = None
        if self.sessions.get(key) is None and self._ids is not None:
            known_id = await self._ids.load(conversation_id)
        sandbox, created = await self.sessions.acquire(
            key, spec or SessionSpec(), known_id=known_id, hold=True
        )
        self._keys[conversation_id] = key
        self._held[conversation_id] = key
        try:
            if created and self._ids is not None:
                await self._ids.save(conversation_id, sandbox.sandbox_id)
        except BaseException:
            self._release(conversation_id)
            raise
        if known_id is not None and not created:
            self._reconnected.add(conversation_id)
        return sandbox

    async def prepare(
        self,
        owner_id: str,
        conversation_id: str,
        sandbox: Sandbox,
        records: ConversationRecords,
    ) -> PreparedSandbox:
        """Make `sandbox` ready for a turn: rebuild what was lost, copy in new uploads."""
        known = self._known.get(conversation_id)
        restoration: Restoration | None = None
        if known is None or known.sandbox is not sandbox:
            uploads = await records.uploads()
            known = _Known(owner_id, sandbox, sandbox.generation)
            self._known[conversation_id] = known
            if conversation_id in self._reconnected:
                self._reconnected.discard(conversation_id)
                await self._adopt(known, uploads)
            else:
                restoration = await self._rebuild(known, uploads, records)
        else:
            uploads = await _while_probing(sandbox, records.uploads(), self.code_timeout)
            if sandbox.generation != known.generation:  # files survive a worker restart
                restoration = await self._replay(known, records, "worker_lost", files=0)
        await self._place_uploads(known, uploads)
        files = [
            PlacedFile(known.placed[upload.file_id], upload.size, upload.media_type)
            for upload in uploads
        ]
        known.generation = sandbox.generation
        if restoration is not None:
            emit(
                SessionRestored(
                    restoration.reason, restoration.cells_replayed, restoration.cells_failed
                )
            )
        return PreparedSandbox(sandbox, files, restoration)

    def finish(self, conversation_id: str, sandbox: Sandbox) -> None:
        """The turn is over: release the sandbox and remember the state the turn left behind
        (a worker lost during the turn was already reported to the model; only a loss after
        this point calls for a replay)."""
        self._release(conversation_id)
        known = self._known.get(conversation_id)
        if known is not None and known.sandbox is sandbox:
            known.generation = sandbox.generation

    async def close(self, conversation_id: str) -> None:
        self._known.pop(conversation_id, None)
        self._held.pop(conversation_id, None)
        self._reconnected.discard(conversation_id)
        key = self._keys.pop(conversation_id, None)
        if key is not None:
            await self.sessions.end(key)

    def _release(self, conversation_id: str) -> None:
        key = self._held.pop(conversation_id, None)
        if key is not None:
            self.sessions.release(key)

    async def _adopt(self, known: _Known, uploads: list[StoredFile]) -> None:
        """A live session reached by its stored id: its files and variables are there.
        Uploads already in the workdir are recognised by the names they were given (the
        same names, given in the same order); the others are written by `_place_uploads`."""
        taken: set[str] = set()
        for upload in uploads:
            path = _free_name(upload.name, taken)
            taken.add(path)
            if await known.sandbox.files.exists(path):
                known.placed[upload.file_id] = path

    async def _rebuild(
        self, known: _Known, uploads: list[StoredFile], records: ConversationRecords
    ) -> Restoration | None:
        """A new sandbox for a conversation that may have had one: files, then cells."""
        artifacts = await records.artifacts()
        cells = await records.successful_cells()
        if not artifacts and not cells:
            return None  # no code ever ran here: nothing to rebuild
        files = await self._place_uploads(known, uploads)
        files += await self._place_artifacts(known, artifacts)
        return await self._replay(known, records, "new_sandbox", files=files, cells=cells)

    async def _replay(
        self,
        known: _Known,
        records: ConversationRecords,
        reason: Literal["new_sandbox", "worker_lost"],
        *,
        files: int,
        cells: list[str] | None = None,
    ) -> Restoration:
        """Run the conversation's successful cells again, in order, outputs discarded."""
        if cells is None:
            cells = await records.successful_cells()
        failures: list[ReplayFailure] = []
        for position, code in enumerate(cells, start=1):
            language, source = split_cell(code)
            try:
                with executions_for("replay"):
                    execution = await known.sandbox.run_code(
                        source, language=language, timeout=self.code_timeout
                    )
            except LanguageUnavailableError as exc:  # e.g. R no longer installed
                failures.append(ReplayFailure(position, code, type(exc).__name__, str(exc)))
                logger.warning("a replayed cell could not run: %s", exc)
                continue
            if execution.error is not None:
                error = execution.error
                failures.append(ReplayFailure(position, code, error.name, error.value))
                # The error's name only: its message may quote the user's data.
                logger.warning("a replayed cell failed while rebuilding a sandbox: %s", error.name)
        failed = len(failures)
        return Restoration(reason, files, len(cells) - failed, failed, tuple(failures))

    async def _place_uploads(self, known: _Known, uploads: list[StoredFile]) -> int:
        """Write uploads not yet in the workdir under free, sanitised names."""
        taken = set(known.placed.values())
        written = 0
        for upload in uploads:
            if upload.file_id in known.placed:
                continue
            path = _free_name(upload.name, taken)
            await known.sandbox.files.write(path, upload.open())
            known.placed[upload.file_id] = path
            taken.add(path)
            written += 1
        return written

    async def _place_artifacts(self, known: _Known, artifacts: list[StoredFile]) -> int:
        """Write files the code had produced; uploads keep their names, and a newer artifact
        of the same name replaces an older one (the state the code last left)."""
        uploads = set(known.placed.values())
        latest = {artifact.name: artifact for artifact in artifacts if artifact.name not in uploads}
        for name, artifact in latest.items():
            await known.sandbox.files.write(name, artifact.open())
        return len(latest)


async def _while_probing(
    sandbox: Sandbox, work: Awaitable[list[StoredFile]], timeout: float
) -> list[StoredFile]:
    """`work`'s result, with the probe run meanwhile: their round trips overlap."""
    with executions_for("probe"):  # the task takes the context as it is now
        probe = asyncio.ensure_future(sandbox.run_code(_PROBE, timeout=timeout))
    try:
        result = await work
    except BaseException:
        probe.cancel()
        raise
    await probe
    return result


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext`... when another upload already has it."""
    if name not in taken:
        return name
    stem, extension = posixpath.splitext(name)
    number = 2
    while f"{stem} ({number}){extension}" in taken:
        number += 1
    return f"{stem} ({number}){extension}"
