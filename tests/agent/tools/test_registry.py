"""The tool registry: a tool is registered once by name; a registry narrowed to some names is
what a role may use; the model is offered, told about and answered by exactly those tools."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent import (
    EXECUTE_CODE,
    LIST_FILES,
    PREVIEW_FILE,
    InvalidArguments,
    Tool,
    ToolCallEvent,
    ToolContext,
    ToolOutcome,
    ToolRegistry,
    ToolResultEvent,
    builtin_tools,
)
from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.llm import ToolSpec
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.conftest import of_type, run_turn

# The async tests run on the session's event loop, where the sandbox pool lives.
on_session_loop = pytest.mark.asyncio(loop_scope="session")
DONE = Turn(text="Done.")


async def count_words(context: ToolContext) -> ToolOutcome:
    text = context.text_argument("text")
    if not text.strip():
        raise InvalidArguments('"text" is empty; send the words to count')
    return ToolOutcome(Observation(success=True, stdout=f"{len(text.split())} words"))


WORD_COUNT = Tool(
    spec=ToolSpec(
        "count_words",
        "Count the words of a text.",
        {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    ),
    handler=count_words,
    usage="count_words(text): how many words a text has.",
)


def offered_tools(fake: FakeLLMServer, request: int = 0) -> list[str]:
    body = fake.model_requests[request].json or {}
    return [tool["function"]["name"] for tool in body.get("tools", [])]


def system_prompt(fake: FakeLLMServer) -> str:
    return (fake.model_requests[0].json or {})["messages"][0]["content"]


def test_the_builtin_tools_in_the_order_the_model_sees_them() -> None:
    tools = builtin_tools()

    assert tools.names() == [EXECUTE_CODE, LIST_FILES, PREVIEW_FILE]
    assert [spec.name for spec in tools.specs()] == tools.names()
    assert builtin_tools() is not tools  # each caller gets a registry of its own


def test_a_name_is_registered_once() -> None:
    tools = builtin_tools()
    tools.register(WORD_COUNT)

    with pytest.raises(ValueError, match="count_words"):
        tools.register(WORD_COUNT)


def test_a_subset_keeps_the_registry_order_and_refuses_unknown_names() -> None:
    tools = ToolRegistry([*builtin_tools(), WORD_COUNT])

    assert tools.subset(["count_words", LIST_FILES]).names() == [LIST_FILES, "count_words"]
    with pytest.raises(KeyError, match="transfer_to_Reviewer"):
        tools.subset([LIST_FILES, "transfer_to_Reviewer"])


@on_session_loop
async def test_a_registered_tool_is_offered_described_and_run(
    make_agent, fake: FakeLLMServer
) -> None:
    tools = builtin_tools()
    tools.register(WORD_COUNT)
    agent = make_agent(
        Turn(tool_calls=[("count_words", {"text": "one two three"})]), DONE, tools=tools
    )

    events = await run_turn(agent, "How many words?")

    (call,) = of_type(events, ToolCallEvent)
    assert (call.tool, call.code) == ("count_words", None)
    (result,) = of_type(events, ToolResultEvent)
    assert result.success
    assert "stdout:\n3 words" in result.observation
    assert offered_tools(fake) == [EXECUTE_CODE, LIST_FILES, PREVIEW_FILE, "count_words"]
    assert "- count_words(text): how many words a text has." in system_prompt(fake)


@on_session_loop
async def test_arguments_a_handler_refuses_are_explained_to_the_model(make_agent) -> None:
    agent = make_agent(
        Turn(tool_calls=[("count_words", {"text": "  "})]), DONE, tools=ToolRegistry([WORD_COUNT])
    )

    (result,) = of_type(await run_turn(agent, "Count nothing."), ToolResultEvent)

    assert result.error["name"] == "InvalidArguments"
    assert '"text" is empty' in result.observation


@on_session_loop
async def test_a_role_gets_only_its_subset_of_tools(make_agent, fake: FakeLLMServer) -> None:
    agent = make_agent(
        Turn(tool_calls=[(EXECUTE_CODE, {"code": "1 + 1"})]),
        DONE,
        tools=builtin_tools().subset([LIST_FILES]),
    )

    (result,) = of_type(await run_turn(agent, "Add."), ToolResultEvent)

    assert offered_tools(fake) == [LIST_FILES]
    prompt = system_prompt(fake)
    assert "- list_files(path)" in prompt
    assert "execute_code(code)" not in prompt
    assert result.error["name"] == "UnknownTool"
    assert "use: list_files" in result.observation
