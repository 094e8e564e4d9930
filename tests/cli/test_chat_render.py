"""How `analyst chat` shows a team turn: a label when the speaking role changes, one line per
handoff instead of a step panel, a refused handoff in red, and a stop that is not an answer
noted."""

from __future__ import annotations

import io

from rich.console import Console

from sandbox_analyst.cli.chat_render import ChatRenderer
from sandbox_analyst.client import TurnEvent


def render(*events: tuple[str, dict]) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    renderer = ChatRenderer(Console(file=out, width=100), Console(file=err, width=100))
    for name, data in events:
        renderer.event(TurnEvent(name, data))
    return out.getvalue(), err.getvalue()


def handoff(call_id: str, source: str, target: str, success: bool = True) -> list[tuple]:
    tool = f"transfer_to_{target}"
    error = None if success else {"name": "HandoffRefused", "value": f"{source} may not"}
    steps = [
        ("tool_call", {"call_id": call_id, "tool": tool, "arguments": {}, "agent": source}),
        (
            "tool_result",
            {
                "call_id": call_id,
                "tool": tool,
                "success": success,
                "error": error,
                "duration": 0.0,
                "agent": source,
            },
        ),
    ]
    if success:
        steps.append(
            (
                "handoff",
                {
                    "call_id": call_id,
                    "from": source,
                    "to": target,
                    "reason": "do the maths",
                    "agent": source,
                },
            )
        )
    return steps


def end(stop_reason: str) -> tuple:
    return (
        "message_end",
        {"status": "complete", "stop_reason": stop_reason, "agent": "Planner", "error": None},
    )


def test_each_role_is_labelled_and_each_handoff_is_a_line() -> None:
    out, _ = render(
        ("token", {"text": "Planning.\n", "agent": "Planner"}),
        *handoff("h1", "Planner", "CodeAgent"),
        (
            "tool_call",
            {
                "call_id": "c1",
                "tool": "execute_code",
                "code": "print(2)",
                "arguments": {},
                "agent": "CodeAgent",
            },
        ),
        ("stdout", {"call_id": "c1", "text": "2\n", "agent": "CodeAgent"}),
        (
            "tool_result",
            {
                "call_id": "c1",
                "tool": "execute_code",
                "success": True,
                "error": None,
                "duration": 0.1,
                "agent": "CodeAgent",
            },
        ),
        *handoff("h2", "CodeAgent", "Planner"),
        ("token", {"text": "It is 2.", "agent": "Planner"}),
        end("terminate"),
    )

    lines = [line.strip() for line in out.splitlines() if line.strip()]
    assert lines[0] == "[Planner]"
    assert lines[1] == "Planning."
    assert lines[2] == "Planner → CodeAgent: do the maths"
    assert lines[3] == "[CodeAgent]"
    assert "step 1 · execute_code" in lines[4]  # the handoff was not a step
    assert "CodeAgent → Planner: do the maths" in lines
    assert lines[-2:] == ["[Planner]", "It is 2."]
    assert "transfer_to_" not in out


def test_a_refused_handoff_and_a_limit_are_told() -> None:
    out, err = render(
        ("token", {"text": "Let me pass it on.", "agent": "CodeAgent"}),
        *handoff("h1", "CodeAgent", "AnalystAgent", success=False),
        end("max_messages"),
    )

    assert "handoff refused: CodeAgent may not" in out
    assert "stopped: max_messages" in err
