"""`TaskService`: agent tasks. A task runs a coding agent (`coding_tools()`, the task prompt)
in a fresh sandbox of its own, stores its step log as it goes and, however it ends (done, out
of steps, out of time, cancelled), what it changed in the workdir: its result.

    run = await tasks.start(principal, TaskRequest("Write calculator.py ..."))
    index = 0
    while (event := await run.next_event(index)) is not None:   # task_start ... task_end
        index += 1
    detail = await tasks.get(principal, run.task_id)             # status, summary, files, log

A task belongs to its owner: anyone else gets `NotFound` for it (admins see every task).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select, update

from sandbox_analyst.agent import (
    AgentConfig,
    CommandApprover,
    DataFile,
)
from sandbox_analyst.agent.artifacts import media_type_for
from sandbox_analyst.config import ConfigError, Settings
from sandbox_analyst.llm import LLM, LLMError, open_llm
from sandbox_analyst.sandbox import Sandbox, SessionKey, SessionManager
from sandbox_analyst.sandbox.templates import DEFAULT_TEMPLATE, TemplateCatalog
from sandbox_analyst.service import access
from sandbox_analyst.service.assistants import AssistantService
from sandbox_analyst.service.errors import NotFound, ServiceError, ValidationError
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.runners import TurnRunners
from sandbox_analyst.service.tasks.changes import Baseline
from sandbox_analyst.service.tasks.job import TaskJob, TaskWorkspace
from sandbox_analyst.service.tasks.records import TaskRecords
from sandbox_analyst.service.tasks.requests import (
    TaskRequest,
    TaskStatus,
    check_request,
    checked_input_path,
)
from sandbox_analyst.service.tasks.run import TaskRun
from sandbox_analyst.store import BlobStore, Database, Task, TaskFile, TaskStep

logger = logging.getLogger(__name__)


class ModelUnavailable(ServiceError):
    """The task's model cannot be called: none is configured, or its settings are unusable."""

    code = "model_unavailable"
    http_status = 503


@dataclass(frozen=True)
class TaskDetail:
    task: Task
    steps: list[TaskStep]
    files: list[TaskFile]


@dataclass(frozen=True)
class TaskFileContent:
    record: TaskFile
    chunks: AsyncIterator[bytes]


class TaskService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        blobs: BlobStore,
        *,
        sessions: SessionManager,
        assistants: AssistantService,
        templates: TemplateCatalog | None = None,
        replicas: TurnRunners | None = None,
    ) -> None:
        self.settings = settings
        self._db = db
        self._sessions = sessions
        self._assistants = assistants
        self._templates = templates
        self._replicas = replicas
        self._records = TaskRecords(db, blobs)
        self._running: dict[str, TaskRun] = {}

    async def start(
        self,
        principal: Principal,
        request: TaskRequest,
        *,
        decide: CommandApprover | None = None,
    ) -> TaskRun:
        """Check the request, make the task's sandbox, copy the inputs in and start the agent.
        `decide` answers the `confirm` mode's questions (without it a client answers them
        through `answer`). Raises ValidationError / PayloadTooLarge (bad request), NotFound
        (an assistant not theirs), ModelUnavailable, `TooManySessionsError` (no sandbox)."""
        max_input = self.settings.server.max_upload_mb * 1024 * 1024
        check_request(request, max_input_bytes=max_input)
        assistant = None
        if request.assistant_id is not None:
            assistant = await self._assistants.get(principal, request.assistant_id)
        template = request.template or (assistant and assistant.template) or DEFAULT_TEMPLATE
        self._check_template(template)
        llm = await self._llm(
            assistant.provider if assistant else None, assistant and assistant.model
        )
        config = self._config(request, assistant.instructions if assistant else "", template)
        task = await self._records.create(
            owner_id=principal.user_id,
            assistant_id=assistant.id if assistant else None,
            request=request,
            template=template,
            max_steps=config.max_iterations,
            timeout=config.turn_timeout,
            runner_id=self._replicas.id if self._replicas else None,
        )
        key = SessionKey(principal.user_id, f"task:{task.id}")
        try:
            # The assistant's environment and narrowing of the egress; the task's template.
            spec = dataclasses.replace(
                self._assistants.session_spec(assistant, principal.user_id),
                template=None if template == DEFAULT_TEMPLATE else template,
                labels={"task": task.id},
            )
            sandbox, _ = await self._sessions.acquire(key, spec, hold=True)
            try:
                files = await self._place_inputs(sandbox, request)
                baseline = await Baseline.take(sandbox, request.inputs)
            except BaseException:
                await self._sessions.end(key)
                raise
        except BaseException as exc:
            await llm.aclose()
            await self._records.finish(task.id, TaskStatus.FAILED, "", f"no sandbox: {exc}")
            self._records.forget(task.id)
            raise
        run = TaskRun(task, self._records.add_step)
        self._running[task.id] = run
        job = TaskJob(
            run,
            request,
            config,
            TaskWorkspace(sandbox, files, baseline),
            llm=llm,
            records=self._records,
            decide=decide,
            max_file_bytes=self.settings.agent.max_artifact_bytes,
            detach=lambda: self._running.pop(task.id, None),
            release=lambda: self._sessions.end(key),
        )
        run.start(lambda _: job.run())
        return run

    async def list(self, principal: Principal, *, limit: int = 100) -> list[Task]:
        """The caller's own tasks, newest first."""
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Task)
                .where(access.owned_by(principal, Task))
                .order_by(Task.created_at.desc(), Task.id)
                .limit(limit)
            )
            return list(rows)

    async def get(self, principal: Principal, task_id: str) -> TaskDetail:
        async with self._db.session() as session:
            task = access.ensure_owns_task(principal, await session.get(Task, task_id))
            steps = await session.scalars(
                select(TaskStep).where(TaskStep.task_id == task.id).order_by(TaskStep.seq)
            )
            files = await session.scalars(
                select(TaskFile).where(TaskFile.task_id == task.id).order_by(TaskFile.path)
            )
            return TaskDetail(task, list(steps), list(files))

    async def follow(self, principal: Principal, task_id: str) -> TaskRun | None:
        """The task's run while it runs in this process (None once it ended: read `get`)."""
        await self.get(principal, task_id)
        return self._running.get(task_id)

    async def file(self, principal: Principal, task_id: str, path: str) -> TaskFileContent:
        detail = await self.get(principal, task_id)
        wanted = checked_input_path(path)
        for record in detail.files:
            if record.path == wanted and record.storage_key is not None:
                return TaskFileContent(record, self._records.open(record.storage_key))
        raise NotFound(f"the task's result has no file {path!r}")

    async def result_zip(self, principal: Principal, task_id: str) -> AsyncIterator[bytes]:
        """Every file of the result (not the deleted ones), as a zip archive."""
        detail = await self.get(principal, task_id)
        return self._records.zip([record for record in detail.files if record.storage_key])

    async def cancel(self, principal: Principal, task_id: str) -> bool:
        """Stop a running task (its code is killed; what it made so far is kept); False when
        it is not running here."""
        run = await self.follow(principal, task_id)
        return run.cancel("cancelled by the user") if run is not None else False

    async def answer(
        self,
        principal: Principal,
        task_id: str,
        confirmation_id: str,
        *,
        allowed: bool,
        reason: str = "",
    ) -> None:
        """Answer a bash command waiting in the `confirm` mode."""
        run = await self.follow(principal, task_id)
        if run is None:
            raise NotFound("this task is not running")
        await run.answer(confirmation_id, allowed, reason)

    async def sweep(self) -> int:
        """Mark as interrupted the tasks left running by a server process that is gone."""
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(Task.id, Task.runner_id).where(Task.status == TaskStatus.RUNNING)
                )
            ).all()
        ended = []
        for task_id, runner_id in rows:
            if task_id in self._running:
                continue
            if self._replicas is not None and await self._replicas.live_elsewhere(runner_id):
                continue
            ended.append(task_id)
        if ended:
            async with self._db.session() as session:
                await session.execute(
                    update(Task)
                    .where(Task.id.in_(ended), Task.status == TaskStatus.RUNNING)
                    .values(status=TaskStatus.INTERRUPTED, error="the server stopped")
                )
        return len(ended)

    async def shutdown(self) -> None:
        """Cancel the running tasks and wait until their results are stored."""
        runs = list(self._running.values())
        for run in runs:
            run.cancel("the server is shutting down")
        for run in runs:
            await run.wait()

    def _check_template(self, name: str) -> None:
        if self._templates is None or name == DEFAULT_TEMPLATE:
            return
        known = self._templates.names()
        if name not in known:
            raise ValidationError(
                f"no sandbox template named {name!r} (known: {', '.join(known)})",
                field="template",
            )

    async def _llm(self, provider: str | None, model: str | None) -> LLM:
        try:
            return await open_llm(self.settings, provider, model)
        except (LLMError, ConfigError) as exc:
            raise ModelUnavailable(f"the task's model cannot be used: {exc}") from exc

    def _config(self, request: TaskRequest, instructions: str, template: str) -> AgentConfig:
        agent = self.settings.agent
        return AgentConfig(
            instructions=instructions,
            template=template,
            max_iterations=request.max_steps or agent.max_iterations,
            turn_timeout=request.timeout or agent.turn_timeout,
            code_timeout=self.settings.sandbox.timeout,
            observation_limit=agent.observation_limit,
        )

    async def _place_inputs(self, sandbox: Sandbox, request: TaskRequest) -> list[DataFile]:
        files = []
        for item in request.inputs:
            path = checked_input_path(item.path)
            entry = await sandbox.files.write(path, item.data)
            files.append(DataFile(path, entry.size, media_type_for(path)))
        return files
