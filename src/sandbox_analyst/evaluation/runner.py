"""`Evaluation`: runs a suite's cases through the real service, each run in a fresh
conversation, and judges what each turn answered.

One run: create a conversation with the assistant, upload the case's files through the file
service, ask the question (with the suite's instruction) as a chat turn, follow its events
(tool calls, charts and files, errors, the end), read the stored answer and run the checks.
The case's time limit covers all of it; a run out of time has its turn cancelled (and stored
as such) and counts as `timeout`. The conversation's sandbox is ended after each run, so a
suite of a hundred cases does not keep a hundred sandboxes. Runs go one at a time unless
`concurrency` says otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sandbox_analyst.evaluation.answer import Answer, ArtifactFile
from sandbox_analyst.evaluation.results import (
    TIMEOUT,
    AssistantInfo,
    AssistantReport,
    EvalReport,
    RunResult,
    error_reason,
)
from sandbox_analyst.evaluation.suite import Case, Suite
from sandbox_analyst.service import (
    ArtifactEvent,
    ChatTurn,
    ErrorEvent,
    MessageEndEvent,
    Principal,
    Services,
    ToolCallEvent,
    public_error,
)
from sandbox_analyst.store import Assistant, FileRecord

logger = logging.getLogger(__name__)

UPLOAD_CHUNK = 1024 * 1024
# How an agent that did not end with an answer stored its ending, as a failure reason.
_LIMIT_STATUSES = frozenset(
    {"max_iterations", "max_messages", "token_budget", "handoff_loop", "repeated_failure"}
)
_ANSWERED = frozenset({"complete"})


@dataclass(frozen=True)
class PlannedRun:
    assistant: AssistantInfo
    case: Case
    repeat: int


@dataclass
class _Tally:
    """What a turn's events said, as they came."""

    tool_calls: int = 0
    error_code: str | None = None
    error: str | None = None
    end: MessageEndEvent | None = None
    artifact_ids: list[str] = field(default_factory=list)

    def see(self, event: object) -> None:
        if isinstance(event, ToolCallEvent):
            self.tool_calls += 1
        elif isinstance(event, ArtifactEvent):
            self.artifact_ids.append(event.artifact.file_id)
        elif isinstance(event, ErrorEvent):
            self.error_code, self.error = str(event.code), event.message
        elif isinstance(event, MessageEndEvent):
            self.end = event


RunObserver = Callable[[PlannedRun, RunResult | None], None]


class Evaluation:
    """`on_run(planned, None)` as a run starts and `on_run(planned, result)` as it ends."""

    def __init__(
        self,
        services: Services,
        principal: Principal,
        suite: Suite,
        *,
        repeat: int = 1,
        concurrency: int = 1,
        on_run: RunObserver | None = None,
    ) -> None:
        if repeat < 1 or concurrency < 1:
            raise ValueError("repeat and concurrency are at least 1")
        self.services = services
        self.principal = principal
        self.suite = suite
        self.repeat = repeat
        self.concurrency = concurrency
        self.on_run = on_run or (lambda planned, result: None)

    def plan(self, assistants: list[AssistantInfo], cases: list[Case]) -> list[PlannedRun]:
        return [
            PlannedRun(assistant, case, repeat)
            for assistant in assistants
            for case in cases
            for repeat in range(1, self.repeat + 1)
        ]

    async def run(
        self, assistants: list[tuple[Assistant, AssistantInfo]], cases: list[Case]
    ) -> EvalReport:
        """Every case `repeat` times with every assistant."""
        report = EvalReport(
            suite=self.suite.name,
            suite_path=str(self.suite.path or self.suite.directory),
            repeat=self.repeat,
            started_at=_now(),
        )
        reports = {info.id: AssistantReport(info, [c.id for c in cases]) for _, info in assistants}
        report.assistants = list(reports.values())
        records = {info.id: assistant for assistant, info in assistants}
        gate = asyncio.Semaphore(self.concurrency)

        async def one(planned: PlannedRun) -> None:
            async with gate:
                self.on_run(planned, None)
                result = await self.run_case(records[planned.assistant.id], planned)
                reports[planned.assistant.id].runs.append(result)
                self.on_run(planned, result)

        async with asyncio.TaskGroup() as group:
            for planned in self.plan([info for _, info in assistants], cases):
                group.create_task(one(planned))
        report.finished_at = _now()
        return report

    async def run_case(self, assistant: Assistant, planned: PlannedRun) -> RunResult:
        """One run of one case; never raises for what the turn or the service did."""
        case = planned.case
        result = RunResult(case.id, planned.repeat, passed=False, reasons=[])
        started = time.monotonic()
        turn: ChatTurn | None = None
        tally = _Tally()
        try:
            async with asyncio.timeout(self.suite.timeout_of(case)):
                conversation = await self.services.conversations.create(
                    self.principal, assistant.id, title=f"eval {self.suite.name}: {case.id}"
                )
                result.conversation_id = conversation.id
                for name in case.files:
                    await self._upload(conversation.id, self.suite.file_path(name))
                turn = await self.services.chat.start_turn(
                    self.principal, conversation.id, self.suite.prompt(case)
                )
                async for event in turn:
                    tally.see(event)
                outcome = await self.services.chat.outcome(turn)
                artifacts = [await self._artifact(record) for record in outcome.artifacts]
                result.turns = await self._model_answers(conversation.id, turn, tally)
            answer = Answer(outcome.message.content, tally.tool_calls, artifacts)
            self._judge(result, case, tally, answer)
        except TimeoutError:
            if turn is not None:
                turn.cancel("the evaluation case ran out of time")
                await turn.wait()
            result.reasons = [TIMEOUT]
            result.error = f"the case took longer than {self.suite.timeout_of(case):g} s"
        except Exception as exc:
            error = public_error(exc)
            if error is None:  # a bug on our side: counted, logged, and the evaluation goes on
                logger.exception("evaluation run %s #%d crashed", case.id, planned.repeat)
            result.reasons = [error_reason(error.code if error else "internal_error")]
            result.error = error.message if error else f"{type(exc).__name__}: {exc}"
        finally:
            result.wall_s = time.monotonic() - started
            result.tool_calls = tally.tool_calls
            if tally.end is not None:
                result.status = tally.end.status
                result.input_tokens = int(tally.end.usage.get("input_tokens", 0))
                result.output_tokens = int(tally.end.usage.get("output_tokens", 0))
            if result.conversation_id is not None:
                await self._end_sandbox(result.conversation_id)
        return result

    def _judge(self, result: RunResult, case: Case, tally: _Tally, answer: Answer) -> None:
        result.answer = answer.text
        end = tally.end
        agent_status = end.agent_status if end is not None else "failed"
        if agent_status == "timeout":
            result.reasons = [TIMEOUT]
            result.error = tally.error or "the turn ran out of time"
            return
        if agent_status in _LIMIT_STATUSES:
            result.reasons = [error_reason(agent_status)]
            result.error = tally.error
            return
        if end is None or end.status not in _ANSWERED or agent_status not in _ANSWERED:
            kind = tally.error_code or (end.status if end is not None else "failed")
            result.reasons = [error_reason(kind)]
            result.error = (end.error if end is not None else None) or tally.error
            return
        result.checks = [check.evaluate(answer) for check in case.checks]
        result.reasons = list(dict.fromkeys(c.reason for c in result.failed_checks))
        result.passed = not result.reasons

    async def _upload(self, conversation_id: str, path: Path) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            data = await asyncio.to_thread(path.read_bytes)
            for start in range(0, len(data), UPLOAD_CHUNK):
                yield data[start : start + UPLOAD_CHUNK]

        await self.services.files.upload(
            self.principal, chunks(), filename=path.name, conversation_id=conversation_id
        )

    async def _artifact(self, record: FileRecord) -> ArtifactFile:
        """The artifact as the checks see it: with its bytes when it is a table."""
        file = ArtifactFile(record.name, record.media_type, record.size)
        if not file.is_table:
            return file
        content = await self.services.files.open_content(self.principal, record.id)
        data = b"".join([chunk async for chunk in content.chunks])
        return ArtifactFile(record.name, record.media_type, record.size, data)

    async def _model_answers(self, conversation_id: str, turn: ChatTurn, tally: _Tally) -> int:
        """Model calls that answered: one per step that called tools, and the final text."""
        detail = await self.services.conversations.get(self.principal, conversation_id)
        message = next((m for m in detail.messages if m.id == turn.message_id), None)
        if message is None:
            return 0
        steps = {call.get("step") for call in message.tool_calls if call.get("step") is not None}
        answered = tally.end is not None and tally.end.agent_status in _ANSWERED
        return len(steps) + (1 if answered else 0)

    async def _end_sandbox(self, conversation_id: str) -> None:
        try:
            await self.services.sandboxes.close(conversation_id)
        except Exception:
            logger.exception("could not end the sandbox of conversation %s", conversation_id)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
