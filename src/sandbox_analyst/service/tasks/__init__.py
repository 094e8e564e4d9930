"""Agent tasks: a prompt carried out by a coding agent in a fresh sandbox of its own, with a
step log and a result (the agent's summary and the files it created or changed).

`TaskService` (service.py) starts, lists, follows, cancels and answers tasks; a running task
is a `TaskRun` (run.py) whose events (events.py) any number of followers read, driven by a
`TaskJob` (job.py: the agent, then the result); the result is what changed in the workdir
(changes.py), stored by `TaskRecords` (records.py).
"""

from sandbox_analyst.agent import Approval, CommandApprover
from sandbox_analyst.service.tasks.events import (
    ConfirmAnswerEvent,
    ConfirmEvent,
    MessageEvent,
    TaskEndEvent,
    TaskEvent,
    TaskStartEvent,
    event_payload,
)
from sandbox_analyst.service.tasks.requests import Permission, TaskInput, TaskRequest, TaskStatus
from sandbox_analyst.service.tasks.run import TaskRun
from sandbox_analyst.service.tasks.service import (
    ModelUnavailable,
    TaskDetail,
    TaskFileContent,
    TaskService,
)

__all__ = [
    "Approval",
    "CommandApprover",
    "ConfirmAnswerEvent",
    "ConfirmEvent",
    "MessageEvent",
    "ModelUnavailable",
    "Permission",
    "TaskDetail",
    "TaskEndEvent",
    "TaskEvent",
    "TaskFileContent",
    "TaskInput",
    "TaskRequest",
    "TaskRun",
    "TaskService",
    "TaskStartEvent",
    "TaskStatus",
    "event_payload",
]
