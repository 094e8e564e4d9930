from collections.abc import AsyncIterator, Callable

import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.llm import LLM, ChatMessage, LLMEvent, ToolSpec, create_llm
from sandbox_analyst.testing import FakeLLMServer
from tests.fixtures.models import fake_llm_settings

KINDS = ["openai", "anthropic"]

RUN_CODE = ToolSpec(
    name="run_code",
    description="Run Python code in the sandbox.",
    parameters={"type": "object", "properties": {"code": {"type": "string"}}},
)
QUESTION = [ChatMessage("system", "You are an analyst."), ChatMessage("user", "Mean of x?")]


@pytest.fixture
async def make_llm(fake: FakeLLMServer) -> AsyncIterator[Callable[..., LLM]]:
    """An LLM of a kind pointed at the fake server, with tiny retry delays."""
    made: list[LLM] = []

    def make(kind: str = "openai", **endpoint: object) -> LLM:
        llm = create_llm(Settings(llm=fake_llm_settings(fake, kind, **endpoint)))
        made.append(llm)
        return llm

    yield make
    for llm in made:
        await llm.aclose()


async def collect(events: AsyncIterator[LLMEvent]) -> list[LLMEvent]:
    return [event async for event in events]
