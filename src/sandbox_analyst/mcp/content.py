"""What the sandbox gave, as MCP tool-result content: text for output and values, image
content for figures, embedded resources for downloaded files."""

from __future__ import annotations

import base64
import mimetypes
import re

from mcp_types import (
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    TextContent,
    TextResourceContents,
)

from sandbox_analyst.sandbox import EntryInfo, Execution, Result, SandboxErrorName
from sandbox_analyst.sandbox.models import Listing

# The image types MCP clients display (and models accept) as image content.
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SANDBOX_ERRORS = {
    value for name, value in vars(SandboxErrorName).items() if not name.startswith("_")
}

Content = TextContent | ImageContent | EmbeddedResource


def execution_result(execution: Execution, *, note: str | None = None) -> CallToolResult:
    """The tool result of one execution: its output, its rich results (figures as images),
    and, when the code failed, the error (then `isError`, so the model sees it failed)."""
    content: list[Content] = []
    if note:
        content.append(TextContent(text=note))
    stdout = "".join(execution.logs.stdout)
    stderr = "".join(execution.logs.stderr)
    if stdout:
        content.append(TextContent(text=stdout))
    if stderr:
        content.append(TextContent(text=f"[stderr]\n{stderr}"))
    for result in execution.results:
        content.extend(_result_content(result))
    error = execution.error
    if error is not None:
        traceback = _ANSI.sub("", error.traceback).strip()
        if error.name in _SANDBOX_ERRORS or not traceback:
            # The sandbox's own verdict (a time limit, a restart) after where the code was.
            traceback = f"{traceback}\n\n{error.name}: {error.value}".strip()
        content.append(TextContent(text=traceback))
    if not content:
        content.append(TextContent(text="(no output)"))
    return CallToolResult(content=content, is_error=error is not None)


def _result_content(result: Result) -> list[Content]:
    images: list[Content] = []
    if result.png is not None:
        images.append(ImageContent(data=result.png, mime_type="image/png"))
    elif result.jpeg is not None:
        images.append(ImageContent(data=result.jpeg, mime_type="image/jpeg"))
    text = result.markdown or result.text
    if images:
        # A figure's text is its repr (`<Figure size 640x480 with 1 Axes>`): the image says it.
        return images
    if text is None and result.svg is not None:
        text = result.svg
    if text is None and result.html is not None:
        text = result.html
    if text is None and result.json is not None:
        text = str(result.json)
    if text is None:
        formats = ", ".join(result.formats()) or "nothing"
        text = f"(a result in formats MCP cannot show: {formats})"
    return [TextContent(text=text)]


def listing_text(listing: Listing) -> str:
    """One line per file or directory; dot-files (caches the libraries write) left out."""
    entries = [
        entry
        for entry in listing.entries
        if not any(part.startswith(".") for part in entry.path.split("/"))
    ]
    if not entries:
        return "(no files)"
    lines = [_entry_line(entry) for entry in entries]
    if listing.truncated:
        lines.append(f"(listing cut short: {listing.truncated})")
    return "\n".join(lines)


def _entry_line(entry: EntryInfo) -> str:
    if entry.is_dir:
        return f"{entry.path}/"
    return f"{entry.path}\t{entry.size:,} bytes"


def file_content(session_id: str, path: str, data: bytes) -> list[Content]:
    """A file from the sandbox: an image as image content, text as a text resource, anything
    else as a base64 blob resource; each resource named `sandbox://<session>/<path>`."""
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    encoded = base64.b64encode(data).decode("ascii")
    if mime in IMAGE_TYPES:
        return [ImageContent(data=encoded, mime_type=mime)]
    uri = f"sandbox://{session_id}/{path.lstrip('/')}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        blob = BlobResourceContents(uri=uri, mime_type=mime, blob=encoded)
        return [EmbeddedResource(resource=blob)]
    if mime == "application/octet-stream":
        mime = "text/plain"
    return [EmbeddedResource(resource=TextResourceContents(uri=uri, mime_type=mime, text=text))]
