"""`ChatService`: starts chat turns (one user message in, the agent runs against the
conversation's sandbox, every step stored as it happens and streamed out as events).

    turn = await chat.start_turn(principal, conversation_id, "Plot sales by month")
    async for event in turn:        # MessageStartEvent, TokenEvent, ..., MessageEndEvent
        ...
    outcome = await chat.outcome(turn)   # the stored assistant message and its artifacts

One turn at a time per conversation: a second one gets `Conflict` (409) while the first runs,
rather than waiting behind it (a chat client shows one answer at a time; queued turns would run
against a state the user has not seen yet), whichever server process (replica) runs the first:
the turn is claimed in the database, and cancelled through it from any replica
(turn_claims.py). Different conversations run in parallel. The turn
itself is a `ChatTurn` (turn.py) running a `TurnRunner` (runner.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence

from sqlalchemy import select

from sandbox_analyst.agent import AgentConfig, Allowance, Usage
from sandbox_analyst.agent.tools import (
    ToolRegistry,
    analyst_tools,
    builtin_tools,
    with_databases,
    with_installs,
    with_mcp_tools,
)
from sandbox_analyst.config import ConfigError, Settings
from sandbox_analyst.llm import LLM, LLMError, open_llm, resolve_endpoint
from sandbox_analyst.sandbox import Sandbox, TooManyUserSessionsError
from sandbox_analyst.sandbox.templates import DEFAULT_TEMPLATE
from sandbox_analyst.service.assistants import AssistantService
from sandbox_analyst.service.chat.artifacts import FileArtifactSink
from sandbox_analyst.service.chat.history import history_from_messages
from sandbox_analyst.service.chat.recorder import TurnRecorder
from sandbox_analyst.service.chat.records import StoredConversation
from sandbox_analyst.service.chat.runner import TurnRequest, TurnRunner
from sandbox_analyst.service.chat.turn import ChatTurn, TurnOutcome
from sandbox_analyst.service.connections import ConnectionService
from sandbox_analyst.service.conversations import ConversationService
from sandbox_analyst.service.errors import (
    NotFound,
    OnAnotherReplica,
    QuotaExceeded,
    ValidationError,
)
from sandbox_analyst.service.files import FileService
from sandbox_analyst.service.mcp_servers import McpServerService
from sandbox_analyst.service.packages import PackageAsk, PackageService, package_requester
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.quotas import SESSIONS, QuotaService
from sandbox_analyst.service.runners import TurnRunners
from sandbox_analyst.service.sandboxes import ConversationSandboxes
from sandbox_analyst.service.team_config import team_of
from sandbox_analyst.service.turn_claims import CANCEL_POLL_S, TurnAlreadyRunning, TurnClaims
from sandbox_analyst.store import (
    Assistant,
    BlobStore,
    Conversation,
    Database,
    FileRecord,
    Message,
)

logger = logging.getLogger(__name__)


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
        replicas: TurnRunners | None = None,
        connections: ConnectionService | None = None,
        mcp_servers: McpServerService | None = None,
        quotas: QuotaService | None = None,
    ) -> None:
        """`runner_id`: this process in `server_processes`, recorded on each turn it runs;
        `packages`: approved installs (without it, no assistant gets install_package);
        `replicas`: tells whether another live replica holds a conversation's sandbox;
        `connections`: the databases its turns may query (without it, none); `mcp_servers`:
        the MCP tools its turns may call (without it, none); `quotas`: the
        owners' quotas a turn must keep to (without it, none)."""
        self._connections = connections
        self._mcp_servers = mcp_servers
        self._quotas = quotas
        self.settings = settings
        self._runner_id = runner_id
        self._packages = packages
        self._replicas = replicas
        self._db = db
        self._blobs = blobs
        self._assistants = assistants
        self._conversations = conversations
        self._files = files
        self.sandboxes = sandboxes
        # A conversation's running turn; None while it is being set up.
        self._running: dict[str, ChatTurn | None] = {}
        self._claims = TurnClaims(db)
        self._cancel_watch: asyncio.Task[None] | None = None  # while turns run here
        self._llms: dict[tuple[str, str | None, str], LLM] = {}
        self._making_llm = asyncio.Lock()  # one client per endpoint, however many turns ask

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
        is already running here), `QuotaExceeded` (the owner's daily quota is used up, or
        their own limit of live sessions reached: nothing is stored) and
        `TooManySessionsError` (no sandbox to be had)."""
        if not content.strip():
            raise ValidationError("content must not be empty", field="content")
        async with self._db.reads_together():  # one transaction for the set-up's reads
            detail = await self._conversations.get(principal, conversation_id)
            conversation = detail.conversation
            assistant = await self._assistant(principal, conversation.assistant_id)
            streaming = any(message.status == "streaming" for message in detail.messages)
            if conversation.id in self._running or streaming:  # here, or on another replica
                raise TurnAlreadyRunning(conversation.id)
            limits = None
            if self._quotas is not None:
                limits = await self._quotas.check_turn(conversation.owner_id)
        if conversation.id in self._running:  # started while the set-up was read
            raise TurnAlreadyRunning(conversation.id)
        history = history_from_messages(detail.messages)
        # Claimed before the first await below, so two requests cannot both start a turn here.
        self._running[conversation.id] = None
        sandbox = None
        # Made meanwhile: the first client imports its SDK (in a thread) while this waits for
        # the database and the sandbox.
        llm_ready = asyncio.ensure_future(self._llm(assistant))
        try:
            await self._check_pinned(conversation)
            for file_id in file_ids:
                await self._files.attach(principal, file_id, conversation.id)
            sandbox = await self._sandbox_for_turn(llm_ready, conversation, assistant)
            llm, llm_error = llm_ready.result()
            tools = await self._tools(assistant, conversation.owner_id, conversation.id, sandbox)
            # The claim every replica respects (the check above only spares a sandbox).
            user_message, message = await self._claims.claim(
                conversation.id, content, runner_id=self._runner_id
            )
        except BaseException:
            llm_ready.cancel()  # nothing, once it is done
            if sandbox is not None:  # held for a turn that never started
                self.sandboxes.finish(conversation.id, sandbox)
            self._running.pop(conversation.id, None)
            raise
        request = TurnRequest(
            owner_id=conversation.owner_id,
            conversation_id=conversation.id,
            user_message_id=user_message.id,
            message_id=message.id,
            content=content,
            history=history,
            config=self._agent_config(assistant),
            team=team_of(assistant),
            tools=tools,
            allowance=self._allowance(conversation.owner_id, limits),
        )
        not_saved: list[str] = []  # artifacts the storage could not take, for the user
        runner = TurnRunner(
            request,
            llm=llm,
            llm_error=llm_error,
            sandbox=sandbox,
            sandboxes=self.sandboxes,
            records=StoredConversation(
                self._db, self._blobs, conversation.owner_id, conversation.id
            ),
            artifacts=FileArtifactSink(
                self._files,
                owner_id=conversation.owner_id,
                conversation_id=conversation.id,
                public_url=self.settings.server.public_url,
                on_not_saved=not_saved.append,
            ),
            not_saved=not_saved,
            recorder=TurnRecorder(
                self._conversations,
                owner_id=conversation.owner_id,
                conversation_id=conversation.id,
                message_id=message.id,
            ),
            on_finished=lambda: self._finished(conversation.id),
        )
        turn = ChatTurn.start(conversation.id, user_message, message, runner.run)
        self._running[conversation.id] = turn
        if self._cancel_watch is None or self._cancel_watch.done():
            self._cancel_watch = asyncio.get_running_loop().create_task(self._watch_cancels())
        return turn

    async def cancel(self, principal: Principal, conversation_id: str) -> bool:
        """Cancel the conversation's running turn, on this replica or another one; False when
        none runs."""
        await self._conversations.get(principal, conversation_id)
        turn = self._running.get(conversation_id)
        if turn is not None:
            return turn.cancel("cancelled by the user")
        return await self._claims.request_cancel(conversation_id)

    async def wait_for_turn(self, conversation_id: str, *, timeout_s: float) -> None:
        """Until the turn running in the conversation here ends, or `timeout_s` passed,
        whichever comes first; for a chat front end whose next request came before the answer
        ended. A turn still being set up, or running on another replica, is not watched: this
        returns after a poll interval and the caller tries again. The caller has checked that
        the conversation is the principal's."""
        turn = self._running.get(conversation_id)
        if turn is None:
            await asyncio.sleep(min(timeout_s, CANCEL_POLL_S))
            return
        with contextlib.suppress(TimeoutError):
            # Waiting is cancelled at the timeout, never the turn (see `ChatTurn.wait`).
            async with asyncio.timeout(timeout_s):
                await turn.wait()

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

    @property
    def running_turns(self) -> int:
        """Turns this process is running (or starting) now."""
        return len(self._running)

    async def shutdown(self) -> None:
        """Cancel running turns and wait until they are stored; close the model clients."""
        turns = [turn for turn in self._running.values() if turn is not None]
        for turn in turns:
            turn.cancel("the server is shutting down")
        for turn in turns:
            await turn.wait()
        if self._cancel_watch is not None:
            self._cancel_watch.cancel()
            await asyncio.gather(self._cancel_watch, return_exceptions=True)
        for llm in self._llms.values():
            await llm.aclose()
        self._llms.clear()

    async def _check_pinned(self, conversation: Conversation) -> None:
        """With the local backend a sandbox lives in the process that made it: a conversation
        whose sandbox another live replica holds is refused here (`OnAnotherReplica`), not
        rebuilt beside it. A sandbox of a replica that is gone is rebuilt here as usual."""
        if self._replicas is None or self.settings.sandbox.backend != "local":
            return
        if self.sandboxes.get(conversation.id) is not None:
            return
        owner = await self._replicas.live_elsewhere(conversation.sandbox_runner_id)
        if owner is not None:
            raise OnAnotherReplica(owner.url or f"process {owner.pid} on {owner.hostname}")

    async def _sandbox_for_turn(
        self,
        llm_ready: asyncio.Future[tuple[LLM | None, str | None]],
        conversation: Conversation,
        assistant: Assistant,
    ) -> Sandbox | None:
        """The turn's sandbox, got while its model client is made (`llm_ready`); None when
        there is no model to run: the turn then only says why, whatever the sandbox did."""
        try:
            sandbox = await self._acquire(conversation, assistant)
        except Exception:
            llm, _ = await llm_ready
            if llm is None:
                return None
            raise
        try:
            llm, _ = await llm_ready
        except BaseException:
            self.sandboxes.finish(conversation.id, sandbox)
            raise
        if llm is None:
            self.sandboxes.finish(conversation.id, sandbox)
            return None
        return sandbox

    async def _acquire(self, conversation: Conversation, assistant: Assistant) -> Sandbox:
        """The conversation's sandbox, made as its assistant's sessions are. Its owner's own
        limit of live sessions (the session manager asks the quotas) reached is their quota:
        `QuotaExceeded`."""
        spec = self._assistants.session_spec(assistant, conversation.owner_id)
        try:
            return await self.sandboxes.acquire(conversation.owner_id, conversation.id, spec)
        except TooManyUserSessionsError as exc:
            if not exc.own:  # the server's default per user, as it always was
                raise
            raise QuotaExceeded(
                SESSIONS,
                limit=exc.limit,
                used=self.sandboxes.sessions.count(conversation.owner_id),
                resets_at=None,
                frees_when="end a session (or one of your conversations finishes its turn)",
            ) from exc

    def _allowance(
        self, owner_id: str, limits: Mapping[str, float | None] | None
    ) -> Allowance | None:
        """Asked by the agent after each model call and code run: the owner's quota that ran
        out (tokens or code seconds today), if one did. `limits`: the owner's, read as the
        turn started."""
        quotas = self._quotas
        if quotas is None:
            return None

        async def allowance(usage: Usage) -> str | None:
            exceeded = await quotas.check_running_turn(owner_id, usage.total, limits=limits)
            return None if exceeded is None else exceeded.message

        return allowance

    def _finished(self, conversation_id: str) -> None:
        self._running.pop(conversation_id, None)

    async def _watch_cancels(self) -> None:
        """Cancel this replica's turns that another replica was asked to cancel."""
        while self._running:
            await asyncio.sleep(CANCEL_POLL_S)
            turns = {turn.message_id: turn for turn in self._running.values() if turn}
            try:
                asked = await self._claims.cancel_requested(turns)
            except Exception:
                # The database may be away for a moment; the next poll asks again.
                logger.exception("could not look for cancel requests")
                continue
            for message_id in asked:
                turns[message_id].cancel("cancelled by the user")

    async def _assistant(self, principal: Principal, assistant_id: str | None) -> Assistant:
        if assistant_id is None:
            raise NotFound("this conversation's assistant was deleted", field="assistant_id")
        return await self._assistants.get(principal, assistant_id)

    async def _llm(self, assistant: Assistant) -> tuple[LLM | None, str | None]:
        """The assistant's model client (cached per endpoint), or why there is none."""
        provider = assistant.provider or self.settings.llm.provider
        try:
            endpoint = resolve_endpoint(self.settings.llm, provider)
            key = (provider, assistant.model, endpoint.model_dump_json())
            async with self._making_llm:
                if key not in self._llms:
                    self._llms[key] = await open_llm(self.settings, provider, assistant.model)
            return self._llms[key], None
        except LLMError as exc:
            return None, str(exc)
        except ConfigError as exc:
            model = assistant.model or "(default model)"
            return None, f"{provider} model '{model}': {exc}"

    async def _tools(
        self, assistant: Assistant, owner_id: str, conversation_id: str, sandbox: Sandbox | None
    ) -> ToolRegistry | None:
        """The mode's tools (None: its defaults), plus install_package when the assistant
        allows installs, the database tools when it may query any connection, and the MCP
        tools it is allowed."""
        if sandbox is None:
            return None
        languages = sandbox.languages
        tools = analyst_tools(languages) if assistant.mode == "team" else builtin_tools(languages)
        changed = False
        if self._packages is not None:
            ask = PackageAsk(owner_id, conversation_id, assistant)
            requester = package_requester(self._packages, ask, sandbox)
            if requester is not None:
                tools, changed = with_installs(tools, requester), True
        if self._connections is not None:
            databases = await self._connections.for_turn(
                owner_id, conversation_id, assistant.connections
            )
            if databases.connections():
                tools, changed = with_databases(tools, databases), True
        if self._mcp_servers is not None and assistant.mcp_tools:
            mcp = await self._mcp_servers.for_turn(
                owner_id, assistant.id, conversation_id, list(assistant.mcp_tools)
            )
            if mcp.tools():
                tools, changed = with_mcp_tools(tools, mcp), True
        return tools if changed else None

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
