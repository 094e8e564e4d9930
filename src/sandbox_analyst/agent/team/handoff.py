"""Handoffs are tool calls: `transfer_to_<Role>(reason)`. A role is offered one such tool per
role it lists; a call to any other role of the team is refused with an observation saying whom
it may hand off to (the team loop moves the conversation only after a call that succeeded)."""

from __future__ import annotations

from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.agent.team.spec import Role, TeamSpec
from sandbox_analyst.agent.tools import Tool, ToolContext, ToolOutcome, ToolRegistry
from sandbox_analyst.llm import ToolCall, ToolSpec

HANDOFF_PREFIX = "transfer_to_"
HANDOFF_REFUSED = "HandoffRefused"


def handoff_tool_name(role: str) -> str:
    return f"{HANDOFF_PREFIX}{role}"


def handoff_target(call: ToolCall) -> str | None:
    """The role a call hands off to, if it is a handoff call."""
    if call.name.startswith(HANDOFF_PREFIX):
        return call.name[len(HANDOFF_PREFIX) :]
    return None


def handoff_reason(call: ToolCall) -> str:
    reason = call.arguments.get("reason")
    return reason.strip() if isinstance(reason, str) else ""


def _spec(target: Role) -> ToolSpec:
    return ToolSpec(
        handoff_tool_name(target.name),
        f"Hand the conversation to {target.name}. {_first_sentence(target.instructions)}",
        {
            "type": "object",
            "properties": {
                "reason": {
                    "type": "string",
                    "description": f"In a sentence: what {target.name} should do, and why.",
                }
            },
            "required": ["reason"],
        },
    )


def _first_sentence(text: str) -> str:
    sentence = text.strip().split(". ")[0].strip()
    return sentence if sentence.endswith(".") or not sentence else sentence + "."


def _accepted(target: str):
    async def accept(context: ToolContext) -> ToolOutcome:
        reason = handoff_reason(context.call)
        said = f": {reason}" if reason else ""
        return ToolOutcome(Observation(success=True, stdout=f"Handed off to {target}{said}"))

    return accept


def _refused(source: Role):
    async def refuse(context: ToolContext) -> ToolOutcome:
        target = handoff_target(context.call)
        allowed = ", ".join(handoff_tool_name(name) for name in source.handoffs) or "nobody"
        return ToolOutcome(
            Observation.failure(
                HANDOFF_REFUSED,
                f"{source.name} may not hand off to {target}; it may hand off to: {allowed}",
            )
        )

    return refuse


def handoff_tools(spec: TeamSpec, source: Role) -> tuple[ToolRegistry, ToolRegistry]:
    """What `source` is offered (a handoff tool per role it lists) and what answers its calls
    (those, plus a refusal for every other role of the team)."""
    offered = ToolRegistry()
    answering = ToolRegistry()
    for target in spec.roles:
        if target.name == source.name:
            continue
        if target.name in source.handoffs:
            tool = Tool(
                _spec(target),
                _accepted(target.name),
                usage=f"{handoff_tool_name(target.name)}(reason): hand the conversation to "
                f"{target.name}.",
            )
            offered.register(tool)
        else:
            tool = Tool(_spec(target), _refused(source), usage="")
        answering.register(tool)
    return offered, answering
