"""A conversation with its tool calls written out as plain text.

The closing call after the step limit is made without tools, and some providers (Anthropic,
Bedrock) refuse a request that holds tool-call blocks but defines no tools. Written out as text,
the same steps are readable by every provider, and the model cannot call anything.
"""

from __future__ import annotations

from sandbox_analyst.llm import ChatMessage


def as_plain_text(messages: list[ChatMessage]) -> list[ChatMessage]:
    """`messages` with tool calls folded into the assistant's text and tool results into user
    text; consecutive messages of the same role are joined, as strict providers require."""
    converted: list[ChatMessage] = []
    for message in messages:
        if message.role == "tool":
            role, content = (
                "user",
                f"[result of tool call {message.tool_call_id}]\n{message.content}",
            )
        elif message.role == "assistant" and message.tool_calls:
            calls = "\n".join(
                f"[tool call {call.id}: {call.name}({call.raw_arguments or call.arguments})]"
                for call in message.tool_calls
            )
            role, content = "assistant", f"{message.content}\n{calls}".strip()
        else:
            role, content = message.role, message.content
        previous = converted[-1] if converted else None
        if previous is not None and previous.role == role and role != "system":
            previous.content = f"{previous.content}\n\n{content}"
        else:
            converted.append(ChatMessage(role, content))
    return converted
