"""Conversations, their messages, and the execution log.

The REST API uses the principal-taking methods (create, list, get, rename, delete). The chat
service, after checking access with `get` and claiming the turn (`turn_claims`, which stores
its first two messages), writes it as it streams with `update_message` / `append_execution`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sandbox_analyst.service import access
from sandbox_analyst.service.errors import Conflict, NotFound, ValidationError
from sandbox_analyst.service.principal import Principal
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
    utcnow,
)

logger = logging.getLogger(__name__)

MessageRole = Literal["system", "user", "assistant", "tool"]
# "interrupted": the process running the turn ended before the turn did (see runners.py).
MessageStatus = Literal["pending", "streaming", "complete", "failed", "cancelled", "interrupted"]
MESSAGE_STATUSES: frozenset[str] = frozenset(MessageStatus.__args__)  # type: ignore[attr-defined]
MESSAGE_ROLES: frozenset[str] = frozenset(MessageRole.__args__)  # type: ignore[attr-defined]
_UNSET: Any = object()


class SandboxCloser(Protocol):
    """Ends the sandbox of a conversation (wired in by the app; absent in pure storage use)."""

    async def close(self, conversation_id: str) -> None: ...


@dataclass(frozen=True)
class _Draft:
    """A message to append."""

    role: MessageRole
    content: str = ""
    status: MessageStatus = "complete"
    tool_calls: list[dict[str, Any]] | None = None
    tool_results: list[dict[str, Any]] | None = None
    artifact_ids: list[str] | None = None
    usage: dict[str, Any] | None = None
    runner_id: str | None = None  # the server process running the turn this message streams


@dataclass(frozen=True)
class ConversationDetail:
    conversation: Conversation
    messages: list[Message]


class ConversationService:
    def __init__(
        self, db: Database, blobs: BlobStore, sandboxes: SandboxCloser | None = None
    ) -> None:
        self._db = db
        self._blobs = blobs
        self.sandboxes = sandboxes

    async def create(
        self,
        principal: Principal,
        assistant_id: str,
        *,
        title: str = "",
        external_key: str | None = None,
    ) -> Conversation:
        title = check_name(title, field="title") if title.strip() else ""
        async with self._db.session() as session:
            assistant = (
                await session.get(Assistant, assistant_id) if looks_like_id(assistant_id) else None
            )
            try:
                access.ensure_can_read_assistant(principal, assistant)
            except NotFound as exc:
                exc.field = "assistant_id"
                raise
            conversation = Conversation(
                owner_id=principal.user_id,
                assistant_id=assistant_id,
                title=title,
                external_key=external_key,
            )
            session.add(conversation)
        return conversation

    async def find_external_key(
        self, principal: Principal, external_key: str
    ) -> Conversation | None:
        """The caller's conversation that another front end knows as `external_key`."""
        async with self._db.session() as session:
            return await session.scalar(
                select(Conversation).where(
                    Conversation.owner_id == principal.user_id,
                    Conversation.external_key == external_key,
                )
            )

    async def for_external_key(
        self,
        principal: Principal,
        assistant_id: str,
        external_key: str,
        *,
        title: str = "",
        start_new: bool = False,
    ) -> Conversation:
        """The caller's conversation that another front end knows as `external_key`, created
        with `assistant_id` the first time the key is seen. `start_new`: the key moves to a
        new conversation (the old one stays, without the key)."""
        if not 0 < len(external_key) <= 255:
            raise ValidationError("the conversation key must be 1 to 255 characters")
        statement = select(Conversation).where(
            Conversation.owner_id == principal.user_id,
            Conversation.external_key == external_key,
        )
        for _attempt in range(3):
            async with self._db.session() as session:
                existing = await session.scalar(statement)
                if existing is not None and not start_new:
                    return existing
                if existing is not None:
                    existing.external_key = None
            try:
                return await self.create(
                    principal, assistant_id, title=title, external_key=external_key
                )
            except IntegrityError:
                start_new = False  # another request created it first: use that one
        raise Conflict("could not create the conversation: too many concurrent requests")

    async def list(
        self,
        principal: Principal,
        *,
        assistant_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Conversation]:
        statement = select(Conversation).where(access.owned_by(principal, Conversation))
        if assistant_id is not None:
            statement = statement.where(Conversation.assistant_id == assistant_id)
        statement = statement.order_by(Conversation.updated_at.desc(), Conversation.id)
        async with self._db.session() as session:
            return list(await session.scalars(statement.limit(limit).offset(offset)))

    async def get(self, principal: Principal, conversation_id: str) -> ConversationDetail:
        async with self._db.session() as session:
            conversation = access.ensure_owns_conversation(
                principal, await _load(session, conversation_id)
            )
            messages = await session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.seq)
            )
            return ConversationDetail(conversation, list(messages))

    async def rename(self, principal: Principal, conversation_id: str, title: str) -> Conversation:
        title = check_name(title, field="title")
        async with self._db.session() as session:
            conversation = access.ensure_owns_conversation(
                principal, await _load(session, conversation_id)
            )
            conversation.title = title
        return conversation

    async def delete(self, principal: Principal, conversation_id: str) -> None:
        """Delete the conversation with its messages and files, and end its sandbox."""
        async with self._db.session() as session:
            conversation = access.ensure_owns_conversation(
                principal, await _load(session, conversation_id)
            )
            files = list(
                await session.scalars(
                    select(FileRecord).where(FileRecord.conversation_id == conversation.id)
                )
            )
            await session.execute(
                delete(FileRecord).where(FileRecord.conversation_id == conversation.id)
            )
            await session.delete(conversation)
        # Blobs go after the commit: a crash in between leaves an unreferenced blob, never
        # a file row whose content is missing.
        for record in files:
            await self._blobs.delete(record.storage_key)
        if self.sandboxes is not None:
            try:
                await self.sandboxes.close(conversation.id)
            except Exception:
                logger.exception("could not close the sandbox of conversation %s", conversation.id)

    # The chat service's write path: trusted callers that have checked access with `get`.

    async def append_message(
        self,
        conversation_id: str,
        role: MessageRole,
        content: str = "",
        *,
        status: MessageStatus = "complete",
        tool_calls: list[dict[str, Any]] | None = None,
        tool_results: list[dict[str, Any]] | None = None,
        artifact_ids: list[str] | None = None,
        usage: dict[str, Any] | None = None,
        runner_id: str | None = None,
    ) -> Message:
        """`runner_id`: the server process running the turn this message streams."""
        draft = _Draft(
            role, content, status, tool_calls, tool_results, artifact_ids, usage, runner_id
        )
        (message,) = await self._append(conversation_id, [draft])
        return message

    async def _append(self, conversation_id: str, drafts: list[_Draft]) -> list[Message]:
        for draft in drafts:
            _check_choice(draft.role, MESSAGE_ROLES, "role")
            _check_choice(draft.status, MESSAGE_STATUSES, "status")
        for _attempt in range(5):
            try:
                async with self._db.session() as session:
                    # Locking the conversation row makes appends to one conversation
                    # queue on PostgreSQL (SQLite transactions already take the write lock).
                    conversation = await _load(session, conversation_id, for_update=True)
                    if conversation is None:
                        raise NotFound("conversation not found")
                    last = await session.scalar(
                        select(func.max(Message.seq)).where(
                            Message.conversation_id == conversation_id
                        )
                    )
                    messages = [
                        Message(
                            conversation_id=conversation_id,
                            seq=(last or 0) + 1 + position,
                            role=draft.role,
                            content=draft.content,
                            status=draft.status,
                            tool_calls=draft.tool_calls or [],
                            tool_results=draft.tool_results or [],
                            artifact_ids=draft.artifact_ids or [],
                            usage=draft.usage,
                            runner_id=draft.runner_id,
                        )
                        for position, draft in enumerate(drafts)
                    ]
                    session.add_all(messages)
                    conversation.updated_at = utcnow()
                return messages
            except IntegrityError:
                continue  # another writer took this sequence number; take the next one
        raise Conflict("could not append the message: too many concurrent writers")

    async def update_message(
        self,
        message_id: str,
        *,
        content: str | None = None,
        append_content: str | None = None,
        status: MessageStatus | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        tool_results: list[dict[str, Any]] | None = None,
        artifact_ids: list[str] | None = None,
        usage: dict[str, Any] | None = _UNSET,
        error: str | None = _UNSET,
        execution: Execution | None = None,
        agent: str | None = None,
        stop_reason: str | None = None,
    ) -> None:
        """Change a message as its turn streams: replace or extend its text, set its status,
        tool calls/results, artifacts, usage or error, the role that answered (`agent`) and
        why the turn stopped. `execution`: a new entry of the
        execution log, written in the same transaction (a step's result and its log entry are
        stored together, in one write).

        One UPDATE, without reading the message first: a turn writes its message at every
        step, and loading the row back (its text and every result so far) each time would
        make a step cost more the longer the turn."""
        if status is not None:
            _check_choice(status, MESSAGE_STATUSES, "status")
        if not looks_like_id(message_id):
            raise NotFound("message not found")
        values: dict[str, Any] = {"updated_at": utcnow()}
        if content is not None:
            values["content"] = content
        if append_content:
            base = Message.content if content is None else content
            values["content"] = base + append_content
        for name, value in (
            ("status", status),
            ("tool_calls", tool_calls),
            ("tool_results", tool_results),
            ("artifact_ids", artifact_ids),
            ("agent", agent),
            ("stop_reason", stop_reason),
        ):
            if value is not None:
                values[name] = value
        if usage is not _UNSET:
            values["usage"] = usage
        if error is not _UNSET:
            values["error"] = error
        statement = update(Message).where(Message.id == message_id).values(values)
        async with self._db.session() as session:
            result = await session.execute(
                statement, execution_options={"synchronize_session": False}
            )
            if result.rowcount == 0:
                raise NotFound("message not found")
            if execution is not None:
                session.add(execution)

    async def append_execution(
        self,
        conversation_id: str,
        owner_id: str,
        *,
        code: str,
        status: str,
        duration_s: float | None = None,
        peak_memory_bytes: int | None = None,
        cpu_seconds: float | None = None,
        stdout: str = "",
        stderr: str = "",
        error: dict[str, Any] | None = None,
        truncated: bool = False,
        message_id: str | None = None,
    ) -> Execution:
        """Record one piece of code that ran (outputs already truncated by the caller)."""
        record = execution_entry(
            conversation_id,
            owner_id,
            code=code,
            status=status,
            duration_s=duration_s,
            peak_memory_bytes=peak_memory_bytes,
            cpu_seconds=cpu_seconds,
            stdout=stdout,
            stderr=stderr,
            error=error,
            truncated=truncated,
            message_id=message_id,
        )
        async with self._db.session() as session:
            session.add(record)
        return record

    async def list_executions(self, principal: Principal, conversation_id: str) -> list[Execution]:
        statement = select(Execution).where(Execution.conversation_id == conversation_id)
        if not principal.is_admin:
            statement = statement.where(Execution.owner_id == principal.user_id)
        async with self._db.session() as session:
            return list(await session.scalars(statement.order_by(Execution.created_at)))


def execution_entry(
    conversation_id: str,
    owner_id: str,
    *,
    code: str,
    status: str,
    duration_s: float | None = None,
    peak_memory_bytes: int | None = None,
    cpu_seconds: float | None = None,
    stdout: str = "",
    stderr: str = "",
    error: dict[str, Any] | None = None,
    truncated: bool = False,
    message_id: str | None = None,
) -> Execution:
    """A new entry of the execution log, not yet stored (`append_execution` stores one;
    `update_message(execution=...)` stores one with a change of its message)."""
    return Execution(
        conversation_id=conversation_id,
        owner_id=owner_id,
        message_id=message_id,
        code=code,
        status=status,
        duration_s=duration_s,
        peak_memory_bytes=peak_memory_bytes,
        cpu_seconds=cpu_seconds,
        stdout=stdout,
        stderr=stderr,
        error=error,
        truncated=truncated,
    )


def _check_choice(value: str, choices: frozenset[str], field: str) -> None:
    if value not in choices:
        raise ValidationError(f"{field} must be one of {sorted(choices)}", field=field)


async def _load(
    session: AsyncSession, conversation_id: str, *, for_update: bool = False
) -> Conversation | None:
    if not looks_like_id(conversation_id):
        return None
    return await session.get(Conversation, conversation_id, with_for_update=for_update)
