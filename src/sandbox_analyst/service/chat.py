"""Chat turns: one user message in, the agent runs against the conversation's sandbox, every
step is stored as it happens and streamed out as events.

    turn = await chat.start_turn(principal, conversation_id, "Plot sales by month")
    async for event in turn:        # MessageStartEvent, TokenEvent, ..., MessageEndEvent
        ...
    message = await turn.wait()     # the stored assistant message

A turn runs as a task of its own, not in the request: a client that goes away (or
`cancel()`) cancels it, which interrupts the running code, and the turn is still stored, as
`cancelled`. One turn at a time per conversation: a second one gets `Conflict` (409) while
the first runs, rather than waiting behind it (a chat client shows one answer at a time;
queued turns would run against a state the user has not seen yet). Different conversations
run in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from sandbox_analyst.agent import (
    Agent,
    AgentConfig,
    DataFile,
    ErrorEvent,
    FinalEvent,
    last_figure_number,
)
from sandbox_analyst.agent.packages import PackageRequester
from sandbox_analyst.config import ConfigError, Settings
from sandbox_analyst.llm import LLM, ChatMessage, LLMError, create_llm, resolve_endpoint
from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.sandbox.templates import DEFAULT_TEMPLATE
from sandbox_analyst.service.artifact_sink import FileArtifactSink
from sandbox_analyst.service.assistants import AssistantService
from sandbox_analyst.service.chat_events import (
    ChatEvent,
    MessageEndEvent,
    MessageStartEvent,
    SandboxRestoredEvent,
)
from sandbox_analyst.service.chat_history import history_from_messages
from sandbox_analyst.service.conversation_records import StoredConversation
from sandbox_analyst.service.conversations import ConversationService, MessageStatus
from sandbox_analyst.service.errors import Conflict, NotFound, StorageFull, ValidationError
from sandbox_analyst.service.files import FileService
from sandbox_analyst.service.packages import PackageAsk, PackageService, package_requester
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.sandboxes import ConversationSandboxes
from sandbox_analyst.service.turn_recorder import TurnRecorder
from sandbox_analyst.store import (
    Assistant,
    BlobStore,
    Database,
    FileRecord,
    Message,
    StorageFullError,
)

logger = logging.getLogger(__name__)

# How the agent's final status is stored on the message.
_MESSAGE_STATUS: dict[str, MessageStatus] = {
    "complete": "complete",
    "max_iterations": "complete",  # an answer, saying what it could not finish
    "timeout": "failed",
    "failed": "failed",
}


@dataclass(frozen=True)
class TurnOutcome:
    message: Message
    artifacts: list[FileRecord]


class ChatTurn:
    """A running turn: iterate it for its events (once), `cancel()` it, `wait()` for it."""

    def __init__(self, conversation_id: str, user_message: Message, message: Message) -> None:
        self.conversation_id = conversation_id
        self.user_message = user_message
        self.message_id = message.id
        self._events: asyncio.Queue[ChatEvent | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.cancel_reason = "cancelled"

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def emit(self, event: ChatEvent | None) -> None:
        self._events.put_nowait(event)

    async def next_event(self, timeout: float | None = None) -> ChatEvent | None:
        """The next event; None once the turn is over. Raises TimeoutError after `timeout`."""
        if timeout is None:
            return await self._events.get()
        return await asyncio.wait_for(self._events.get(), timeout)

    async def __aiter__(self) -> AsyncIterator[ChatEvent]:
        while (event := await self.next_event()) is not None:
            yield event

    def cancel(self, reason: str = "cancelled") -> bool:
        """Stop the turn (and the code it runs); False if it was already over."""
        if self._task is None or self._task.done():
            return False
        self.cancel_reason = reason
        return self._task.cancel()

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)


class ChatService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        blobs: BlobStore,
        *,
        assistants: AssistantService,
        conversations: ConversationService,
        files: FileService,
        sandboxes: ConversationSandboxes,
        runner_id: str | None = None,
        packages: PackageService | None = None,
    ) -> None:
        """`runner_id`: this process in `server_processes`, recorded on each turn it runs;
        `packages`: approved installs (without it, no assistant gets install_package)."""
        self.settings = settings
        self._runner_id = runner_id
        self._packages = packages
        self._db = db
        self._blobs = blobs
        self._assistants = assistants
        self._conversations = conversations
        self._files = files
        self.sandboxes = sandboxes
        # A conversation's running turn; None while it is being set up.
        self._running: dict[str, ChatTurn | None] = {}
        self._llms: dict[tuple[str, str | None, str], LLM] = {}

    async def start_turn(
        self,
        principal: Principal,
        conversation_id: str,
        content: str,
        *,
        file_ids: Sequence[str] = (),
    ) -> ChatTurn:
        """Check access, store the user message and start the turn. Raises NotFound (no such
        conversation for this caller, or its assistant is not theirs to use), Conflict (a turn
        is already running here) and `TooManySessionsError` (no sandbox to be had)."""
        if not content.strip():
            raise ValidationError("content must not be empty", field="content")
        detail = await self._conversations.get(principal, conversation_id)
        conversation = detail.conversation
        assistant = await self._assistant(principal, conversation.assistant_id)
        if conversation.id in self._running:
            raise Conflict(
                "a turn is already running in this conversation; wait for it to end or "
                f"cancel it with POST /api/conversations/{conversation.id}/cancel"
            )
        history = history_from_messages(detail.messages)
        # Claimed before the first await below, so two requests cannot both start a turn.
        self._running[conversation.id] = None
        try:
            for file_id in file_ids:
                await self._files.attach(principal, file_id, conversation.id)
            llm, llm_error = self._llm(assistant)
            sandbox = None
            if llm is not None:
                sandbox = await self.sandboxes.acquire(
                    conversation.owner_id, conversation.id, template=assistant.template
                )
            user_message = await self._conversations.append_message(
                conversation.id, "user", content
            )
            message = await self._conversations.append_message(
                conversation.id, "assistant", status="streaming", runner_id=self._runner_id
            )
        except BaseException:
            self._running.pop(conversation.id, None)
            raise
        turn = ChatTurn(conversation.id, user_message, message)
        self._running[conversation.id] = turn
        run = _TurnRun(
            self,
            turn,
            owner_id=conversation.owner_id,
            llm=llm,
            llm_error=llm_error,
            sandbox=sandbox,
            config=self._agent_config(assistant),
            packages=(
                package_requester(
                    self._packages,
                    PackageAsk(conversation.owner_id, conversation.id, assistant),
                    sandbox,
                )
                if self._packages is not None and sandbox is not None
                else None
            ),
            history=history,
            content=content,
        )
        turn._task = asyncio.get_running_loop().create_task(run.run())
        return turn

    async def cancel(self, principal: Principal, conversation_id: str) -> bool:
        """Cancel the conversation's running turn; False when none runs."""
        await self._conversations.get(principal, conversation_id)
        turn = self._running.get(conversation_id)
        return turn is not None and turn.cancel("cancelled by the user")

    async def outcome(self, turn: ChatTurn) -> TurnOutcome:
        """The stored assistant message of a finished turn, with its artifacts."""
        await turn.wait()
        async with self._db.session() as session:
            message = await session.get(Message, turn.message_id)
            if message is None:
                raise NotFound("message not found")
            records = await session.scalars(
                select(FileRecord).where(FileRecord.id.in_(message.artifact_ids))
            )
            by_id = {record.id: record for record in records}
        artifacts = [by_id[i] for i in message.artifact_ids if i in by_id]
        return TurnOutcome(message, artifacts)

    async def shutdown(self) -> None:
        """Cancel running turns and wait until they are stored; close the model clients."""
        turns = [turn for turn in self._running.values() if turn is not None]
        for turn in turns:
            turn.cancel("the server is shutting down")
        for turn in turns:
            await turn.wait()
        for llm in self._llms.values():
            await llm.aclose()
        self._llms.clear()

    def _finished(self, turn: ChatTurn) -> None:
        if self._running.get(turn.conversation_id) is turn:
            del self._running[turn.conversation_id]

    async def _assistant(self, principal: Principal, assistant_id: str | None) -> Assistant:
        if assistant_id is None:
            raise NotFound("this conversation's assistant was deleted", field="assistant_id")
        return await self._assistants.get(principal, assistant_id)

    def _llm(self, assistant: Assistant) -> tuple[LLM | None, str | None]:
        """The assistant's model client (cached per endpoint), or why there is none."""
        provider = assistant.provider or self.settings.llm.provider
        try:
            endpoint = resolve_endpoint(self.settings.llm, provider)
            key = (provider, assistant.model, endpoint.model_dump_json())
            if key not in self._llms:
                self._llms[key] = create_llm(self.settings, provider, assistant.model)
            return self._llms[key], None
        except LLMError as exc:
            return None, str(exc)
        except ConfigError as exc:
            model = assistant.model or "(default model)"
            return None, f"{provider} model '{model}': {exc}"

    def _agent_config(self, assistant: Assistant) -> AgentConfig:
        agent = self.settings.agent
        return AgentConfig(
            instructions=assistant.instructions,
            allowed_libraries=list(assistant.libraries),
            template=assistant.template or DEFAULT_TEMPLATE,
            allow_installs=assistant.allow_installs,
            max_iterations=assistant.max_iterations or agent.max_iterations,
            turn_timeout=agent.turn_timeout,
            code_timeout=assistant.timeout_s or self.settings.sandbox.timeout,
            observation_limit=agent.observation_limit,
            max_artifact_bytes=agent.max_artifact_bytes,
            max_artifacts_per_call=agent.max_artifacts_per_call,
            max_figures_per_call=agent.max_figures_per_call,
            max_call_artifact_bytes=agent.max_call_artifact_bytes,
            max_conversation_artifacts=agent.max_conversation_artifacts,
            max_conversation_artifact_bytes=agent.max_conversation_artifact_bytes,
        )


class _TurnRun:
    """The body of one turn's task."""

    def __init__(
        self,
        service: ChatService,
        turn: ChatTurn,
        *,
        owner_id: str,
        llm: LLM | None,
        llm_error: str | None,
        sandbox: Sandbox | None,
        config: AgentConfig,
        history: list[ChatMessage],
        content: str,
        packages: PackageRequester | None = None,
    ) -> None:
        self.service = service
        self.packages = packages
        self.turn = turn
        self.owner_id = owner_id
        self.llm = llm
        self.llm_error = llm_error
        self.sandbox = sandbox
        self.config = config
        self.history = history
        self.content = content
        self.recorder = TurnRecorder(
            service._conversations,
            owner_id=owner_id,
            conversation_id=turn.conversation_id,
            message_id=turn.message_id,
        )

    async def run(self) -> None:
        turn, recorder = self.turn, self.recorder
        started = time.monotonic()
        final: FinalEvent | None = None
        status: MessageStatus = "failed"
        agent_status = "failed"
        try:
            turn.emit(
                MessageStartEvent(turn.conversation_id, turn.user_message.id, turn.message_id)
            )
            final = await self._converse()
            if final is not None:
                agent_status = final.status
                status = _MESSAGE_STATUS.get(final.status, "failed")
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            status = agent_status = "cancelled"
            recorder.error = turn.cancel_reason
        except (StorageFull, StorageFullError) as exc:
            logger.error("chat turn %s: %s", turn.message_id, exc)
            recorder.error = str(exc)
            turn.emit(ErrorEvent(recorder.error, StorageFull.code))
        except Exception as exc:
            logger.exception("chat turn %s failed", turn.message_id)
            recorder.error = f"internal error: {type(exc).__name__}: {exc}"
            turn.emit(ErrorEvent(recorder.error, "internal_error"))
        duration = time.monotonic() - started
        usage = dict(final.usage) if final is not None else {}
        try:
            await recorder.finish(
                status,
                content=final.content if final is not None else None,
                usage=usage,
                duration=duration,
                turn=final.messages if final is not None else [],
            )
        except Exception:
            logger.exception("could not store the end of chat turn %s", turn.message_id)
        finally:
            if self.sandbox is not None:
                self.service.sandboxes.finish(turn.conversation_id, self.sandbox)
            self.service._finished(turn)
            turn.emit(
                MessageEndEvent(
                    message_id=turn.message_id,
                    status=status,
                    agent_status=agent_status,
                    usage=usage,
                    duration=round(duration, 4),
                    error=recorder.error,
                    artifact_ids=list(recorder.artifact_ids),
                )
            )
            turn.emit(None)

    async def _converse(self) -> FinalEvent | None:
        turn, recorder, service = self.turn, self.recorder, self.service
        if self.llm is None or self.sandbox is None:
            error = ErrorEvent(self.llm_error or "no model available", "llm_error")
            await recorder.record(error)
            turn.emit(error)
            return None
        records = StoredConversation(
            service._db, service._blobs, self.owner_id, turn.conversation_id
        )
        prepared = await service.sandboxes.prepare(
            self.owner_id, turn.conversation_id, self.sandbox, records
        )
        recorder.sandbox = self.sandbox
        if prepared.restoration is not None:
            restored = prepared.restoration
            turn.emit(
                SandboxRestoredEvent(
                    restored.reason, restored.files, restored.cells_replayed, restored.cells_failed
                )
            )
        not_saved: list[str] = []  # artifacts the storage could not take, for the user
        sink = FileArtifactSink(
            service._files,
            owner_id=self.owner_id,
            conversation_id=turn.conversation_id,
            public_url=service.settings.server.public_url,
            on_not_saved=not_saved.append,
        )
        files = [DataFile(f.path, f.size, f.media_type) for f in prepared.files]
        earlier = await service._files.artifact_names(self.owner_id, turn.conversation_id)
        saved = await service._files.artifact_usage(self.owner_id, turn.conversation_id)
        agent = Agent(
            self.llm,
            self.sandbox,
            sink,
            self.config,
            figures_before=last_figure_number(earlier),
            artifacts_before=saved,
            packages=self.packages,
        )
        final: FinalEvent | None = None
        async for event in agent.run(self.history, self.content, files):
            if isinstance(event, FinalEvent):
                final = event
                continue
            await recorder.record(event)  # stored before it is shown
            turn.emit(event)
            while not_saved:
                notice = ErrorEvent(not_saved.pop(0), StorageFull.code)
                await recorder.record(notice)
                turn.emit(notice)
        return final
