"""Tool steps as markdown for chat front ends that only show text.

Front ends such as LibreChat and Open WebUI run tools of their own through `tool_calls`; ours
already ran, so each step is written into the answer instead, in one of three styles:

- `markdown`: the code and its output as plain fenced blocks, always visible;
- `details`: the same inside a collapsed `<details>` block;
- `think`: the same inside a `<think>` block, which front ends show as collapsible reasoning.

A step is written in two halves (`step_start` when the code is sent to the sandbox,
`step_end` when it finished) so a streaming reader sees the code while it runs. Charts are
not embedded here: the model puts them in its answer, and whatever it leaves out is appended
at the end (`files_markdown`), so each image is shown exactly once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ToolStyle = Literal["markdown", "details", "think"]
TOOL_STYLES: tuple[ToolStyle, ...] = ("markdown", "details", "think")

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_BACKTICK_RUN = re.compile(r"`+")


@dataclass(frozen=True)
class FileLink:
    name: str
    url: str
    media_type: str

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")


def fence(text: str, language: str = "") -> str:
    """`text` as a fenced code block whose fence no run of backticks inside can close."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    marks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{marks}{language}\n{body}{marks}\n"


def trim(text: str, limit: int) -> str:
    """`text` without terminal colour codes, its head and tail kept when over `limit`."""
    text = _ANSI_ESCAPE.sub("", text)
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - limit
    return f"{text[:head]}\n… {cut:,} characters not shown …\n{text[-tail:]}"


def _call_label(tool: str, code: str | None, arguments: dict) -> str:
    if code is not None:
        return "Code"
    shown = ", ".join(f"{name}={json.dumps(value)}" for name, value in arguments.items())
    return f"`{tool}({shown})`"


def step_start(style: ToolStyle, tool: str, code: str | None, arguments: dict) -> str:
    """The first half of a step: what is run."""
    label = _call_label(tool, code, arguments)
    body = fence(code, "python") + "\n" if code is not None else ""
    if style == "details":
        return f"<details>\n<summary>{label}</summary>\n\n{body}"
    if style == "think":
        return f"<think>\n{label}\n\n{body}"
    return f"**{label}**\n\n{body}"


def step_end(
    style: ToolStyle,
    *,
    success: bool,
    output: str,
    duration: float,
    files: Sequence[FileLink] = (),
    output_chars: int = 1500,
) -> str:
    """The second half of a step: how it went, its output (trimmed) and the files it made."""
    outcome = "ok" if success else "failed"
    parts = [f"*{outcome} in {duration:.2f} s*\n\n"]
    if output.strip():
        parts.append(fence(trim(output.rstrip("\n"), output_chars), "text") + "\n")
    if files:
        links = ", ".join(f"[{link.name}]({link.url})" for link in files)
        parts.append(f"Files: {links}\n\n")
    text = "".join(parts)
    if style == "details":
        return f"{text}</details>\n\n"
    if style == "think":
        return f"{text}</think>\n\n"
    return text


def files_markdown(files: Sequence[FileLink]) -> str:
    """Charts as images and other files as links, one per line."""
    lines = [
        f"![{link.name}]({link.url})" if link.is_image else f"[{link.name}]({link.url})"
        for link in files
    ]
    return "\n\n".join(lines) + "\n" if lines else ""


def note(text: str) -> str:
    """A remark of ours (an error, a restarted sandbox), set apart from the model's words."""
    return f"> {text}\n\n"
