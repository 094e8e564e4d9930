"""The server's log lines: readable text (the default) or one JSON object per line
(`logging.format: json`), each carrying the request id and, inside a chat turn, the turn and
conversation ids (`context`), so that one request's or one turn's lines can be found together.

What goes in is what the code logs: ids, counts, error classes. The server does not log
questions, answers, code, file contents or keys; requests are logged by route template
(`/api/files/{file_id}/content`), never with their query string, which may carry a signed
link's signature.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from sandbox_analyst.telemetry import context

LogFormat = Literal["text", "json"]
_CONTEXT_FIELDS = ("request_id", "turn_id", "conversation_id")
# Attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_HANDLER_NAME = "analyst"
QUIET_LIBRARIES = ("httpx", "httpcore", "openai", "anthropic", "botocore", "e2b")


class ContextFilter(logging.Filter):
    """Puts the current request's and turn's ids on each record (None outside of them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get()
        record.turn_id = context.turn_id.get()
        record.conversation_id = context.conversation_id.get()
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in _CONTEXT_FIELDS and name not in line:
                line[name] = value if isinstance(value, (str, int, float, bool)) else repr(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(ids)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [
            f"{name.removesuffix('_id')}={value}"
            for name in _CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return super().format(record)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at each record (it may be replaced after start-up:
    a test runner's capture, a daemon redirecting it)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(
    log_format: LogFormat = "text", level: str | int = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's records (uvicorn's too) through one handler on the root logger, in
    `log_format`. Calling it again replaces that handler (the format or level changed)."""
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # Their INFO line per request has the whole URL (a model endpoint's, a gateway's with
    # query parameters): warnings only.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    return handler
