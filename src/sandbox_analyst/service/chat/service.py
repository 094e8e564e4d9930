"""`ChatService`: starts chat turns (one user message in, the agent runs against the
conversation's sandbox, every step stored as it happens and streamed out as events).

    turn = await chat.start_turn(principal, conversation_id, "Plot sales by month")
    async for event in turn:        # MessageStartEvent, TokenEvent, ..., MessageEndEvent
        ...
    outcome = await chat.outcome(turn)   # the stored assistant message and its artifacts

One turn at a time per conversation: a second one gets `Conflict` (409) while the first runs,
rather than waiting behind it (a chat client shows one answer at a time; queued turns would run
against a state the user has not seen yet). Different conversations run in parallel. The turn
itself is a `ChatTurn` (turn.py) running a `TurnRunner` (runner.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from sandbox_analyst.agent import AgentConfig
from sandbox_analyst.agent.tools import ToolRegistry, analyst_tools, builtin_tools, with_installs
from sandbox_analyst.config import ConfigError, Settings
from sandbox_analyst.llm import LLM, LLMError, create_llm, resolve_endpoint
from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.sandbox.templates import DEFAULT_TEMPLATE
from sandbox_analyst.service.assistants import AssistantService
from sandbox_analyst.service.chat.artifacts import FileArtifactSink
from sandbox_analyst.service.chat.history import history_from_messages
from sandbox_analyst.service.chat.recorder import TurnRecorder
from sandbox_analyst.service.chat.records import StoredConversation
from sandbox_analyst.service.chat.runner import TurnRequest, TurnRunner
from sandbox_analyst.service.chat.turn import ChatTurn, TurnOutcome
from sandbox_analyst.service.conversations import ConversationService
from sandbox_analyst.service.errors import Conflict, NotFound, ValidationError
from sandbox_analyst.service.files import FileService
from sandbox_analyst.service.packages import PackageAsk, PackageService, package_requester
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.sandboxes import ConversationSandboxes
from sandbox_analyst.service.team_config import team_of
from sandbox_analyst.store import Assistant, BlobStore, Database, FileRecord, Message


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
        sandbox = None
        try:
            for file_id in file_ids:
                await self._files.attach(principal, file_id, conversation.id)
            llm, llm_error = self._llm(assistant)
            if llm is not None:
                sandbox = await self.sandboxes.acquire(
                    conversation.owner_id, conversation.id, template=assistant.template
                )
            user_message, message = await self._conversations.append_turn(
                conversation.id, content, runner_id=self._runner_id
            )
        except BaseException:
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
            tools=self._tools(assistant, conversation.owner_id, conversation.id, sandbox),
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

    def _finished(self, conversation_id: str) -> None:
        self._running.pop(conversation_id, None)

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

    def _tools(
        self, assistant: Assistant, owner_id: str, conversation_id: str, sandbox: Sandbox | None
    ) -> ToolRegistry | None:
        """The mode's tools (None: its defaults), plus install_package when the assistant
        allows installs."""
        if self._packages is None or sandbox is None:
            return None
        ask = PackageAsk(owner_id, conversation_id, assistant)
        requester = package_requester(self._packages, ask, sandbox)
        if requester is None:
            return None
        tools = analyst_tools() if assistant.mode == "team" else builtin_tools()
        return with_installs(tools, requester)

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
