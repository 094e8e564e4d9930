"""A team on this test's sandbox, talking to the scripted fake model through the real OpenAI
adapter; scripted turns name the role they stand for (the fake answers in order)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_asyncio

from sandbox_analyst.agent import AgentConfig
from sandbox_analyst.agent.team import Team, TeamSpec, default_team
from sandbox_analyst.config import Settings
from sandbox_analyst.llm import LLM, create_llm
from sandbox_analyst.sandbox.local import LocalSandbox
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.conftest import MemorySink
from tests.fixtures.models import fake_llm_settings


@pytest_asyncio.fixture(loop_scope="session")
async def make_team(
    fake: FakeLLMServer, sandbox: LocalSandbox, sink: MemorySink
) -> AsyncIterator[Callable[..., Team]]:
    llms: list[LLM] = []

    def make(*turns: Turn, spec: TeamSpec | None = None, **config: object) -> Team:
        fake.add_turns(*turns)
        llm = create_llm(Settings(llm=fake_llm_settings(fake, "openai", max_retries=0)))
        llms.append(llm)
        return Team(llm, sandbox, sink, AgentConfig(**config), spec or default_team())

    yield make
    for llm in llms:
        await llm.aclose()


def handoff(role: str, reason: str, text: str = "") -> Turn:
    return Turn(text=text, tool_calls=[(f"transfer_to_{role}", {"reason": reason})])


def tool(name: str, **arguments: object) -> Turn:
    return Turn(tool_calls=[(name, dict(arguments))])
