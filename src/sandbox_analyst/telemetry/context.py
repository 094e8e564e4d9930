"""Context that follows the work through tasks (`contextvars`): which request and which turn a
log line belongs to, and what an execution in the sandbox is for.

asyncio copies the context into each task it creates, so a value set before a turn's task (or
a probe's) starts is seen by everything that task does, and by nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("analyst_request_id", default=None)
turn_id: ContextVar[str | None] = ContextVar("analyst_turn_id", default=None)
conversation_id: ContextVar[str | None] = ContextVar("analyst_conversation_id", default=None)

# "code": what a model, a user or a client asked to run; the service's own runs say what they
# are ("preview", "probe", "replay"), so that the metrics tell them apart.
execution_purpose: ContextVar[str] = ContextVar("analyst_execution_purpose", default="code")


@contextmanager
def executions_for(purpose: str) -> Iterator[None]:
    """Label the executions started inside as being for `purpose`."""
    token = execution_purpose.set(purpose)
    try:
        yield
    finally:
        execution_purpose.reset(token)
