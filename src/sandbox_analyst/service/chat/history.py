"""How a turn's tool calls are stored on its assistant message, and how the model's history is
rebuilt from stored messages next turn.

One user message and one assistant message per turn: the assistant message holds the final
text, plus its tool calls (`{"id", "name", "code", "arguments", "step", "text"}`; `step`
numbers the model call that made it and `text` is what the model said before it) and their
results (`{"call_id", "observation", "results", ...}`: the observation is exactly what the model
saw; `results` keeps the rich outputs — a DataFrame's HTML table — so a front end can show the
turn again as it first appeared).
That is all the model needs to see its earlier work again, kept compact: long observations are
cut to their head and tail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sandbox_analyst.agent import ResultEvent, ToolCallEvent, ToolResultEvent
from sandbox_analyst.llm import ChatMessage, ToolCall
from sandbox_analyst.store import Message

HISTORY_OBSERVATION_LIMIT = 2000
# Rich outputs kept per tool call, and the size of each: a preview of a table, not a dump.
STORED_RESULTS_PER_CALL = 20
STORED_RESULT_CHARS = 200_000
_CUT_MARKER = "\n[... {count} characters cut from the history ...]\n"


def tool_call_entry(event: ToolCallEvent) -> dict[str, Any]:
    arguments = {k: v for k, v in event.arguments.items() if k != "code"}
    return {"id": event.call_id, "name": event.tool, "code": event.code, "arguments": arguments}


def result_entry(event: ResultEvent) -> dict[str, Any] | None:
    """A rich output as stored: its text and HTML, or None when it is too big to keep."""
    text, html = event.text, event.html
    if html is not None and len(html) > STORED_RESULT_CHARS:
        html = None  # cutting HTML would break the markup; the text form stays
    if text is not None and len(text) > STORED_RESULT_CHARS:
        text = text[:STORED_RESULT_CHARS] + "\n[... cut ...]"
    if text is None and html is None:
        return None
    return {"text": text, "html": html}


def tool_result_entry(
    event: ToolResultEvent, artifact_ids: list[str], results: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    error = None
    if event.error is not None:
        error = {"name": event.error.get("name"), "value": event.error.get("value")}
    return {
        "call_id": event.call_id,
        "name": event.tool,
        "success": event.success,
        "observation": event.observation,
        "error": error,
        "duration": round(event.duration, 4),
        "state_lost": event.state_lost,
        "artifact_ids": artifact_ids,
        "results": list(results)[:STORED_RESULTS_PER_CALL],
    }


def with_steps(
    tool_calls: list[dict[str, Any]], turn: Iterable[ChatMessage]
) -> list[dict[str, Any]]:
    """`tool_calls` marked with the model call ("step") that made each, and the text the
    model said before them, from the messages the agent reported at the end of the turn."""
    steps: dict[str, tuple[int, str]] = {}
    for step, message in enumerate(m for m in turn if m.role == "assistant" and m.tool_calls):
        for position, call in enumerate(message.tool_calls):
            steps[call.id] = (step, message.content if position == 0 else "")
    marked = []
    for entry in tool_calls:
        step, text = steps.get(entry["id"], (None, ""))
        marked.append({**entry, "step": step, "text": text})
    return marked


def history_from_messages(messages: Iterable[Message]) -> list[ChatMessage]:
    """The model's view of earlier turns (no system message: the agent adds its own)."""
    history: list[ChatMessage] = []
    for message in messages:
        if message.role == "user":
            history.append(ChatMessage("user", message.content))
        elif message.role == "assistant":
            history.extend(_assistant_turn(message))
    return history


def _assistant_turn(message: Message) -> list[ChatMessage]:
    results = {result["call_id"]: result for result in message.tool_results}
    # A call without a result (the turn was cut short) cannot be shown: every tool call the
    # model sees must have its answer.
    answered = [call for call in message.tool_calls if call.get("id") in results]
    turn: list[ChatMessage] = []
    for group in _by_step(answered):
        turn.append(
            ChatMessage(
                "assistant",
                group[0].get("text") or "",
                tool_calls=[_tool_call(call) for call in group],
            )
        )
        for call in group:
            result = results[call["id"]]
            turn.append(
                ChatMessage(
                    "tool",
                    compact(str(result.get("observation", ""))),
                    tool_call_id=call["id"],
                    name=call.get("name"),
                )
            )
    content = message.content
    if message.status != "complete" and not content:
        reason = f": {message.error}" if message.error else ""
        content = f"[this turn ended {message.status}{reason}]"
    if content:
        turn.append(ChatMessage("assistant", content))
    return turn


def _by_step(calls: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive calls of the same model call; a call of unknown step stands alone."""
    groups: list[list[dict[str, Any]]] = []
    for call in calls:
        step = call.get("step")
        if groups and step is not None and groups[-1][0].get("step") == step:
            groups[-1].append(call)
        else:
            groups.append([call])
    return groups


def _tool_call(call: dict[str, Any]) -> ToolCall:
    arguments = dict(call.get("arguments") or {})
    if call.get("code") is not None:
        arguments["code"] = call["code"]
    return ToolCall(
        id=call["id"],
        name=call.get("name") or "execute_code",
        arguments=arguments,
        raw_arguments=json.dumps(arguments),
    )


def compact(text: str, limit: int = HISTORY_OBSERVATION_LIMIT) -> str:
    """`text` whole if short, else its head and tail around a marker."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return text[:keep] + _CUT_MARKER.format(count=len(text) - 2 * keep) + text[-keep:]
