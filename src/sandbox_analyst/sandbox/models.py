"""The execution model. Field names follow E2B's code-interpreter SDK on purpose, so that an
E2B-compatible endpoint (and the E2B backend) map onto it one to one."""

from __future__ import annotations

import json
import re
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


_TEXT_FIELDS = {"text", "html", "markdown", "svg", "latex", "javascript"}
_BASE64_FIELDS = {"png", "jpeg", "pdf"}
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
MAX_BUNDLE_ENTRY = 4 * 1024 * 1024
"""Characters a non-image entry of a MIME bundle may hold. Larger ones are dropped with a note:
a 60 MB HTML dump or Vega spec would be stored with the step and sent to every browser and to
the model's context, which no analysis needs (images are limited by the agent, per figure)."""


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
    def from_bundle(
        cls,
        bundle: dict[str, Any],
        *,
        is_main_result: bool = False,
        notes: list[str] | None = None,
    ) -> Result:
        """The result a MIME bundle describes. The bundle comes from user code: an entry that
        cannot be what its type says (text that is not text, base64 that does not decode, a
        payload over `MAX_BUNDLE_ENTRY`) is dropped, and why is appended to `notes`."""
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for mime, value in bundle.items():
            name = MIME_FIELDS.get(mime)
            checked, problem = _check_entry(name, value)
            if problem is not None:
                if notes is not None:
                    notes.append(f"{str(mime)[:100]} was dropped: {problem}")
            elif name is None:
                extra[mime] = checked
            else:
                known[name] = checked
        return cls(**known, is_main_result=is_main_result, extra=extra)

    def formats(self) -> list[str]:
        """Names of the formats this result carries, e.g. `["text", "png"]`."""
        names = [name for name in MIME_FIELDS.values() if getattr(self, name) is not None]
        if self.data is not None:
            names.append("data")
        return names + list(self.extra)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, {})}


def _check_entry(name: str | None, value: Any) -> tuple[Any, str | None]:
    """(the value to keep, None) or (None, why it cannot be kept)."""
    if name in _BASE64_FIELDS:
        if not isinstance(value, str):
            return None, f"base64 text expected, got {type(value).__name__}"
        compact = "".join(value.split())
        if len(compact) % 4 or not _BASE64.fullmatch(compact):
            return None, "not valid base64"
        return compact, None
    if name in _TEXT_FIELDS:
        if isinstance(value, list) and all(isinstance(line, str) for line in value):
            value = "".join(value)  # Jupyter's multi-line form
        if not isinstance(value, str):
            return None, f"text expected, got {type(value).__name__}"
        size = len(value)
    else:  # JSON and unknown types: any JSON value
        size = value_size(value)
    if size > MAX_BUNDLE_ENTRY:
        return None, f"{size:,} characters, over the {MAX_BUNDLE_ENTRY:,}-character limit"
    return value, None


def value_size(value: Any) -> int:
    """Characters of `value` as JSON (a string: its length, without escaping)."""
    if isinstance(value, str):
        return len(value)
    try:
        return len(json.dumps(value, separators=(",", ":"), default=str))
    except (TypeError, ValueError, RecursionError):
        return MAX_BUNDLE_ENTRY + 1


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

    @classmethod
    def timed_out(cls, limit: float, traceback: str = "") -> ExecutionError:
        """What every backend reports of code it interrupted at the time limit."""
        return cls(
            SandboxErrorName.TIMEOUT,
            f"execution exceeded the {limit:g} s time limit and was interrupted; the "
            "session's state is kept",
            traceback,
        )


class SandboxErrorName:
    TIMEOUT = "TimeoutError"
    DISK_QUOTA = "DiskQuotaExceeded"
    # The worker process died or had to be killed: variables are gone, files are kept.
    RESTARTED = "SandboxRestarted"
    # A shell command (`run_code(language="bash")`) ended with a non-zero exit code.
    COMMAND_EXIT = "CommandExitError"
    # The session itself is gone, files included (a remote kernel its gateway no longer
    # knows): the sandbox is closed; a new one must be acquired and rebuilt.
    LOST = "SandboxLost"


@dataclass
class Execution:
    """What one `run_code` gave. `peak_memory_bytes` is the session's peak resident memory so
    far (since its interpreter started: the high-water mark of the interpreter or of its
    largest finished child process), as the backend saw it when the execution ended;
    `cpu_seconds` the CPU time (user + system) the code used, its finished subprocesses
    included. Each is None when the backend cannot tell."""

    results: list[Result] = field(default_factory=list)
    logs: Logs = field(default_factory=Logs)
    error: ExecutionError | None = None
    execution_count: int | None = None
    peak_memory_bytes: int | None = None
    cpu_seconds: float | None = None

    @property
    def text(self) -> str | None:
        """Text of the main result (the cell's last expression), if any."""
        for result in self.results:
            if result.is_main_result:
                return result.text
        return None

    @property
    def state_lost(self) -> bool:
        return self.error is not None and self.error.name in (
            SandboxErrorName.RESTARTED,
            SandboxErrorName.LOST,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": [result.to_dict() for result in self.results],
            "logs": asdict(self.logs),
            "error": asdict(self.error) if self.error else None,
            "execution_count": self.execution_count,
            "peak_memory_bytes": self.peak_memory_bytes,
            "cpu_seconds": self.cpu_seconds,
        }


@dataclass
class CommandResult:
    """What one `run_command` gave. `exit_code` is None when the command did not finish (it
    was killed at its time limit, or the session was lost); `error` then says why."""

    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None


@dataclass(frozen=True)
class EntryInfo:
    """A file or directory in a session's workdir."""

    name: str
    path: str
    is_dir: bool
    size: int
    modified: datetime


@dataclass(frozen=True)
class Listing:
    """A bounded recursive listing of (part of) a workdir."""

    entries: list[EntryInfo]
    truncated: str | None = None
    """Why the listing stopped before the end (too many entries, too deep, too slow); None
    when it is complete."""


@dataclass(frozen=True)
class SandboxInfo:
    sandbox_id: str
    pid: int | None
    memory_bytes: int
    cpu_seconds: float
    age_seconds: float
    executions: int
    workdir: str
    peak_memory_bytes: int | None = None  # as in `Execution.peak_memory_bytes`
