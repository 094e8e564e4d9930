"""The Anthropic adapter against the fake server, through the real `anthropic` SDK."""

import pytest

from sandbox_analyst.llm import (
    ChatMessage,
    DoneEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    UsageEvent,
)
from sandbox_analyst.llm.anthropic_messages import DEFAULT_MAX_TOKENS
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.llm.conftest import QUESTION, RUN_CODE, collect


def tool_calls(events):
    return [event.call for event in events if isinstance(event, ToolCallEvent)]


async def test_text_streams_in_order_then_usage_and_done(fake, make_llm):
    fake.add_turns(Turn(text="The mean is 4.5.", usage=(42, 7)))
    events = await collect(make_llm("anthropic").stream(QUESTION))
    text = [event.text for event in events if isinstance(event, TextDelta)]
    assert len(text) > 1
    assert "".join(text) == "The mean is 4.5."
    assert events[-2:] == [UsageEvent(42, 7), DoneEvent("stop")]


async def test_a_tool_call_round_trips_its_arguments(fake, make_llm):
    arguments = {"code": 'print(df["é"].mean())', "timeout": 30}
    fake.add_turns(Turn(text="Let me check.", tool_calls=[("run_code", arguments)]))
    events = await collect(make_llm("anthropic").stream(QUESTION, [RUN_CODE]))
    [call] = tool_calls(events)
    assert (call.id, call.name, call.arguments) == ("toolu_1", "run_code", arguments)
    assert events[0] == TextDelta("Let ")
    assert events[-1] == DoneEvent("tool_calls")


async def test_two_parallel_tool_calls(fake, make_llm):
    fake.add_turns(Turn(tool_calls=[("run_code", {"code": "a"}), ("run_code", {"code": "b"})]))
    calls = tool_calls(await collect(make_llm("anthropic").stream(QUESTION, [RUN_CODE])))
    assert [(c.id, c.arguments) for c in calls] == [
        ("toolu_1", {"code": "a"}),
        ("toolu_2", {"code": "b"}),
    ]


async def test_system_prompt_goes_to_the_system_parameter_and_tools_get_input_schema(
    fake, make_llm
):
    fake.add_turns(Turn(text="hi"))
    await collect(make_llm("anthropic", model="claude-test").stream(QUESTION, [RUN_CODE]))
    body = fake.model_requests[0].json
    assert body["model"] == "claude-test"
    assert body["system"] == "You are an analyst."
    assert body["messages"] == [{"role": "user", "content": "Mean of x?"}]
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS
    assert body["tools"] == [
        {
            "name": "run_code",
            "description": RUN_CODE.description,
            "input_schema": RUN_CODE.parameters,
        }
    ]


async def test_tool_results_are_tool_result_blocks_in_one_user_message(fake, make_llm):
    fake.add_turns(Turn(text="Both done."))
    calls = [
        ToolCall("toolu_a", "run_code", {"code": "1"}, '{"code": "1"}'),
        ToolCall("toolu_b", "run_code", {"code": "2"}, '{"code": "2"}'),
    ]
    conversation = [
        *QUESTION,
        ChatMessage("assistant", "Running both.", tool_calls=calls),
        ChatMessage("tool", "1", tool_call_id="toolu_a"),
        ChatMessage("tool", "2", tool_call_id="toolu_b"),
        ChatMessage("user", "And now?"),
    ]
    await collect(make_llm("anthropic").stream(conversation, [RUN_CODE]))
    messages = fake.model_requests[0].json["messages"]
    assert messages[1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Running both."},
                {"type": "tool_use", "id": "toolu_a", "name": "run_code", "input": {"code": "1"}},
                {"type": "tool_use", "id": "toolu_b", "name": "run_code", "input": {"code": "2"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "1"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": "2"},
                {"type": "text", "text": "And now?"},
            ],
        },
    ]


@pytest.mark.parametrize("quirks", [{"fragmented_arguments"}, {"slow"}])
async def test_fragmented_or_slow_streams_give_the_same_calls(quirks, make_llm):
    arguments = {"code": 'print("a, b")\nx = {"k": [1, 2.5]}'}
    with FakeLLMServer([Turn(tool_calls=[("run_code", arguments)])], quirks=quirks) as quirky:
        llm = make_llm("anthropic", base_url=quirky.anthropic_base_url)
        [call] = tool_calls(await collect(llm.stream(QUESTION, [RUN_CODE])))
    assert call.arguments == arguments


async def test_invalid_json_arguments_come_back_with_a_parse_error(fake, make_llm):
    fake.add_turns(Turn(tool_calls=[("run_code", '{"code": ')]))
    [call] = tool_calls(await collect(make_llm("anthropic").stream(QUESTION, [RUN_CODE])))
    assert call.arguments == {}
    assert call.parse_error is not None


async def test_stream_tools_off_makes_a_plain_call_and_gives_the_same_events(fake, make_llm):
    fake.add_turns(Turn(text="Computing.", tool_calls=[("run_code", {"code": "1"})], usage=(3, 4)))
    llm = make_llm("anthropic", stream_tools=False)
    events = await collect(llm.stream(QUESTION, [RUN_CODE], temperature=0.2))
    body = fake.model_requests[0].json
    assert "stream" not in body
    assert body["temperature"] == 0.2
    assert events == [
        TextDelta("Computing."),
        ToolCallEvent(ToolCall("toolu_1", "run_code", {"code": "1"}, '{"code": "1"}')),
        UsageEvent(3, 4),
        DoneEvent("tool_calls"),
    ]


async def test_max_tokens_stop_is_reported_as_length(fake, make_llm):
    fake.add_turns(Turn(text="cut", stop_reason="length"))
    events = await collect(make_llm("anthropic").stream(QUESTION, max_tokens=10))
    assert fake.model_requests[0].json["max_tokens"] == 10
    assert events[-1] == DoneEvent("length")
