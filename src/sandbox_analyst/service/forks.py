"""Forking a conversation with its sandbox state, to try another road from the same point.

The fork is a new conversation of the caller's, with the same assistant, titled
"<original> (fork)" unless given a title. It gets copies of the original's messages (the model
sees the same history), of its files (uploads and artifacts, each blob copied, so that deleting
either conversation leaves the other's files whole) and of its execution log. Then, at once,
a fresh sandbox is made for it and rebuilt the way a lost sandbox is (`ConversationSandboxes`:
files written back, successful cells replayed in order): the fork is ready to use when the
call returns, and the replay's outcome (cells replayed, any that failed, with their error) is
part of the answer rather than a surprise at the next turn. Where no sandbox can be had now
(the caps are reached, the backend is down), the fork is still made and says so: its sandbox
is rebuilt on its first turn, as any lost one is.

From then on the two are independent: each has its own sandbox, variables and files.

Copied messages keep no token usage and copied code runs no duration: the fork did not spend
them (the usage report counts each once, on the original).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from sandbox_analyst.sandbox import SandboxError, SessionSpec
from sandbox_analyst.service import access
from sandbox_analyst.service.assistants import AssistantService
from sandbox_analyst.service.chat.records import StoredConversation
from sandbox_analyst.service.errors import Conflict
from sandbox_analyst.service.file_links import content_path, file_links_in
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.quotas import QuotaService
from sandbox_analyst.service.sandboxes import ConversationSandboxes, ReplayFailure
from sandbox_analyst.service.text import check_name
from sandbox_analyst.store import (
    Assistant,
    BlobStore,
    Conversation,
    Database,
    Execution,
    FileRecord,
    Message,
    looks_like_id,
    new_id,
)

logger = logging.getLogger(__name__)

_FORK_SUFFIX = " (fork)"
_MAX_TITLE = 200


@dataclass(frozen=True)
class ReplayReport:
    """How the fork's sandbox was rebuilt. `status`: "replayed" (every cell ran; see
    `failures` for those that raised), "nothing" (no code had succeeded: there is no state to
    rebuild, the files are copied into its sandbox on its first turn), "deferred" (no sandbox
    could be had now, `error` says why: it is rebuilt on the fork's first turn)."""

    status: str
    cells_replayed: int = 0
    cells_failed: int = 0
    files: int = 0
    failures: tuple[ReplayFailure, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ForkResult:
    conversation: Conversation
    source_id: str
    messages: int
    files: int
    replay: ReplayReport
    file_ids: dict[str, str] = field(default_factory=dict)  # original file id -> the copy's


class ForkService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        sandboxes: ConversationSandboxes,
        assistants: AssistantService,
        quotas: QuotaService | None = None,
    ) -> None:
        """`quotas`: the copies count against the fork owner's storage quota."""
        self._db = db
        self._blobs = blobs
        self._sandboxes = sandboxes
        self._assistants = assistants
        self._quotas = quotas

    async def fork(
        self,
        principal: Principal,
        conversation_id: str,
        *,
        title: str | None = None,
        keep_owner: bool = False,
    ) -> ForkResult:
        """Fork the conversation (the caller's, or any for an admin) into a new one of the
        caller's (`keep_owner`: of the original's owner, for the operator's CLI, which is no
        user). Raises NotFound (no such conversation for the caller, or its assistant is not
        theirs to use), Conflict (a turn is running in it: fork it once the turn ends),
        ValidationError (a bad title)."""
        if title is not None and title.strip():
            title = check_name(title, field="title", max_length=_MAX_TITLE)
        else:
            title = None
        async with self._db.session() as session:
            original = access.ensure_owns_conversation(
                principal,
                await session.get(Conversation, conversation_id)
                if looks_like_id(conversation_id)
                else None,
            )
            assistant = None
            if original.assistant_id is not None:
                assistant = access.ensure_can_read_assistant(
                    principal, await session.get(Assistant, original.assistant_id)
                )
            messages = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == original.id)
                    .order_by(Message.seq)
                )
            )
            if any(message.status in ("streaming", "pending") for message in messages):
                raise Conflict(
                    "a turn is running in this conversation; fork it once the turn has ended"
                )
            records = list(
                await session.scalars(
                    select(FileRecord)
                    .where(FileRecord.conversation_id == original.id)
                    .order_by(FileRecord.created_at, FileRecord.id)
                )
            )
            runs = list(
                await session.scalars(
                    select(Execution)
                    .where(
                        Execution.conversation_id == original.id,
                        Execution.owner_id == original.owner_id,
                    )
                    .order_by(Execution.created_at)
                )
            )
        owner_id = original.owner_id if keep_owner else principal.user_id
        if self._quotas is not None:  # refused before anything is copied
            await self._quotas.check_storage(owner_id, sum(record.size for record in records))
        fork = Conversation(
            id=new_id(),
            owner_id=owner_id,
            assistant_id=original.assistant_id,
            title=title or _fork_title(original.title),
        )
        copies, file_ids = await self._copy_blobs(records, owner_id, fork.id)
        message_ids = {message.id: new_id() for message in messages}
        try:
            async with self._db.session() as session:
                session.add(fork)
                await session.flush()
                session.add_all(copies)
                session.add_all(
                    _copy_message(message, fork.id, message_ids[message.id], file_ids)
                    for message in messages
                )
                session.add_all(_copy_run(run, fork.id, owner_id, message_ids) for run in runs)
        except BaseException:
            for copy in copies:  # nothing half-made stays
                await self._blobs.delete(copy.storage_key)
            raise
        if any(run.status == "ok" for run in runs):
            # The session its turns would get: the assistant's template, egress, environment.
            replay = await self._replay(
                owner_id, fork.id, self._assistants.session_spec(assistant, owner_id)
            )
        else:  # no state to rebuild: the first turn copies the files in, as in any conversation
            replay = ReplayReport("nothing")
        return ForkResult(fork, original.id, len(messages), len(copies), replay, file_ids)

    async def _copy_blobs(
        self, records: list[FileRecord], owner_id: str, fork_id: str
    ) -> tuple[list[FileRecord], dict[str, str]]:
        copies: list[FileRecord] = []
        file_ids: dict[str, str] = {}
        try:
            for record in records:
                blob = await self._blobs.put(self._blobs.open(record.storage_key))
                copy = FileRecord(
                    id=new_id(),
                    owner_id=owner_id,
                    conversation_id=fork_id,
                    name=record.name,
                    size=blob.size,
                    sha256=blob.sha256,
                    media_type=record.media_type,
                    kind=record.kind,
                    storage_key=blob.key,
                    created_at=record.created_at,  # the order uploads are placed in
                )
                copies.append(copy)
                file_ids[record.id] = copy.id
        except BaseException:
            for copy in copies:
                await self._blobs.delete(copy.storage_key)
            raise
        return copies, file_ids

    async def _replay(self, owner_id: str, fork_id: str, spec: SessionSpec) -> ReplayReport:
        """A sandbox for the fork now, rebuilt from the copies: files, then cells."""
        try:
            sandbox = await self._sandboxes.acquire(owner_id, fork_id, spec)
        except SandboxError as exc:
            logger.warning("no sandbox for a fork now (rebuilt on its first turn): %s", exc)
            return ReplayReport("deferred", error=str(exc))
        try:
            prepared = await self._sandboxes.prepare(
                owner_id,
                fork_id,
                sandbox,
                StoredConversation(self._db, self._blobs, owner_id, fork_id),
            )
        except SandboxError as exc:
            # The next turn finds the state unknown and rebuilds it from the records.
            await self._sandboxes.close(fork_id)
            logger.warning("rebuilding a fork's sandbox failed (retried on its first turn)")
            return ReplayReport("deferred", error=str(exc))
        finally:
            self._sandboxes.finish(fork_id, sandbox)
        restored = prepared.restoration
        if restored is None:  # not reached: there were cells to replay
            return ReplayReport("nothing", files=len(prepared.files))
        return ReplayReport(
            "replayed",
            cells_replayed=restored.cells_replayed,
            cells_failed=restored.cells_failed,
            files=restored.files,
            failures=restored.failures,
        )


def _fork_title(title: str) -> str:
    base = title.strip() or "Conversation"
    return base[: _MAX_TITLE - len(_FORK_SUFFIX)] + _FORK_SUFFIX


def _copy_message(
    message: Message, fork_id: str, message_id: str, file_ids: dict[str, str]
) -> Message:
    return Message(
        id=message_id,
        conversation_id=fork_id,
        seq=message.seq,
        role=message.role,
        content=_relinked(message.content, file_ids),
        tool_calls=message.tool_calls,
        tool_results=[_relinked_result(entry, file_ids) for entry in message.tool_results],
        artifact_ids=[file_ids.get(i, i) for i in message.artifact_ids],
        usage=None,  # the tokens were spent by the original's turn
        status=message.status,
        error=message.error,
        agent=message.agent,
        stop_reason=message.stop_reason,
        created_at=message.created_at,
        updated_at=message.updated_at,
    )


def _copy_run(
    run: Execution, fork_id: str, owner_id: str, message_ids: dict[str, str]
) -> Execution:
    return Execution(
        conversation_id=fork_id,
        owner_id=owner_id,
        message_id=message_ids.get(run.message_id) if run.message_id else None,
        code=run.code,
        status=run.status,
        duration_s=None,  # not run again in the fork's name: replays are not billed
        peak_memory_bytes=run.peak_memory_bytes,
        stdout=run.stdout,
        stderr=run.stderr,
        error=run.error,
        truncated=run.truncated,
        created_at=run.created_at,  # the replay order
    )


def _relinked_result(entry: dict[str, Any], file_ids: dict[str, str]) -> dict[str, Any]:
    """A tool result whose artifacts, and the links the model saw, are the copies."""
    copied = dict(entry)
    if entry.get("artifact_ids"):
        copied["artifact_ids"] = [file_ids.get(i, i) for i in entry["artifact_ids"]]
    if isinstance(entry.get("observation"), str):
        copied["observation"] = _relinked(entry["observation"], file_ids)
    return copied


def _relinked(text: str, file_ids: dict[str, str]) -> str:
    """`text` with its links to the original's files pointing at the copies (unsigned: a
    signature names the file it was made for)."""
    parts: list[str] = []
    last = 0
    for link in file_links_in(text):
        copy = file_ids.get(link.file_id)
        if copy is None:
            continue
        found = text[link.start : link.end]
        prefix = found[: found.index(content_path(link.file_id))]
        parts += [text[last : link.start], prefix + content_path(copy)]
        last = link.end
    return "".join(parts) + text[last:]
