"""One `analyst chat` session: the conversation, its uploads, its turns (with Ctrl-C to
cancel the running one), the files they make saved to disk, and the interactive prompt."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox_analyst.cli.chat_render import ChatRenderer
from sandbox_analyst.client import AnalystAPIError, AnalystClient

EXIT_WORDS = frozenset({"exit", "quit", ":q"})


@dataclass
class TurnOutcome:
    message_id: str | None = None
    status: str = "incomplete"
    error: str | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # with their saved `path`
    interrupted: bool = False


def save_artifact(directory: Path, name: str, data: bytes) -> Path:
    """Write `data` as `directory/name`, never over an existing file: `chart-1.png`, ..."""
    directory.mkdir(parents=True, exist_ok=True)
    base = Path(Path(name).name or "artifact")
    for attempt in range(10_000):
        candidate = base.name if attempt == 0 else f"{base.stem}-{attempt}{base.suffix}"
        try:
            with (directory / candidate).open("xb") as handle:
                handle.write(data)
            return directory / candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"too many files named like {base.name} in {directory}")


class ChatSession:
    def __init__(self, client: AnalystClient, renderer: ChatRenderer, output_dir: Path) -> None:
        self.client = client
        self.renderer = renderer
        self.output_dir = output_dir
        self.conversation_id = ""
        self._main: asyncio.Task[Any] | None = None
        self._turn: asyncio.Task[TurnOutcome] | None = None
        self._cancel_sent = False
        self._cancelling: asyncio.Task[None] | None = None
        self._at_prompt = False
        self._pending_line: asyncio.Future[str | None] | None = None

    async def start(
        self, files: Sequence[Path], title: str, assistant_id: str | None
    ) -> list[dict[str, Any]]:
        """Create the conversation and upload `files` into it; returns the uploads."""
        conversation = await self.client.create_conversation(title, assistant_id)
        self.conversation_id = conversation["id"]
        uploads: list[dict[str, Any]] = []
        if not files:
            return uploads
        with self.renderer.uploads() as bar_for:
            for path in files:
                upload = await self.client.upload_file(path, self.conversation_id, bar_for(path))
                uploads.append(upload)
        return uploads

    def handle_interrupts(self) -> None:
        """Route Ctrl-C from here on: cancel the running turn (a second one stops waiting
        for it), a hint at the prompt, else stop the session."""
        self._main = asyncio.current_task()
        loop = asyncio.get_running_loop()
        # Not in the main thread, or no signals here: Ctrl-C stays Python's own.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self._interrupted)

    def stop_handling_interrupts(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)

    def _interrupted(self) -> None:
        if self._turn is not None and not self._cancel_sent:
            self._cancel_sent = True
            self.renderer.note("cancelling the turn… (Ctrl-C again to stop waiting)")
            self._cancelling = asyncio.create_task(self._send_cancel())
        elif self._turn is not None:
            self._turn.cancel()
        elif self._at_prompt:
            self.renderer.note("(type exit or press Ctrl-D to quit)")
        elif self._main is not None:
            self._main.cancel()

    async def _send_cancel(self) -> None:
        try:
            await self.client.cancel(self.conversation_id)
        except AnalystAPIError as exc:
            self.renderer.fail(f"could not cancel the turn: {exc.message}")

    async def ask(self, question: str) -> TurnOutcome:
        """Run one turn, rendering it and saving what it makes."""
        self._cancel_sent = False
        self._turn = asyncio.create_task(self._run_turn(question))
        try:
            outcome = await self._turn
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            self.renderer.fail("stopped waiting for the turn")
            outcome = TurnOutcome(status="cancelled")
        finally:
            self._turn = None
        outcome.interrupted = outcome.interrupted or self._cancel_sent
        return outcome

    async def _run_turn(self, question: str) -> TurnOutcome:
        outcome = TurnOutcome()
        async for event in self.client.ask(self.conversation_id, question):
            self.renderer.event(event)
            data = event.data
            if event.type == "message_start":
                outcome.message_id = data["message_id"]
            elif event.type == "artifact":
                path = save_artifact(
                    self.output_dir, data["name"], await self.client.download(data["id"])
                )
                outcome.artifacts.append({**_artifact_fields(data), "path": str(path)})
                self.renderer.saved(data, path)
            elif event.type == "message_end":
                outcome.status, outcome.error = data["status"], data.get("error")
        return outcome

    async def final_text(self, message_id: str | None) -> str:
        """The stored text of the turn's answer."""
        detail = await self.client.conversation(self.conversation_id)
        return next((m["content"] for m in detail["messages"] if m["id"] == message_id), "")

    async def interact(self, prompt: str = "› ") -> None:
        """Ask question after question in the same conversation until `exit` or Ctrl-D."""
        while True:
            line = await self._read_line(prompt)
            if line is None:
                self.renderer.console.out("")
                return
            question = line.strip()
            if question.lower() in EXIT_WORDS:
                return
            if question:
                await self.ask(question)

    async def _read_line(self, prompt: str) -> str | None:
        # input() runs in a daemon thread: the event loop (and an embedded server) keeps
        # running while the user types, and a prompt left unanswered never blocks the exit.
        if self._pending_line is None:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[str | None] = loop.create_future()
            console = self.renderer.console

            def read() -> None:
                try:
                    line: str | None = console.input(prompt)
                except EOFError:
                    line = None
                # RuntimeError: the loop is gone, so nobody is waiting any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_resolve, future, line)

            threading.Thread(target=read, name="analyst-prompt", daemon=True).start()
            self._pending_line = future
        self._at_prompt = True
        try:
            line = await asyncio.shield(self._pending_line)
        finally:
            self._at_prompt = False
        self._pending_line = None
        return line


def _resolve(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def _artifact_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("id", "name", "media_type", "size")}
