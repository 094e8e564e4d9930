"""What a task is asked to do (`TaskRequest`) and the checks it passes before anything runs:
a prompt, input files with names that stay inside the workdir, step and time limits."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from enum import StrEnum

from sandbox_analyst.service.errors import PayloadTooLarge, ValidationError

MAX_PROMPT_CHARS = 100_000
MAX_INPUT_FILES = 100
MAX_STEPS = 100
MAX_TIMEOUT_S = 6 * 3600.0


class Permission(StrEnum):
    ALLOW = "allow"  # every command runs (inside the sandbox)
    CONFIRM = "confirm"  # each bash command waits for the user's yes


class TaskStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"  # the agent answered with its summary
    MAX_STEPS = "max_steps"  # the steps were spent first
    TIMED_OUT = "timed_out"  # its wall-clock time ran out: the agent and its code were stopped
    FAILED = "failed"  # the model could not be called, or a fault on our side
    CANCELLED = "cancelled"  # stopped by its owner
    INTERRUPTED = "interrupted"  # the server running it stopped


@dataclass(frozen=True)
class TaskInput:
    """A file copied into the workdir before the agent starts."""

    path: str  # workdir-relative
    data: bytes


@dataclass
class TaskRequest:
    prompt: str
    inputs: list[TaskInput] = field(default_factory=list)
    template: str | None = None  # None: the assistant's, else the default one
    assistant_id: str | None = None  # its model, instructions and template; None: the default
    permission: Permission = Permission.ALLOW
    max_steps: int | None = None  # None: agent.max_iterations
    timeout: float | None = None  # seconds; None: agent.turn_timeout


def checked_input_path(name: str) -> str:
    """`name` as a workdir-relative path, or `ValidationError` for one that would leave the
    workdir (absolute, `..`) or is no usable file name."""
    normal = posixpath.normpath(name.replace("\\", "/")) if name else ""
    if (
        not name
        or "\x00" in name
        or name.startswith(("/", "\\"))
        or normal in (".", "..")
        or normal.startswith("../")
    ):
        raise ValidationError(
            f"input file name {name!r} must be a relative path inside the working directory",
            field="files",
        )
    return normal


def check_request(request: TaskRequest, *, max_input_bytes: int) -> None:
    if not request.prompt.strip():
        raise ValidationError("the task's prompt must not be empty", field="prompt")
    if len(request.prompt) > MAX_PROMPT_CHARS:
        raise ValidationError(f"the prompt is over {MAX_PROMPT_CHARS:,} characters", field="prompt")
    if request.max_steps is not None and not 1 <= request.max_steps <= MAX_STEPS:
        raise ValidationError(f"max_steps must be 1 to {MAX_STEPS}", field="max_steps")
    if request.timeout is not None and not 0 < request.timeout <= MAX_TIMEOUT_S:
        raise ValidationError(
            f"timeout must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds",
            field="timeout",
        )
    if len(request.inputs) > MAX_INPUT_FILES:
        raise ValidationError(f"at most {MAX_INPUT_FILES} input files", field="files")
    paths = [checked_input_path(item.path) for item in request.inputs]
    if len(set(paths)) < len(paths):
        raise ValidationError("two input files have the same name", field="files")
    total = sum(len(item.data) for item in request.inputs)
    if total > max_input_bytes:
        raise PayloadTooLarge(
            f"the input files hold {total:,} bytes; at most {max_input_bytes:,} are allowed"
        )
