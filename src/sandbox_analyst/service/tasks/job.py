"""`TaskJob`: what runs while a task runs. The coding agent works in the task's sandbox; every
step is logged and published (the model's streamed text becomes one `message` step); when it
ends, however it ends (done, out of steps or time, cancelled, failed), what changed in the
workdir is stored as the task's result and a `task_end` event says so."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sandbox_analyst.agent import (
    Agent,
    AgentConfig,
    Approval,
    ArtifactNotSaved,
    ArtifactRef,
    ArtifactUsage,
    CommandApprover,
    DataFile,
    TokenEvent,
    coding_tools,
    task_system_prompt,
)
from sandbox_analyst.llm import LLM
from sandbox_analyst.sandbox import Sandbox, SandboxError
from sandbox_analyst.service.tasks.changes import Baseline, ChangeSet, collect_changes
from sandbox_analyst.service.tasks.events import (
    MessageEvent,
    TaskEndEvent,
    TaskEvent,
    TaskStartEvent,
)
from sandbox_analyst.service.tasks.records import TaskRecords
from sandbox_analyst.service.tasks.requests import Permission, TaskRequest, TaskStatus
from sandbox_analyst.service.tasks.run import TaskRun

logger = logging.getLogger(__name__)

_STATUS_OF_FINAL = {
    "complete": TaskStatus.COMPLETE,
    "max_iterations": TaskStatus.MAX_STEPS,
    "timeout": TaskStatus.TIMED_OUT,
    "failed": TaskStatus.FAILED,
}


class _NoArtifacts:
    """A task's agent saves nothing as it goes: its files are collected when it ends."""

    async def save(self, name: str, data: bytes, media_type: str) -> ArtifactRef:
        raise ArtifactNotSaved("a task's files are collected when it ends")

    async def saved_names(self) -> list[str]:
        return []

    async def saved_usage(self) -> ArtifactUsage:
        return ArtifactUsage(0, 0)


@dataclass(frozen=True)
class TaskWorkspace:
    """The task's sandbox, its inputs placed in the workdir, and the workdir as it was then."""

    sandbox: Sandbox
    files: list[DataFile]
    baseline: Baseline


class TaskJob:
    """One task's run: the agent, its steps published and logged, then the result stored and
    the model client closed and the sandbox ended, however it ended."""

    def __init__(
        self,
        task_run: TaskRun,
        request: TaskRequest,
        config: AgentConfig,
        workspace: TaskWorkspace,
        *,
        llm: LLM,
        records: TaskRecords,
        decide: CommandApprover | None,
        max_file_bytes: int,
        detach: Callable[[], object],
        release: Callable[[], Awaitable[object]],
    ) -> None:
        """`detach`: the run is no longer followed live (its steps are all stored by then);
        `release`: end its sandbox, once followers have the last event."""
        self.task_run, self.request, self.config, self.workspace = (
            task_run,
            request,
            config,
            workspace,
        )
        self.llm, self.records, self.decide = llm, records, decide
        self.max_file_bytes = max_file_bytes
        self.detach, self.release = detach, release
        self.tokens: list[str] = []

    async def run(self) -> None:
        run, workspace = self.task_run, self.workspace
        status, summary, error, usage = TaskStatus.FAILED, "", None, {}
        try:
            inputs = [file.path for file in workspace.files]
            await self._emit(TaskStartEvent(run.task_id, workspace.sandbox.sandbox_id, inputs))
            approve = self._approve if self.request.permission == Permission.CONFIRM else None
            agent = Agent(
                self.llm,
                workspace.sandbox,
                _NoArtifacts(),
                self.config,
                tools=coding_tools(approve),
                prompt=task_system_prompt,
            )
            final = await agent.run([], self.request.prompt, workspace.files, self._emit)
            await self._flush_text()
            status, summary, usage = _STATUS_OF_FINAL[final.status], final.content, final.usage
            if status == TaskStatus.TIMED_OUT:
                error = f"the task ran out of its {self.config.turn_timeout:g} s"
            elif status == TaskStatus.MAX_STEPS:
                error = f"the task used its {self.config.max_iterations} steps"
        except asyncio.CancelledError:
            status, error = TaskStatus.CANCELLED, run.cancel_reason or "cancelled"
        except Exception as exc:
            logger.exception("task %s failed", run.task_id)
            error = f"internal error: {type(exc).__name__}"
        run.concluding = True
        try:
            await self._conclude(status, summary, error, usage)
        except Exception:
            # The database or the blob store failed under us: say so where it can be read.
            logger.exception("task %s: its result could not be stored", run.task_id)
            with contextlib.suppress(Exception):
                await self.records.finish(
                    run.task_id, TaskStatus.FAILED, summary, "its result could not be stored"
                )
        finally:
            self.records.forget(run.task_id)
            self.detach()
            await run.finish()
            try:
                await self.llm.aclose()
            finally:
                await self.release()

    async def _conclude(
        self, status: TaskStatus, summary: str, error: str | None, usage: dict[str, int]
    ) -> None:
        run, workspace = self.task_run, self.workspace
        try:
            changes = await collect_changes(
                workspace.sandbox, workspace.baseline, max_file_bytes=self.max_file_bytes
            )
        except SandboxError as exc:
            changes = ChangeSet([], f"the sandbox's files could not be read: {exc}")
        stored = await self.records.store_files(run.task_id, changes)
        if changes.truncated:
            error = "; ".join(part for part in (error, changes.truncated) if part)
        await self.records.finish(run.task_id, status, summary, error, usage)
        files = [
            {
                "path": record.path,
                "change": record.change,
                "size": record.size,
                "sha256": record.sha256,
                "media_type": record.media_type,
                "diff": record.diff,
                "downloadable": record.storage_key is not None,
            }
            for record in stored
        ]
        await self._emit(TaskEndEvent(run.task_id, status, summary, error, files, usage))

    async def _approve(self, command: str) -> Approval:
        await self._flush_text()
        return await self.task_run.ask(command, self.decide)

    async def _emit(self, event: TaskEvent) -> None:
        if isinstance(event, TokenEvent):
            self.tokens.append(event.text)
            await self.task_run.publish(event)
            return
        await self._flush_text()
        await self._record(event)

    async def _flush_text(self) -> None:
        text, self.tokens = "".join(self.tokens), []
        if text.strip():
            await self._record(MessageEvent(text))

    async def _record(self, event: TaskEvent) -> None:
        await self.task_run.publish(event)
