"""The session's live sandbox pool and the scripted fake LLM server behind the real SDK
adapters (tests/fixtures), and an in-memory artifact sink: everything between the agent and
its edges is real.

Test modules run on the session's event loop, where the pool lives:
`pytestmark = pytest.mark.asyncio(loop_scope="session")`.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from sandbox_analyst.agent import (
    Agent,
    AgentConfig,
    AgentEvent,
    ArtifactRef,
    DataFile,
    FinalEvent,
    ToolRegistry,
    Usage,
)
from sandbox_analyst.agent.artifact_limits import NO_ARTIFACTS, ArtifactUsage
from sandbox_analyst.config import Settings
from sandbox_analyst.llm import LLM, ChatMessage, create_llm
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.fixtures.models import fake_llm_settings

SALES_CSV = b"region,units,revenue\nnorth,3,120.5\nsouth,5,200.25\neast,,99.0\nwest,7,310.75\n"
SALES_TOTAL = "730.5"  # 120.5 + 200.25 + 99.0 + 310.75


@dataclass
class StoredArtifact:
    ref: ArtifactRef
    data: bytes


@dataclass
class MemorySink:
    """The chat service's side of `ArtifactSink`, keeping the bytes in memory."""

    stored: dict[str, StoredArtifact] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)  # names whose saving fails, as a full disk
    earlier: ArtifactUsage = NO_ARTIFACTS  # what earlier turns saved, counted by the limits
    _ids: Iterator[int] = field(default_factory=itertools.count)

    async def save(self, name: str, data: bytes, media_type: str) -> ArtifactRef:
        if name in self.refuse:
            raise OSError(28, "No space left on device")
        file_id = f"file{next(self._ids)}"
        ref = ArtifactRef(file_id, name, f"/api/files/{file_id}/content", media_type, len(data))
        self.stored[file_id] = StoredArtifact(ref, data)
        return ref

    async def saved_names(self) -> list[str]:
        return [item.ref.name for item in self.stored.values()]

    async def saved_usage(self) -> ArtifactUsage:
        sizes = [item.ref.size for item in self.stored.values()]
        return ArtifactUsage(self.earlier.count + len(sizes), self.earlier.bytes + sum(sizes))

    def by_name(self, name: str) -> StoredArtifact:
        (found,) = [item for item in self.stored.values() if item.ref.name == name]
        return found


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest_asyncio.fixture(loop_scope="session")
async def make_agent(
    fake: FakeLLMServer, sandbox: LocalSandbox, sink: MemorySink
) -> AsyncIterator[Callable[..., Agent]]:
    """An agent on this test's sandbox, talking to the fake server through a real adapter."""
    llms: list[LLM] = []

    def make(
        *turns: Turn,
        kind: str = "openai",
        tools: ToolRegistry | None = None,
        artifacts_before: ArtifactUsage = NO_ARTIFACTS,
        **config: object,
    ) -> Agent:
        fake.add_turns(*turns)
        llm = create_llm(Settings(llm=fake_llm_settings(fake, kind, max_retries=0)))
        llms.append(llm)
        sink.earlier = artifacts_before
        return Agent(llm, sandbox, sink, AgentConfig(**config), tools=tools)

    yield make
    for llm in llms:
        await llm.aclose()


async def upload(sandbox: LocalSandbox, path: str, data: bytes, media_type: str) -> DataFile:
    await sandbox.files.write(path, data)
    return DataFile(path, len(data), media_type)


async def run_turn(
    agent: Agent,
    message: str,
    files: list[DataFile] | None = None,
    history: list[ChatMessage] | None = None,
) -> list[AgentEvent | FinalEvent]:
    """The turn's events in order, its `FinalEvent` last."""
    events: list[AgentEvent | FinalEvent] = []

    async def collect(event: AgentEvent) -> None:
        events.append(event)

    events.append(await agent.run(history or [], message, files or [], collect))
    return events


def of_type(events: list[AgentEvent | FinalEvent], kind: type) -> list:
    return [event for event in events if isinstance(event, kind)]


def code_call(code: str) -> Turn:
    return Turn(tool_calls=[("execute_code", {"code": code})])


class Budget:
    """A turn's allowance (`Allowance`) that stops it once it used `tokens` tokens, or after
    it was asked `calls` times."""

    def __init__(self, *, tokens: int | None = None, calls: int | None = None) -> None:
        self.tokens = tokens
        self.calls = calls
        self.asked: list[int] = []

    async def __call__(self, usage: Usage) -> str | None:
        self.asked.append(usage.total)
        if self.tokens is not None and usage.total >= self.tokens:
            return f"quota exceeded: tokens_per_day (used {usage.total})"
        if self.calls is not None and len(self.asked) > self.calls:
            return "quota exceeded: cpu_seconds_per_day"
        return None


def answered(messages: list) -> bool:
    calls = {call.id for m in messages if m.role == "assistant" for call in m.tool_calls}
    return calls == {m.tool_call_id for m in messages if m.role == "tool"}
