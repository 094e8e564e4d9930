"""`TaskRun`: a task while it runs in this process. Its events are kept in order so that any
number of followers read them all, from the first (`next_event(index)`); bash commands in the
`confirm` mode wait here for an answer (`answer`); `cancel` stops the agent and its code.

Output chunks are kept up to `MAX_KEPT_OUTPUT` characters per task: a follower who comes late
still gets every step, and the full output of each command in its `tool_result`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sandbox_analyst.agent import Approval, CommandApprover, StderrEvent, StdoutEvent
from sandbox_analyst.service.errors import Conflict, NotFound
from sandbox_analyst.service.tasks.events import (
    LOGGED,
    ConfirmAnswerEvent,
    ConfirmEvent,
    TaskEvent,
)
from sandbox_analyst.store import Task, new_id

MAX_KEPT_OUTPUT = 1_000_000


StepLog = Callable[[str, TaskEvent], Awaitable[None]]


class TaskRun:
    def __init__(self, accepted: Task, log: StepLog) -> None:
        """`accepted` is the task's record as it was stored when it was accepted (running);
        `log` stores a step (the events in `LOGGED`) before anyone is sent it, so a follower
        never sees a step the log could lose."""
        self.accepted = accepted
        self.task_id = accepted.id
        self.owner_id = accepted.owner_id
        self._log = log
        self.concluding = False  # its result is being stored: too late to cancel
        self._events: list[TaskEvent] = []
        self._changed = asyncio.Condition()
        self._done = False
        self._kept_output = 0
        self._pending: dict[str, asyncio.Future[Approval]] = {}
        self._task: asyncio.Task[None] | None = None
        self.cancel_reason: str | None = None

    def start(self, body: Callable[[TaskRun], Awaitable[None]]) -> None:
        self._task = asyncio.get_running_loop().create_task(body(self))

    @property
    def done(self) -> bool:
        return self._done

    async def publish(self, event: TaskEvent) -> None:
        if isinstance(event, StdoutEvent | StderrEvent):
            self._kept_output += len(event.text)
            if self._kept_output > MAX_KEPT_OUTPUT:
                return
        if isinstance(event, LOGGED):
            await self._log(self.task_id, event)
        async with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    async def finish(self) -> None:
        """No more events; followers end after the last one."""
        async with self._changed:
            self._done = True
            self._changed.notify_all()
        for future in self._pending.values():
            future.cancel()

    async def next_event(self, index: int, timeout: float | None = None) -> TaskEvent | None:
        """The event at `index` (waiting for it up to `timeout` seconds: `TimeoutError`),
        or None when the task ended before it."""
        async with self._changed, asyncio.timeout(timeout):
            await self._changed.wait_for(lambda: len(self._events) > index or self._done)
            return self._events[index] if index < len(self._events) else None

    async def wait(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    def cancel(self, reason: str) -> bool:
        """Stop the task (its running command is killed); False when it already ended."""
        if self._task is None or self._task.done() or self.concluding:
            return False
        self.cancel_reason = reason
        return self._task.cancel()

    async def ask(self, command: str, decide: CommandApprover | None = None) -> Approval:
        """Publish a `ConfirmEvent` and wait for its answer: from `decide` (the CLI asks in
        the terminal), else from `answer` (a client over HTTP)."""
        confirmation_id = new_id()
        await self.publish(ConfirmEvent(confirmation_id, command))
        if decide is not None:
            approval = await decide(command)
            await self.publish(
                ConfirmAnswerEvent(confirmation_id, approval.allowed, approval.reason)
            )
            return approval
        future: asyncio.Future[Approval] = asyncio.get_running_loop().create_future()
        self._pending[confirmation_id] = future
        try:
            return await future
        finally:
            self._pending.pop(confirmation_id, None)

    async def answer(self, confirmation_id: str, allowed: bool, reason: str = "") -> None:
        future = self._pending.get(confirmation_id)
        if future is None:
            raise NotFound("no command of this task waits for that confirmation")
        if future.done():
            raise Conflict("that confirmation was already answered")
        future.set_result(Approval(allowed, reason))
        await self.publish(ConfirmAnswerEvent(confirmation_id, allowed, reason))
