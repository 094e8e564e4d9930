"""What the fake LLM server answers (a script of turns) and what it saw (recorded requests)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

QUIRKS = frozenset(
    {
        "ollama_index_reuse",  # every parallel tool call streamed with `index: 0`
        "fragmented_arguments",  # arguments split into 1-3 character fragments
        "single_chunk_tool_call",  # a whole tool call (id, name, arguments) in one chunk
        "no_tool_call_ids",  # tool calls without an `id`
        "slow",  # a pause before every chunk
    }
)
SLOW_CHUNK_DELAY = 0.05


@dataclass
class Turn:
    """One model answer: text and/or tool calls. With `error_status`, the first `error_times`
    requests for this turn get that HTTP error instead, then the answer is served.

    A tool call's arguments are a dict (sent as JSON) or a string sent verbatim, e.g. invalid
    JSON to exercise a client's error handling."""

    text: str = ""
    tool_calls: list[tuple[str, dict | str]] = field(default_factory=list)
    error_status: int | None = None
    error_times: int = 1
    retry_after: float | None = None
    error_message: str | None = None
    chunk_delay: float = 0.0
    latency: float = 0.0  # seconds before the answer starts: a model's time to first token
    hang_after: int | None = None  # stream this many chunks, then go silent, connection open
    drop_after: int | None = None  # stream this many chunks, then close the connection
    usage: tuple[int, int] = (10, 5)
    stop_reason: str | None = None  # OpenAI's terms ("stop", "length"); default from the content


ScriptEntry = Turn | Callable[[dict], Turn]


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case names
    json: dict | None
    query: dict[str, str] = field(default_factory=dict)


def text_pieces(text: str) -> list[str]:
    """Text the way models stream it: a word (with its trailing space) at a time."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def argument_fragments(arguments: str, fragmented: bool) -> list[str]:
    """Arguments as a server streams them: a few tokens a chunk, or 1-3 characters with the
    `fragmented_arguments` quirk (so fragments end inside JSON strings, numbers and escapes)."""
    sizes: Iterator[int] = itertools.cycle((1, 3, 2)) if fragmented else itertools.repeat(8)
    fragments, position = [], 0
    while position < len(arguments):
        size = next(sizes)
        fragments.append(arguments[position : position + size])
        position += size
    return fragments


def last_tool_result(request_json: dict) -> str | None:
    """The content of the newest tool result in an OpenAI or Anthropic request body: what a
    scripted turn computed from the conversation (e.g. to quote the numbers code printed)."""
    for message in reversed(request_json.get("messages", [])):
        if message.get("role") == "tool":
            return _as_text(message.get("content"))
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list):
            results = [b for b in content if b.get("type") == "tool_result"]
            if results:
                return _as_text(results[-1].get("content"))
    return None


def _as_text(content: Any) -> str:
    if isinstance(content, list):  # content blocks
        return "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return "" if content is None else str(content)


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # e.g. Anthropic's 529 "overloaded"
        return f"HTTP {status}"
