"""A chat turn's events written out as one markdown answer, piece by piece.

The model's words pass through as they stream; each tool step is written with `render`;
links to our files are replaced by signed absolute URLs that a front end (and the browser
showing its page) can fetch without our credentials. The model's text is held back one
word at a time for that: a URL never holds whitespace, so a complete word is a complete URL.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox_analyst.api.openai_compat.render import (
    FileLink,
    ToolStyle,
    files_markdown,
    note,
    step_end,
    step_start,
)
from sandbox_analyst.service import (
    ArtifactEvent,
    ChatEvent,
    ErrorEvent,
    MessageEndEvent,
    ResultEvent,
    SandboxRestoredEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
    file_links_in,
)

_WORD_END = re.compile(r"\s")

Signer = Callable[[str], Awaitable[str | None]]
"""A file id -> a URL anyone may fetch it from (None: not the caller's file)."""


@dataclass
class _Step:
    results: list[str] = field(default_factory=list)
    files: list[FileLink] = field(default_factory=list)


class AnswerWriter:
    """Feed it the turn's events in order (`write`), then `close` it; each call returns the
    markdown to append to the answer. `usage` holds the turn's token counts once it ended."""

    def __init__(self, style: ToolStyle, sign: Signer, *, output_chars: int = 1500) -> None:
        self._style = style
        self._sign = sign
        self._output_chars = output_chars
        self._held = ""  # the model's text not yet written: an unfinished word
        self._steps: dict[str, _Step] = {}
        self._made: dict[str, FileLink] = {}  # files this turn produced, by id
        self._linked: set[str] = set()  # file ids the model's text links to
        self._last = "\n\n"  # the end of what was written, to start blocks on a new paragraph
        self.usage: dict[str, Any] = {}

    async def write(self, event: ChatEvent) -> str:
        if isinstance(event, TokenEvent):
            self._held += event.text
            cut = max((m.end() for m in _WORD_END.finditer(self._held)), default=0)
            ready, self._held = self._held[:cut], self._held[cut:]
            return self._emit(await self._link_files(ready))
        if isinstance(event, ToolCallEvent):
            self._steps[event.call_id] = _Step()
            start = step_start(self._style, event.tool, event.code, event.arguments)
            return await self._block(start)
        if isinstance(event, ResultEvent):
            if event.text and event.call_id in self._steps:
                self._steps[event.call_id].results.append(event.text)
            return ""
        if isinstance(event, ArtifactEvent):
            return await self._artifact(event)
        if isinstance(event, ToolResultEvent):
            step = self._steps.pop(event.call_id, _Step())
            end = step_end(
                self._style,
                success=event.success,
                output=_output(event, step.results),
                duration=event.duration,
                files=step.files,
                output_chars=self._output_chars,
            )
            return self._emit(end)
        if isinstance(event, ErrorEvent):
            return await self._block(note(f"**Error:** {event.message}"))
        if isinstance(event, SandboxRestoredEvent):
            message = (
                f"The sandbox was restarted ({event.reason}): {event.files} files restored, "
                f"{event.cells_replayed} earlier cells run again."
            )
            return await self._block(note(message))
        if isinstance(event, MessageEndEvent):
            self.usage = dict(event.usage)
        return ""

    async def close(self) -> str:
        """The held-back text, then the files the model did not show."""
        text = await self._link_files(self._held)
        self._held = ""
        missing = [link for file_id, link in self._made.items() if file_id not in self._linked]
        if missing:
            text = self._emit(text) + (await self._block(files_markdown(missing)))
            return text
        return self._emit(text)

    async def _artifact(self, event: ArtifactEvent) -> str:
        artifact = event.artifact
        url = await self._sign(artifact.file_id)
        if url is not None:
            link = FileLink(artifact.name, url, artifact.media_type)
            self._made[artifact.file_id] = link
            if event.call_id in self._steps:
                self._steps[event.call_id].files.append(link)
        return ""

    async def _block(self, markdown: str) -> str:
        """`markdown` as a block of its own: after any held text, on a new paragraph."""
        before = self._emit(await self._link_files(self._held))
        self._held = ""
        gap = "" if self._last.endswith("\n\n") else ("\n" if self._last.endswith("\n") else "\n\n")
        return before + self._emit(gap + markdown)

    def _emit(self, text: str) -> str:
        if text:
            self._last = (self._last + text)[-2:]
        return text

    async def _link_files(self, text: str) -> str:
        """`text` with each link to one of the caller's files signed (an old signature the
        link carried is replaced)."""
        pieces, position = [], 0
        for link in file_links_in(text):
            url = await self._sign(link.file_id)
            if url is None:
                continue
            self._linked.add(link.file_id)
            pieces.append(text[position : link.start])
            pieces.append(url)
            position = link.end
        pieces.append(text[position:])
        return "".join(pieces)


def _output(event: ToolResultEvent, results: list[str]) -> str:
    """What a step printed and showed, and its error."""
    if event.code is None:  # list_files, preview_file: what the model was told is the output
        return event.observation
    parts = [event.stdout, event.stderr, *results]
    if event.error:
        parts.append(
            event.error.get("traceback") or f"{event.error['name']}: {event.error['value']}"
        )
    return "\n".join(part.rstrip("\n") for part in parts if part and part.strip())
