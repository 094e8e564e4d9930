"""One sandbox per (user, conversation), kept alive across turns and rebuilt when lost.

A conversation's sandbox can disappear between two turns: reaped when idle, its worker killed
or crashed, the server restarted. Before each turn the chat service asks for it here; when it
had to be replaced (or its worker was), the state is rebuilt the way it was made: the
conversation's files are written back into the workdir (uploads, and the artifacts its code
wrote), then its successful code cells are replayed in order. Uploads attached since the last
turn are copied in before every turn.

The pool (and so the zygote, seconds of imports) starts on first need or on `start()`, always
from the event loop, never at import.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox import LocalSandbox, SandboxPool, SessionManager

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


@dataclass(frozen=True)
class PlacedFile:
    """An upload as the code sees it in the workdir."""

    path: str
    size: int
    media_type: str


@dataclass(frozen=True)
class Restoration:
    """How a lost sandbox was rebuilt."""

    reason: Literal["new_sandbox", "worker_lost"]
    files: int
    cells_replayed: int
    cells_failed: int


@dataclass
class PreparedSandbox:
    sandbox: LocalSandbox
    files: list[PlacedFile]
    restoration: Restoration | None


@dataclass
class _Known:
    """What we know of a conversation's live sandbox since its last turn."""

    owner_id: str
    sandbox: LocalSandbox
    generation: int
    placed: dict[str, str] = field(default_factory=dict)  # upload file id -> workdir path


class ConversationSandboxes:
    """Implements `SandboxCloser`: deleting a conversation ends its sandbox."""

    def __init__(self, settings: SandboxSettings, root: Path) -> None:
        self.settings = settings
        self.pool = SandboxPool(settings, root)
        self.manager = SessionManager(
            self.pool, max_sessions=settings.max_sessions, idle_timeout=settings.idle_timeout
        )
        self._starting: asyncio.Task[None] | None = None
        self._known: dict[str, _Known] = {}  # by conversation id

    async def start(self) -> None:
        """Start the pool (idempotent; concurrent callers share one start)."""
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        # Shielded: a caller that goes away must not leave the pool half-started.
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        await self.pool.start()
        self.manager.start()

    async def shutdown(self) -> None:
        if self._starting is None:
            return
        try:
            await self._starting
        except Exception:
            logger.exception("the sandbox pool had failed to start")
        await self.manager.shutdown()
        self._known.clear()

    def get(self, conversation_id: str) -> LocalSandbox | None:
        """The conversation's live sandbox, if it has one."""
        known = self._known.get(conversation_id)
        if known is None or known.sandbox.closed:
            return None
        return known.sandbox

    async def acquire(self, owner_id: str, conversation_id: str) -> LocalSandbox:
        """The conversation's sandbox: the live one, or a new one from the pool. Raises
        `TooManySessionsError` when the session limit is reached."""
        await self.start()
        sandbox, _created = await self.manager.get_or_create((owner_id, conversation_id))
        return sandbox

    async def prepare(
        self,
        owner_id: str,
        conversation_id: str,
        sandbox: LocalSandbox,
        records: ConversationRecords,
    ) -> PreparedSandbox:
        """Make `sandbox` ready for a turn: rebuild what was lost, copy in new uploads."""
        known = self._known.get(conversation_id)
        uploads = await records.uploads()
        restoration: Restoration | None = None
        if known is None or known.sandbox is not sandbox:
            known = _Known(owner_id, sandbox, sandbox.generation)
            self._known[conversation_id] = known
            restoration = await self._rebuild(known, uploads, records)
        else:
            await sandbox.run_code(_PROBE, timeout=self.settings.timeout)
            if sandbox.generation != known.generation:  # files survive a worker restart
                restoration = await self._replay(known, records, "worker_lost", files=0)
        await self._place_uploads(known, uploads)
        files = [
            PlacedFile(known.placed[upload.file_id], upload.size, upload.media_type)
            for upload in uploads
        ]
        known.generation = sandbox.generation
        return PreparedSandbox(sandbox, files, restoration)

    def finish(self, conversation_id: str, sandbox: LocalSandbox) -> None:
        """Remember the state the turn left behind (a worker lost during the turn was
        already reported to the model; only a loss after this point calls for a replay)."""
        known = self._known.get(conversation_id)
        if known is not None and known.sandbox is sandbox:
            known.generation = sandbox.generation

    async def close(self, conversation_id: str) -> None:
        known = self._known.pop(conversation_id, None)
        if known is not None:
            await self.manager.close((known.owner_id, conversation_id))

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
        failed = 0
        for code in cells:
            execution = await known.sandbox.run_code(code, timeout=self.settings.timeout)
            if execution.error is not None:
                failed += 1
                logger.warning(
                    "a replayed cell failed while rebuilding a sandbox: %s: %s",
                    execution.error.name,
                    execution.error.value,
                )
        return Restoration(reason, files, len(cells) - failed, failed)

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


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext`... when another upload already has it."""
    if name not in taken:
        return name
    stem, extension = posixpath.splitext(name)
    number = 2
    while f"{stem} ({number}){extension}" in taken:
        number += 1
    return f"{stem} ({number}){extension}"
