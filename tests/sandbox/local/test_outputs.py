"""A local worker's frames, folded into an `Execution`: the worker runs hostile code, so what
it says is checked again on our side."""

from __future__ import annotations

from typing import Any

from sandbox_analyst.sandbox.local.outputs import OutputCollector
from sandbox_analyst.sandbox.models import Execution, ExecutionError, Result


class Seen:
    """The caller's callbacks: one plain function and one coroutine function, as callers use."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def handlers(self) -> dict[str, Any]:
        async def on_result(result: Result) -> None:
            self.calls.append(("result", result))

        return {
            "stdout": lambda text: self.calls.append(("stdout", text)),
            "stderr": lambda text: self.calls.append(("stderr", text)),
            "result": on_result,
            "error": None,
        }


def collector(limit: int = 1000) -> tuple[OutputCollector, Seen]:
    seen = Seen()
    return OutputCollector(Execution(), seen.handlers(), limit), seen


async def test_output_is_kept_and_told_to_the_caller_as_it_arrives() -> None:
    collect, seen = collector()
    assert not await collect.apply({"type": "stdout", "text": "one\n"})
    assert not await collect.apply({"type": "result", "bundle": {"text/plain": "2"}, "main": True})
    assert await collect.apply({"type": "done", "execution_count": 1})

    assert collect.execution.logs.stdout == ["one\n"]
    assert collect.execution.text == "2"
    assert collect.execution.execution_count == 1
    assert [kind for kind, _ in seen.calls] == ["stdout", "result"]


async def test_output_past_the_limit_is_cut_on_our_side_too() -> None:
    collect, _ = collector(limit=5)
    await collect.apply({"type": "stdout", "text": "abc"})
    await collect.apply({"type": "stderr", "text": "defgh"})
    await collect.apply({"type": "stdout", "text": "more"})

    assert collect.execution.logs.stdout == ["abc"]
    assert collect.execution.logs.stderr == ["de"]


async def test_a_result_that_is_not_a_mime_bundle_becomes_a_note_on_stderr() -> None:
    collect, seen = collector()
    await collect.apply({"type": "result", "bundle": ["not", "a", "bundle"]})

    assert collect.execution.results == []
    assert "it is not a MIME bundle" in "".join(collect.execution.logs.stderr)
    assert [kind for kind, _ in seen.calls] == ["stderr"]


async def test_implausible_figures_from_the_worker_are_dropped() -> None:
    collect, _ = collector()
    done = {"type": "done", "execution_count": "1", "peak_memory": True, "cpu_seconds": -1}
    await collect.apply(done)

    assert collect.execution.execution_count is None
    assert collect.execution.peak_memory_bytes is None
    assert collect.execution.cpu_seconds is None


async def test_output_the_worker_dropped_is_said_so() -> None:
    collect, _ = collector()
    await collect.apply({"type": "done", "execution_count": 3, "dropped": 4096})

    assert collect.execution.logs.stderr == ["[output truncated: 4096 more bytes were not kept]\n"]


async def test_a_silenced_collector_keeps_output_but_tells_no_one() -> None:
    collect, seen = collector()
    collect.silence()
    await collect.apply({"type": "stdout", "text": "quiet\n"})
    await collect.apply({"type": "error", "name": "ValueError", "value": "bad", "traceback": ""})

    assert collect.execution.logs.stdout == ["quiet\n"]
    assert collect.execution.error == ExecutionError("ValueError", "bad", "")
    assert seen.calls == []


async def test_a_command_failure_says_why() -> None:
    collect, _ = collector()
    assert collect.command_failure() == "the command did not report an exit code"
    await collect.apply({"type": "done", "exit_code": -9})
    assert collect.command_failure() == "killed by signal 9"
    await collect.apply({"type": "done", "exit_code": 0})
    assert collect.command_failure() is None
