"""The execution model. Field names follow E2B's code-interpreter SDK on purpose, so that an
E2B-compatible endpoint (and the E2B backend) map onto it one to one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# MIME types with a field of their own on `Result`; anything else lands in `Result.extra`.
MIME_FIELDS: dict[str, str] = {
    "text/plain": "text",
    "text/html": "html",
    "text/markdown": "markdown",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "application/pdf": "pdf",
    "text/latex": "latex",
    "application/json": "json",
    "application/javascript": "javascript",
}


@dataclass
class Result:
    """One rich output: a MIME bundle from `display()`, a figure, or the cell's last value.

    Binary formats (png, jpeg, pdf) are base64 strings, as in Jupyter's wire format.
    """

    text: str | None = None
    html: str | None = None
    markdown: str | None = None
    svg: str | None = None
    png: str | None = None
    jpeg: str | None = None
    pdf: str | None = None
    latex: str | None = None
    json: Any = None
    javascript: str | None = None
    data: dict[str, Any] | None = None
    is_main_result: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_bundle(cls, bundle: dict[str, Any], *, is_main_result: bool = False) -> Result:
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for mime, value in bundle.items():
            name = MIME_FIELDS.get(mime)
            if name is None:
                extra[mime] = value
            else:
                known[name] = value
        return cls(**known, is_main_result=is_main_result, extra=extra)

    def formats(self) -> list[str]:
        """Names of the formats this result carries, e.g. `["text", "png"]`."""
        names = [name for name in MIME_FIELDS.values() if getattr(self, name) is not None]
        if self.data is not None:
            names.append("data")
        return names + list(self.extra)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, {})}


@dataclass
class Logs:
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


@dataclass
class ExecutionError:
    """An exception raised by user code, or a failure of the sandbox itself.

    Sandbox failures use the names in `SandboxErrorName` so callers can tell a `NameError`
    in user code from a session that was lost.
    """

    name: str
    value: str
    traceback: str = ""


class SandboxErrorName:
    TIMEOUT = "TimeoutError"
    DISK_QUOTA = "DiskQuotaExceeded"
    # The worker process died or had to be killed: variables are gone, files are kept.
    RESTARTED = "SandboxRestarted"


@dataclass
class Execution:
    results: list[Result] = field(default_factory=list)
    logs: Logs = field(default_factory=Logs)
    error: ExecutionError | None = None
    execution_count: int | None = None
    peak_memory_bytes: int | None = None  # the session's memory while the code ran, if known

    @property
    def text(self) -> str | None:
        """Text of the main result (the cell's last expression), if any."""
        for result in self.results:
            if result.is_main_result:
                return result.text
        return None

    @property
    def state_lost(self) -> bool:
        return self.error is not None and self.error.name == SandboxErrorName.RESTARTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": [result.to_dict() for result in self.results],
            "logs": asdict(self.logs),
            "error": asdict(self.error) if self.error else None,
            "execution_count": self.execution_count,
        }


@dataclass(frozen=True)
class EntryInfo:
    """A file or directory in a session's workdir."""

    name: str
    path: str
    is_dir: bool
    size: int
    modified: datetime


@dataclass(frozen=True)
class SandboxInfo:
    sandbox_id: str
    pid: int | None
    memory_bytes: int
    cpu_seconds: float
    age_seconds: float
    executions: int
    workdir: str
