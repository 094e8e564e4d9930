from collections.abc import AsyncIterator, Callable

import pytest

from sandbox_analyst.config import LLMSettings, Settings
from sandbox_analyst.llm import LLM, ChatMessage, LLMEvent, ToolSpec, create_llm
from sandbox_analyst.testing import FakeLLMServer

KINDS = ["openai", "anthropic"]

RUN_CODE = ToolSpec(
    name="run_code",
    description="Run Python code in the sandbox.",
    parameters={"type": "object", "properties": {"code": {"type": "string"}}},
)
QUESTION = [ChatMessage("system", "You are an analyst."), ChatMessage("user", "Mean of x?")]


@pytest.fixture
def fake() -> FakeLLMServer:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
async def make_llm(fake: FakeLLMServer) -> AsyncIterator[Callable[..., LLM]]:
    """An LLM of a kind pointed at the fake server, with tiny retry delays."""
    made: list[LLM] = []

    def make(kind: str = "openai", **endpoint: object) -> LLM:
        base_url = fake.openai_base_url if kind == "openai" else fake.anthropic_base_url
        options = {
            "base_url": base_url,
            "api_key": "test-key",
            "model": "test-model",
            "retry_backoff": 0.001,
            "retry_max_delay": 0.01,
            "timeout": 30.0,
            **endpoint,
        }
        llm = create_llm(Settings(llm=LLMSettings(provider=kind, **options)))
        made.append(llm)
        return llm

    yield make
    for llm in made:
        await llm.aclose()


async def collect(events: AsyncIterator[LLMEvent]) -> list[LLMEvent]:
    return [event async for event in events]
