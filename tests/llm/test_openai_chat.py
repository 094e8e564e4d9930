"""The OpenAI adapter against the fake server, through the real `openai` SDK."""

import pytest

from sandbox_analyst.llm import (
    ChatMessage,
    DoneEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    UsageEvent,
)
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.llm.conftest import QUESTION, RUN_CODE, collect


def tool_calls(events):
    return [event.call for event in events if isinstance(event, ToolCallEvent)]


async def test_text_streams_in_order_then_usage_and_done(fake, make_llm):
    fake.add_turns(Turn(text="The mean is 4.5.", usage=(42, 7)))
    events = await collect(make_llm().stream(QUESTION))
    text = [event.text for event in events if isinstance(event, TextDelta)]
    assert len(text) > 1
    assert "".join(text) == "The mean is 4.5."
    assert events[-2:] == [UsageEvent(42, 7), DoneEvent("stop")]


async def test_a_tool_call_round_trips_its_arguments(fake, make_llm):
    arguments = {"code": 'df = pd.read_csv("x.csv")\nprint(df["é"].mean())', "timeout": 30}
    fake.add_turns(Turn(tool_calls=[("run_code", arguments)]))
    events = await collect(make_llm().stream(QUESTION, [RUN_CODE]))
    [call] = tool_calls(events)
    assert (call.name, call.arguments, call.parse_error) == ("run_code", arguments, None)
    assert call.id == "call_1"
    assert events[-1] == DoneEvent("tool_calls")


async def test_two_parallel_tool_calls(fake, make_llm):
    fake.add_turns(Turn(tool_calls=[("run_code", {"code": "a"}), ("run_code", {"code": "b"})]))
    calls = tool_calls(await collect(make_llm().stream(QUESTION, [RUN_CODE])))
    assert [(c.id, c.arguments) for c in calls] == [
        ("call_1", {"code": "a"}),
        ("call_2", {"code": "b"}),
    ]


async def test_the_request_carries_model_system_prompt_and_tools(fake, make_llm):
    fake.add_turns(Turn(text="hi"))
    await collect(make_llm(model="gpt-test").stream(QUESTION, [RUN_CODE], max_tokens=100))
    [request] = fake.model_requests
    body = request.json
    assert request.headers["authorization"] == "Bearer test-key"
    assert body["model"] == "gpt-test"
    assert body["stream"] is True
    assert body["max_tokens"] == 100
    assert body["messages"][0] == {"role": "system", "content": "You are an analyst."}
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "run_code",
                "description": RUN_CODE.description,
                "parameters": RUN_CODE.parameters,
            },
        }
    ]


async def test_a_tool_result_is_sent_back_the_way_openai_expects(fake, make_llm):
    fake.add_turns(Turn(text="The mean is 4.5."))
    call = ToolCall("call_9", "run_code", {"code": "x.mean()"}, '{"code": "x.mean()"}')
    conversation = [
        *QUESTION,
        ChatMessage("assistant", "Let me compute.", tool_calls=[call]),
        ChatMessage("tool", "4.5", tool_call_id="call_9"),
    ]
    await collect(make_llm().stream(conversation, [RUN_CODE]))
    messages = fake.model_requests[0].json["messages"]
    assert messages[2:] == [
        {
            "role": "assistant",
            "content": "Let me compute.",
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "run_code", "arguments": '{"code": "x.mean()"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": "4.5"},
    ]


async def test_a_call_whose_arguments_did_not_parse_is_sent_back_as_valid_json(fake, make_llm):
    fake.add_turns(Turn(text="ok"))
    call = ToolCall("call_1", "run_code", {}, '{"code": ', parse_error="not valid JSON")
    conversation = [*QUESTION, ChatMessage("assistant", tool_calls=[call])]
    conversation.append(
        ChatMessage("tool", "error: arguments not valid JSON", tool_call_id="call_1")
    )
    await collect(make_llm().stream(conversation, [RUN_CODE]))
    sent = fake.model_requests[0].json["messages"][2]
    assert sent["content"] is None
    assert sent["tool_calls"][0]["function"]["arguments"] == "{}"


@pytest.mark.parametrize(
    "quirks",
    [
        {"ollama_index_reuse"},
        {"ollama_index_reuse", "single_chunk_tool_call"},
        {"fragmented_arguments"},
        {"single_chunk_tool_call"},
        {"no_tool_call_ids"},
        {"no_tool_call_ids", "fragmented_arguments"},
    ],
)
async def test_server_quirks_still_give_the_same_calls(quirks, make_llm):
    first, second = {"code": "df.describe()"}, {"code": 'print("done, ok")'}
    script = [Turn(tool_calls=[("run_code", first), ("run_code", second)])]
    with FakeLLMServer(script, quirks=quirks) as quirky:
        llm = make_llm(base_url=quirky.openai_base_url)
        calls = tool_calls(await collect(llm.stream(QUESTION, [RUN_CODE])))
    assert [c.arguments for c in calls] == [first, second]
    assert len({c.id for c in calls}) == 2
    if "no_tool_call_ids" not in quirks:
        assert [c.id for c in calls] == ["call_1", "call_2"]


async def test_invalid_json_arguments_come_back_with_a_parse_error(fake, make_llm):
    fake.add_turns(Turn(tool_calls=[("run_code", '{"code": "print(1)"')]))
    [call] = tool_calls(await collect(make_llm().stream(QUESTION, [RUN_CODE])))
    assert call.arguments == {}
    assert call.raw_arguments == '{"code": "print(1)"'
    assert "not valid JSON" in call.parse_error


async def test_stream_tools_off_makes_a_plain_call_and_gives_the_same_events(fake, make_llm):
    fake.add_turns(Turn(text="Computing.", tool_calls=[("run_code", {"code": "1"})], usage=(3, 4)))
    events = await collect(make_llm(stream_tools=False).stream(QUESTION, [RUN_CODE]))
    assert "stream" not in fake.model_requests[0].json
    assert events == [
        TextDelta("Computing."),
        ToolCallEvent(ToolCall("call_1", "run_code", {"code": "1"}, '{"code": "1"}')),
        UsageEvent(3, 4),
        DoneEvent("tool_calls"),
    ]


async def test_stream_tools_off_still_streams_calls_without_tools(fake, make_llm):
    fake.add_turns(Turn(text="plain"))
    await collect(make_llm(stream_tools=False).stream(QUESTION))
    assert fake.model_requests[0].json["stream"] is True


async def test_a_length_stop_is_reported(fake, make_llm):
    fake.add_turns(Turn(text="cut", stop_reason="length"))
    events = await collect(make_llm().stream(QUESTION))
    assert events[-1] == DoneEvent("length")
