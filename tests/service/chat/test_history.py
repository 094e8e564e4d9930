"""The model's history is rebuilt from stored messages: tool calls grouped by the model call
that made them, each with its result, long results cut, unfinished turns said so."""

from __future__ import annotations

from sandbox_analyst.llm import ChatMessage, ToolCall
from sandbox_analyst.service.chat.history import (
    HISTORY_OBSERVATION_LIMIT,
    compact,
    history_from_messages,
    with_steps,
)
from sandbox_analyst.store import Message


def call(call_id: str, code: str) -> dict:
    return {"id": call_id, "name": "execute_code", "code": code, "arguments": {}}


def result(call_id: str, observation: str) -> dict:
    return {"call_id": call_id, "name": "execute_code", "observation": observation}


def stored(role: str, content: str = "", **fields: object) -> Message:
    values = {"tool_calls": [], "tool_results": [], "status": "complete", "error": None}
    return Message(role=role, content=content, **{**values, **fields})


def test_a_turn_comes_back_as_calls_results_and_the_answer() -> None:
    calls = with_steps(
        [call("c1", "a = 1"), call("c2", "b = 2"), call("c3", "print(a + b)")],
        [
            ChatMessage("user", "q"),
            ChatMessage(
                "assistant",
                "Two steps first.",
                tool_calls=[ToolCall("c1", "execute_code", {}, "{}"), ToolCall("c2", "x", {}, "")],
            ),
            ChatMessage("tool", "ok", tool_call_id="c1"),
            ChatMessage("tool", "ok", tool_call_id="c2"),
            ChatMessage("assistant", "", tool_calls=[ToolCall("c3", "execute_code", {}, "{}")]),
            ChatMessage("tool", "3", tool_call_id="c3"),
            ChatMessage("assistant", "It is 3."),
        ],
    )
    messages = [
        stored("user", "What is a + b?"),
        stored(
            "assistant",
            "It is 3.",
            tool_calls=calls,
            tool_results=[result("c1", ""), result("c2", ""), result("c3", "3")],
        ),
    ]

    history = history_from_messages(messages)

    assert [(m.role, m.content) for m in history] == [
        ("user", "What is a + b?"),
        ("assistant", "Two steps first."),
        ("tool", ""),
        ("tool", ""),
        ("assistant", ""),
        ("tool", "3"),
        ("assistant", "It is 3."),
    ]
    assert [c.arguments for c in history[1].tool_calls] == [{"code": "a = 1"}, {"code": "b = 2"}]
    assert history[5].tool_call_id == "c3"


def test_a_call_cut_off_before_its_result_is_left_out_and_the_turn_says_how_it_ended() -> None:
    messages = [
        stored("user", "Sleep"),
        stored(
            "assistant",
            status="cancelled",
            error="the client disconnected",
            tool_calls=[call("c1", "import time; time.sleep(60)")],
        ),
        stored("user", "Hello?"),
    ]

    history = history_from_messages(messages)

    assert [(m.role, m.content, m.tool_calls) for m in history] == [
        ("user", "Sleep", []),
        ("assistant", "[this turn ended cancelled: the client disconnected]", []),
        ("user", "Hello?", []),
    ]


def test_long_observations_keep_their_head_and_tail() -> None:
    text = "head" + "x" * 10_000 + "tail"

    cut = compact(text)

    assert cut.startswith("head")
    assert cut.endswith("tail")
    assert "characters cut" in cut
    assert len(cut) < HISTORY_OBSERVATION_LIMIT + 100
    assert compact("short") == "short"
