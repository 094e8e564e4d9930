"""`TurnRunner`: the body of one chat turn's task, given everything it works with.

It gets the conversation's sandbox ready (rebuilt if it was lost) and runs the agent, whose
steps go through a `StepWriter`: each is stored by the `TurnRecorder` before it is published to
the turn's channel, so a crash mid-turn loses nothing that was already shown. However the turn
ends (answered, failed, cancelled, a bug), it is stored and `message_end` is its last event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox_analyst.agent import (
    Agent,
    AgentConfig,
    AgentEvent,
    Allowance,
    ArtifactSink,
    DataFile,
    ErrorCode,
    ErrorEvent,
    FinalEvent,
    Team,
    TeamSpec,
    ToolRegistry,
    Usage,
)
from sandbox_analyst.llm import LLM, ChatMessage
from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.service.chat.events import (
    MessageEndEvent,
    MessageStartEvent,
    SandboxRestoredEvent,
)
from sandbox_analyst.service.chat.recorder import TurnRecorder
from sandbox_analyst.service.chat.steps import StepWriter
from sandbox_analyst.service.chat.turn import TurnChannel
from sandbox_analyst.service.conversations import MessageStatus
from sandbox_analyst.service.errors import StorageFull
from sandbox_analyst.service.sandboxes import ConversationRecords, ConversationSandboxes
from sandbox_analyst.store import StorageFullError
from sandbox_analyst.telemetry import TurnFinished, emit

logger = logging.getLogger(__name__)

# How the agent's final status is stored on the message.
_MESSAGE_STATUS: dict[str, MessageStatus] = {
    "complete": "complete",
    "max_iterations": "complete",  # an answer, saying what it could not finish
    # A team stopped by a limit or a runaway guard: the same, its summary says why.
    "max_messages": "complete",
    "token_budget": "complete",
    "handoff_loop": "complete",
    "repeated_failure": "complete",
    # The user's quota ran out mid-turn: what it did and said is kept, but it is no answer.
    "quota_exceeded": "failed",
    "timeout": "failed",
    "failed": "failed",
}


@dataclass(frozen=True)
class TurnRequest:
    """What a turn answers, and where it is stored."""

    owner_id: str
    conversation_id: str
    user_message_id: str
    message_id: str
    content: str
    history: list[ChatMessage]  # the conversation so far, as the model sees it
    config: AgentConfig
    team: TeamSpec | None = None  # team mode: the roles that answer; None: one agent
    tools: ToolRegistry | None = None  # None: the mode's own tools
    allowance: Allowance | None = None  # whether the turn may go on (the user's quotas)

    @property
    def first_speaker(self) -> str | None:
        return self.team.entry.name if self.team is not None else None


def _model_calls(final: FinalEvent | None) -> int:
    """One assistant message per model call."""
    messages = final.messages if final is not None else []
    return sum(1 for message in messages if message.role == "assistant")


class TurnRunner:
    def __init__(
        self,
        request: TurnRequest,
        *,
        llm: LLM | None,
        llm_error: str | None,
        sandbox: Sandbox | None,
        sandboxes: ConversationSandboxes,
        records: ConversationRecords,
        artifacts: ArtifactSink,
        recorder: TurnRecorder,
        on_finished: Callable[[], None],
        not_saved: list[str] | None = None,
    ) -> None:
        """`llm` None: the turn fails with `llm_error`. `on_finished` runs once the turn is
        stored, just before its `message_end` is published. `not_saved`: where `artifacts`
        notes what the storage could not take; each note reaches the user as an error event
        after the step that produced it."""
        self.request = request
        self.llm = llm
        self.llm_error = llm_error
        self.sandbox = sandbox
        self.sandboxes = sandboxes
        self.records = records
        self.artifacts = artifacts
        self.recorder = recorder
        self.on_finished = on_finished
        self.not_saved = not_saved if not_saved is not None else []

    async def run(self, channel: TurnChannel) -> None:
        request, recorder = self.request, self.recorder
        task = asyncio.current_task()
        assert task is not None  # the turn's own task (ChatTurn.start)
        steps = StepWriter(recorder, channel, task)
        started = time.monotonic()
        logger.info(
            "chat turn started",
            extra={"mode": "team" if request.team is not None else "agent"},
        )
        final: FinalEvent | None = None
        status: MessageStatus = "failed"
        agent_status = "failed"
        failure: BaseException | None = None  # a bug, or a step that could not be stored
        try:
            channel.publish(
                MessageStartEvent(
                    request.conversation_id,
                    request.user_message_id,
                    request.message_id,
                    agent=request.first_speaker,
                )
            )
            final = await self._converse(channel, steps)
            await steps.flush()
            if final is not None:
                agent_status = final.status
                status = _MESSAGE_STATUS.get(final.status, "failed")
        except asyncio.CancelledError:
            if task.cancelling():
                task.uncancel()
            if steps.failure is None:
                status = agent_status = "cancelled"
                recorder.error = channel.cancel_reason
            else:
                failure = steps.failure
        except Exception as exc:
            failure = exc
        await steps.close()
        if isinstance(failure, (StorageFull, StorageFullError)):
            logger.error("chat turn %s: %s", request.message_id, failure)
            recorder.error = str(failure)
            channel.publish(ErrorEvent(recorder.error, ErrorCode.STORAGE_FULL))
        elif failure is not None:
            self._internal_error(failure, channel)
        duration = time.monotonic() - started
        usage = dict(final.usage) if final is not None else {}
        stop_reason = final.reason if final is not None and status != "cancelled" else status
        agent = final.agent if final is not None else request.first_speaker
        try:
            await recorder.finish(
                status,
                content=final.content if final is not None else None,
                usage=usage,
                duration=duration,
                turn=final.messages if final is not None else [],
                stop_reason=stop_reason,
                agent=agent,
            )
        except Exception:
            logger.exception("could not store the end of chat turn %s", request.message_id)
        finally:
            logger.info(
                "chat turn ended: %s (%s) in %.2f s",
                status,
                stop_reason,
                duration,
                extra={
                    "status": status,
                    "stop_reason": stop_reason,
                    "duration_s": round(duration, 3),
                    "input_tokens": usage.get("input_tokens", 0),
                    "output_tokens": usage.get("output_tokens", 0),
                },
            )
            emit(
                TurnFinished(
                    mode="team" if request.team is not None else "agent",
                    outcome=status,
                    stop_reason=stop_reason,
                    seconds=duration,
                    iterations=_model_calls(final),
                )
            )
            if self.sandbox is not None:
                self.sandboxes.finish(request.conversation_id, self.sandbox)
            self.on_finished()
            channel.publish(
                MessageEndEvent(
                    message_id=request.message_id,
                    status=status,
                    agent_status=agent_status,
                    usage=usage,
                    duration=round(duration, 4),
                    error=recorder.error,
                    artifact_ids=list(recorder.artifact_ids),
                    stop_reason=stop_reason,
                    agent=agent,
                )
            )

    async def _converse(self, channel: TurnChannel, steps: StepWriter) -> FinalEvent | None:
        request = self.request
        if self.llm is None or self.sandbox is None:
            await steps(
                ErrorEvent(
                    self.llm_error or "no model available",
                    ErrorCode.LLM_ERROR,
                    agent=request.first_speaker,
                )
            )
            return None
        prepared = await self.sandboxes.prepare(
            request.owner_id, request.conversation_id, self.sandbox, self.records
        )
        if prepared.restoration is not None:
            restored = prepared.restoration
            channel.publish(
                SandboxRestoredEvent(
                    restored.reason,
                    restored.files,
                    restored.cells_replayed,
                    restored.cells_failed,
                    agent=request.first_speaker,
                )
            )
        files = [DataFile(f.path, f.size, f.media_type) for f in prepared.files]
        allowance = self._allowance(steps)
        if request.team is not None:
            answering: Agent | Team = Team(
                self.llm,
                self.sandbox,
                self.artifacts,
                request.config,
                request.team,
                tools=request.tools,
                allowance=allowance,
            )
        else:
            answering = Agent(
                self.llm,
                self.sandbox,
                self.artifacts,
                request.config,
                tools=request.tools,
                allowance=allowance,
            )

        async def step(event: AgentEvent) -> None:
            await steps(event)
            while self.not_saved:
                error = ErrorEvent(self.not_saved.pop(0), ErrorCode.STORAGE_FULL)
                error.agent = getattr(event, "agent", None)
                await steps(error)

        return await answering.run(request.history, request.content, files, step)

    def _allowance(self, steps: StepWriter) -> Allowance | None:
        """The request's allowance, asked once the steps so far are stored (the code run
        just made is in the execution log it reads)."""
        asked = self.request.allowance
        if asked is None:
            return None

        async def allowance(usage: Usage) -> str | None:
            await steps.flush()
            return await asked(usage)

        return allowance

    def _internal_error(self, exc: BaseException, channel: TurnChannel) -> None:
        logger.error("chat turn %s failed", self.request.message_id, exc_info=exc)
        self.recorder.error = f"internal error: {type(exc).__name__}: {exc}"
        channel.publish(
            ErrorEvent(
                self.recorder.error, ErrorCode.INTERNAL_ERROR, agent=self.request.first_speaker
            )
        )
