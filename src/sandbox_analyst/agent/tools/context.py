"""What a tool's handler works with: the call, the turn's sandbox and artifact sink, the events
it sends while it runs, and what it hands back (`ToolOutcome`)."""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import time
from dataclasses import dataclass, field

from sandbox_analyst.agent.artifact_limits import ArtifactBudget
from sandbox_analyst.agent.artifacts import ArtifactRef, ArtifactSink, WorkdirSnapshot
from sandbox_analyst.agent.config import AgentConfig
from sandbox_analyst.agent.events import ArtifactEvent, EventSink, StderrEvent, StdoutEvent
from sandbox_analyst.agent.figures import FigureNamer
from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.llm import ToolCall
from sandbox_analyst.sandbox import Sandbox, SandboxError


class InvalidArguments(Exception):
    """The call's arguments cannot be used; the message tells the model what to send."""


@dataclass
class ToolOutcome:
    observation: Observation
    state_lost: bool = False  # the session's variables were lost (its process restarted)
    peak_memory_bytes: int | None = None
    cpu_seconds: float | None = None


@dataclass
class TurnState:
    """What the tools of one turn share across its calls."""

    figures: FigureNamer
    sandbox_generation: int  # restarts of the session seen so far: a change means state lost
    budget: ArtifactBudget  # what the turn's calls may still save
    failures: dict[str, int] = field(default_factory=dict)  # normalised code -> failed runs
    # The last call's "after" listing, which is the next call's "before" while nothing else
    # ran in the workdir (saves one listing per call).
    snapshot: WorkdirSnapshot | None = None
    _ahead: asyncio.Task[WorkdirSnapshot] | None = field(default=None, repr=False)

    def list_ahead(self, sandbox: Sandbox) -> None:
        """Start listing the workdir now, as the turn begins: the listing is done while the
        model is asked, and the turn's first call need not wait for its "before"."""
        self.forget_listing()
        self._ahead = asyncio.ensure_future(WorkdirSnapshot.take(sandbox))

    async def listing_before(self, sandbox: Sandbox) -> WorkdirSnapshot:
        """The workdir as it is before a call changes it: the last listing while it holds,
        else one taken now."""
        if self.snapshot is not None:
            return self.snapshot
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            with contextlib.suppress(SandboxError):  # listed again below
                return await ahead
        return await WorkdirSnapshot.take(sandbox)

    def forget_listing(self) -> None:
        """The workdir has changed (or may have) since the last listing."""
        self.snapshot = None
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.cancel()

    def close(self) -> None:
        """The turn is over: a listing still under way is not needed."""
        self.forget_listing()


@dataclass
class CallOutput:
    """The call in progress, so an interrupted turn can still report what it printed."""

    call: ToolCall
    code: str | None
    started: float = field(default_factory=time.monotonic)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


@dataclass
class ToolContext:
    call: ToolCall
    sandbox: Sandbox
    artifacts: ArtifactSink
    config: AgentConfig
    turn: TurnState
    output: CallOutput
    emit: EventSink

    @property
    def code(self) -> str | None:
        """The Python source this call runs (its tool's `code_argument`), if any."""
        return self.output.code

    def text_argument(self, name: str, default: str | None = None) -> str:
        """A string argument; `InvalidArguments` when it is missing (without a default) or not
        a string."""
        value = self.call.arguments.get(name, default)
        if value is None:
            raise InvalidArguments(f'{self.call.name} needs a "{name}" argument')
        if not isinstance(value, str):
            raise InvalidArguments(f'"{name}" must be a string')
        return value

    def path_argument(self, name: str = "path", default: str | None = None) -> str:
        """A path argument inside the workdir, normalised (`a/./b` -> `a/b`);
        `InvalidArguments` for an absolute path or one that climbs out with `..`. The sandbox
        refuses such paths too (links included): this says so to the model in plain words,
        before anything runs."""
        path = self.text_argument(name, default)
        if "\x00" in path:
            raise InvalidArguments(f'"{name}" must not contain NUL characters')
        if path.startswith("/"):
            raise InvalidArguments(
                f"{path!r} is an absolute path; paths are relative to the working directory "
                "(e.g. 'src/app.py'), and nothing outside it can be reached"
            )
        normal = posixpath.normpath(path or ".")
        if normal == ".." or normal.startswith("../"):
            raise InvalidArguments(
                f"{path!r} leaves the working directory; use a path inside it (e.g. 'src/app.py')"
            )
        return normal

    async def stdout(self, text: str) -> None:
        self.output.stdout.append(text)
        await self.emit(StdoutEvent(self.call.id, text))

    async def stderr(self, text: str) -> None:
        self.output.stderr.append(text)
        await self.emit(StderrEvent(self.call.id, text))

    async def artifact(self, ref: ArtifactRef) -> None:
        await self.emit(ArtifactEvent(self.call.id, ref))
