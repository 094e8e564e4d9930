"""Assembles streamed tool-call fragments into complete calls.

Our own rather than an SDK helper because servers disagree on how they stream tool calls:
Ollama gives every parallel call `index: 0` (a new `id` is what tells them apart), some send a
whole call in one chunk, some send no ids, some send `""` and then the full JSON, and arguments
may be split anywhere, even inside a JSON token.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox_analyst.llm.messages import ToolCall


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def parse_arguments(raw: str) -> tuple[dict, str | None]:
    """The arguments object and, when `raw` is not a JSON object, why not."""
    if not raw.strip():
        return {}, None
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, f"arguments are not valid JSON ({exc}): {raw!r}"
    if not isinstance(value, dict):
        return {}, f"arguments must be a JSON object, got {type(value).__name__}: {raw!r}"
    return value, None


def call_from_complete(id: str | None, name: str, arguments: Any) -> ToolCall:
    """A call that arrived whole (non-streaming): `arguments` is a JSON string or an object."""
    if isinstance(arguments, dict):
        return ToolCall(id or new_call_id(), name, arguments, json.dumps(arguments))
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    parsed, error = parse_arguments(raw)
    return ToolCall(id or new_call_id(), name, parsed, raw, error)


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    fragments: list[str] = field(default_factory=list)
    initial_input: dict | None = None  # Anthropic's content_block_start `input`

    def to_call(self) -> ToolCall:
        raw = "".join(self.fragments)
        if not raw.strip() and self.initial_input:
            raw = json.dumps(self.initial_input)
        arguments, error = parse_arguments(raw)
        if not self.name:
            error = "tool call without a function name" + (f"; {error}" if error else "")
        return ToolCall(self.id or new_call_id(), self.name, arguments, raw, error)


class ToolCallAccumulator:
    """Feed every fragment with `add`; `calls()` returns the complete calls in arrival order."""

    def __init__(self) -> None:
        self._calls: list[_PartialCall] = []
        self._by_index: dict[int | None, _PartialCall] = {}

    def add(
        self,
        index: int | None,
        *,
        id: str | None = None,
        name: str | None = None,
        arguments: str | None = None,
        initial_input: dict | None = None,
    ) -> None:
        current = self._by_index.get(index)
        if index is None and current is None and self._calls:
            current = self._calls[-1]  # a server that omits `index` continues the last call
        if current is None or self._starts_new_call(current, id, name):
            current = _PartialCall()
            self._calls.append(current)
            self._by_index[index] = current
        if id:
            current.id = id
        if name and name != current.name:
            current.name += name
        if arguments:
            current.fragments.append(arguments)
        if initial_input:
            current.initial_input = initial_input

    @staticmethod
    def _starts_new_call(current: _PartialCall, id: str | None, name: str | None) -> bool:
        if id and current.id and id != current.id:
            return True  # Ollama: same index, new id
        # No ids at all: a different name on a call that already has arguments is a new call.
        return bool(not id and name and current.name and name != current.name and current.fragments)

    def calls(self) -> list[ToolCall]:
        return [partial.to_call() for partial in self._calls]

    def __bool__(self) -> bool:
        return bool(self._calls)
