"""Jupyter messages (protocol v5.3) in the JSON form a Jupyter server's `/channels` websocket
carries: one JSON object per text frame, with its `channel`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox_analyst.sandbox import ExecutionError, Result
from sandbox_analyst.sandbox.models import MIME_FIELDS

PROTOCOL_VERSION = "5.3"
_MIME_OF_FIELD = {name: mime for mime, name in MIME_FIELDS.items()}


class BadMessage(ValueError):
    """A frame that is not a Jupyter message."""


@dataclass(frozen=True)
class Request:
    """A message from the client: what it asks (`msg_type`, `content`) on which `channel`,
    and its `header`, which every message answering it carries as `parent_header`."""

    header: dict[str, Any]
    channel: str
    content: dict[str, Any]

    @property
    def msg_type(self) -> str:
        return str(self.header.get("msg_type", ""))

    @classmethod
    def parse(cls, frame: object) -> Request:
        if not isinstance(frame, dict):
            raise BadMessage("a Jupyter message is a JSON object")
        header = frame.get("header")
        if not isinstance(header, dict) or not isinstance(header.get("msg_type"), str):
            raise BadMessage("a Jupyter message needs a header with its msg_type")
        content = frame.get("content") or {}
        if not isinstance(content, dict):
            raise BadMessage("a Jupyter message's content is a JSON object")
        channel = frame.get("channel") or "shell"
        return cls(header=header, channel=str(channel), content=content)


def message(
    msg_type: str, content: dict[str, Any], parent: Request | None, channel: str
) -> dict[str, Any]:
    """A message from the kernel, answering `parent` (None: unprompted)."""
    parent_header = parent.header if parent is not None else {}
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "username": parent_header.get("username", "kernel"),
        "session": parent_header.get("session", ""),
        "date": datetime.now(UTC).isoformat(),
        "version": PROTOCOL_VERSION,
    }
    return {
        "header": header,
        "msg_id": header["msg_id"],
        "msg_type": msg_type,
        "parent_header": parent_header,
        "metadata": {},
        "content": content,
        "channel": channel,
        "buffers": [],
    }


def status(state: str, parent: Request | None) -> dict[str, Any]:
    return message("status", {"execution_state": state}, parent, "iopub")


def bundle(result: Result) -> dict[str, Any]:
    """The MIME bundle a result came from (`data` of display_data / execute_result)."""
    data: dict[str, Any] = {}
    for name in _MIME_OF_FIELD:
        value = getattr(result, name)
        if value is not None:
            data[_MIME_OF_FIELD[name]] = value
    data.update(result.extra)
    return data


def error_content(error: ExecutionError) -> dict[str, Any]:
    return {
        "ename": error.name,
        "evalue": error.value,
        "traceback": error.traceback.splitlines() or [f"{error.name}: {error.value}"],
    }
