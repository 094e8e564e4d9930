"""How a worker process ended, as the zygote (its reaper) saw it, and how to say so.

A worker can end by exiting, by a signal, or by the kernel's OOM killer when its session's
memory cgroup is full. The last two both look like SIGKILL from a wait status; only the
cgroup's own counter (`memory.events` / `memory.oom_control`, read by the zygote before it
removes the cgroup) tells them apart. Where there is no cgroup, a SIGKILL is reported as just
that: nothing on the host can say more.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Any

# Signals a process gets from its own faults: a crash, not someone else's doing.
_CRASHES = {signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL, signal.SIGFPE}


@dataclass(frozen=True)
class WorkerExit:
    signal: int | None = None
    code: int | None = None
    oom_killed: bool = False
    """The session's memory cgroup had an OOM kill: the SIGKILL was the kernel's, for memory."""
    detail: str | None = None
    """When the end is known but not from a wait status (e.g. the zygote itself died)."""

    @classmethod
    def from_wait_status(cls, status: int, *, oom_kills: int = 0) -> WorkerExit:
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            return cls(signal=number, oom_killed=number == signal.SIGKILL and oom_kills > 0)
        return cls(code=os.waitstatus_to_exitcode(status))

    def to_wire(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "code": self.code,
            "oom_killed": self.oom_killed,
            "detail": self.detail,
        }

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> WorkerExit:
        def number(key: str) -> int | None:
            value = message.get(key)
            return value if isinstance(value, int) else None

        detail = message.get("detail")
        return cls(
            signal=number("signal"),
            code=number("code"),
            oom_killed=message.get("oom_killed") is True,
            detail=detail if isinstance(detail, str) else None,
        )

    def describe(self, memory_limit_mb: int | None = None) -> str:
        """E.g. "killed by signal 11 (SIGSEGV): the process crashed"."""
        if self.oom_killed:
            limit = f"its {memory_limit_mb} MiB memory limit" if memory_limit_mb else "its limit"
            return (
                "out of memory: the kernel killed it when the session's processes together "
                f"used more than {limit}"
            )
        if self.signal is not None:
            text = f"killed by signal {self.signal} ({signal_name(self.signal)})"
            if self.signal in _CRASHES:
                text += ": the process crashed"
            return text
        if self.code is not None:
            return f"exited with code {self.code}"
        return self.detail or "it ended for an unknown reason"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
