"""How `analyst chat` shows a turn in the terminal: the answer's text as it streams, each
code step in a highlighted panel with a spinner while it runs, its output, its errors in red,
and the files it made. In a team turn each role's part opens with its label (`[CodeAgent]`) and
a handoff is one line (`Planner → CodeAgent: reason`). With `--json` the console is quiet and
nothing here prints."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)
from rich.status import Status
from rich.syntax import Syntax
from rich.text import Text

from sandbox_analyst.client import TurnEvent

UploadProgress = Callable[[int, int], None]
HANDOFF_PREFIX = "transfer_to_"  # a team's handoff tools, shown as a handoff line, not a step
# How a turn may stop with an answer; any other stop reason is worth a note.
_ANSWERED = {"complete", "terminate", "final_answer"}


class ChatRenderer:
    """Renders events on `console`; notes and errors go to `err_console`."""

    def __init__(self, console: Console, err_console: Console) -> None:
        self.console = console
        self.err_console = err_console
        self._steps = 0
        self._status: Status | None = None
        self._mid_line = False  # streamed text left the cursor after a partial line
        self._output: dict[str, str] = {}  # stream name -> partial line held back
        self._speaker: str | None = None  # the team role whose part is being shown
        self._handoff_calls: set[str] = set()
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "token": self._token,
            "tool_call": self._tool_call,
            "stdout": lambda data: self._output_text("stdout", data["text"]),
            "stderr": lambda data: self._output_text("stderr", data["text"]),
            "result": self._result,
            "tool_result": self._tool_result,
            "handoff": self._handoff,
            "sandbox_restored": self._sandbox_restored,
            "error": self._error,
            "message_end": self._message_end,
        }

    @contextmanager
    def uploads(self) -> Iterator[Callable[[Path], UploadProgress]]:
        """Progress bars for uploads: `bar_for(path)` gives the callback for one file."""
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=self.err_console,
            transient=False,
        ) as progress:

            def bar_for(path: Path) -> UploadProgress:
                task = progress.add_task(f"uploading {path.name}", total=None)
                return lambda sent, total: progress.update(task, completed=sent, total=total)

            yield bar_for

    def event(self, event: TurnEvent) -> None:
        handler = self._handlers.get(event.type)
        if handler is None:
            return
        agent = event.data.get("agent")
        if agent is not None and agent != self._speaker and _shows_role(event):
            self._speaker = agent
            self._print(Text(f"[{agent}]", style="bold magenta"))
        handler(event.data)

    def saved(self, artifact: dict[str, Any], path: Path) -> None:
        self._print(
            Text.assemble(("saved ", "green"), (str(path), "bold"), f" ({artifact['media_type']})")
        )

    def note(self, message: str) -> None:
        self._end_line()
        self.err_console.print(Text(message, style="yellow"))

    def fail(self, message: str) -> None:
        self._stop_spinner()
        self._end_line()
        self.err_console.print(Text.assemble(("error: ", "bold red"), message))

    def _token(self, data: dict[str, Any]) -> None:
        text = data["text"]
        self.console.out(text, end="", highlight=False)
        self._mid_line = not text.endswith("\n")

    def _tool_call(self, data: dict[str, Any]) -> None:
        if data["tool"].startswith(HANDOFF_PREFIX) and data.get("agent"):
            self._handoff_calls.add(data["call_id"])
            return
        self._steps += 1
        if data.get("code") is not None:
            body: Any = Syntax(data["code"], "python", theme="ansi_dark", word_wrap=True)
        else:
            body = Text(json.dumps(data["arguments"], indent=2, ensure_ascii=False))
        title = f"step {self._steps} · {data['tool']}"
        self._print(Panel(body, title=title, title_align="left", border_style="blue"))
        self._status = self.console.status(f"running step {self._steps}…", spinner="dots")
        self._status.start()

    def _output_text(self, stream: str, text: str) -> None:
        # Output arrives in arbitrary pieces; print whole lines so the spinner stays below them.
        pending = self._output.get(stream, "") + text
        lines, _, rest = pending.rpartition("\n")
        self._output[stream] = rest
        if lines or pending.endswith("\n"):
            self._print(Text(lines, style="red" if stream == "stderr" else ""))

    def _flush_output(self) -> None:
        for stream, rest in self._output.items():
            if rest:
                self._print(Text(rest, style="red" if stream == "stderr" else ""))
        self._output.clear()

    def _result(self, data: dict[str, Any]) -> None:
        if data.get("text"):
            self._print(Text(data["text"]))

    def _tool_result(self, data: dict[str, Any]) -> None:
        if data["call_id"] in self._handoff_calls:
            self._handoff_calls.discard(data["call_id"])
            if not data["success"] and data.get("error"):
                self._print(Text(f"handoff refused: {data['error']['value']}", style="red"))
            return
        self._flush_output()
        self._stop_spinner()
        error = data.get("error")
        if error:
            self._print(Text(f"{error['name']}: {error['value']}", style="bold red"))
        if data.get("state_lost"):
            self.note("the sandbox was restarted: variables from earlier steps are gone")
        outcome = "done" if data["success"] else "failed"
        self._print(Text(f"step {self._steps} {outcome} in {data['duration']:.1f} s", style="dim"))

    def _handoff(self, data: dict[str, Any]) -> None:
        said = f": {data['reason']}" if data.get("reason") else ""
        self._print(Text(f"{data['from']} → {data['to']}{said}", style="dim italic"))

    def _sandbox_restored(self, data: dict[str, Any]) -> None:
        self.note(
            f"the sandbox was rebuilt ({data['files']} files restored, "
            f"{data['cells_replayed']} earlier steps replayed)"
        )

    def _error(self, data: dict[str, Any]) -> None:
        self.fail(data["message"])

    def _message_end(self, data: dict[str, Any]) -> None:
        self._flush_output()
        self._stop_spinner()
        self._end_line()
        if data["status"] != "complete":
            reason = f": {data['error']}" if data.get("error") else ""
            self.err_console.print(Text(f"turn {data['status']}{reason}", style="bold red"))
        elif data.get("stop_reason", "complete") not in _ANSWERED:
            self.note(f"stopped: {data['stop_reason']}")

    def _print(self, renderable: Any) -> None:
        self._end_line()
        self.console.print(renderable)

    def _end_line(self) -> None:
        if self._mid_line:
            self.console.out("")
            self._mid_line = False

    def _stop_spinner(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def _shows_role(event: TurnEvent) -> bool:
    """Whether `event` prints something of a role's own (so its label comes first)."""
    if event.type == "token":
        return bool(event.data["text"].strip())
    if event.type == "tool_call":
        return not event.data["tool"].startswith(HANDOFF_PREFIX)
    return event.type == "error"
