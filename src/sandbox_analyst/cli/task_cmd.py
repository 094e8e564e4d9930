"""`analyst task PROMPT`: a coding agent carries out the prompt in a fresh sandbox, with the
configured model, in-process (nothing to start first). Its steps stream to the terminal; the
files it created or changed are written to `--output DIR`.

Exit codes (`ExitCode`): 0 the task completed, 1 it did not (out of steps or time, failed,
cancelled), 2 bad arguments, 3 no model or no sandbox to be had, 130 interrupted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.prompt import Confirm
from rich.syntax import Syntax
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, fail, settings
from sandbox_analyst.cli.exit_codes import ExitCode

_SHOWN_ARGUMENT = {
    "read_file": "path",
    "write_file": "path",
    "edit_file": "path",
    "glob": "pattern",
}


@dataclass(frozen=True)
class TaskOptions:
    prompt: str
    output: Path
    confirm: bool
    template: str | None
    inputs: list[tuple[str, bytes]]  # name in the workdir, bytes
    max_steps: int | None
    timeout: float | None
    assistant: str | None


@app.command("task")
def task(
    prompt: Annotated[str, typer.Argument(help="What the agent should do.", show_default=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where the files it makes are written.")
    ] = Path("task-output"),
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Ask before each shell command it runs.")
    ] = False,
    template: Annotated[
        str | None, typer.Option("--template", help="The sandbox template (default: default).")
    ] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="An input file copied into the sandbox (repeatable)."),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, max=100, help="Model calls at most.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=1, help="Wall-clock seconds at most.")
    ] = None,
    assistant: Annotated[
        str | None,
        typer.Option(
            "--assistant", help="Use this assistant's model and instructions (id or name)."
        ),
    ] = None,
) -> None:
    """Run a coding agent in a fresh sandbox and save what it made."""
    inputs = []
    for path in file or []:
        if not path.is_file():
            err_console.print(f"[red]error:[/red] no such file: {escape(str(path))}")
            raise typer.Exit(ExitCode.USAGE)
        inputs.append((path.name, path.read_bytes()))
    options = TaskOptions(prompt, output, confirm, template, inputs, max_steps, timeout, assistant)
    try:
        status = asyncio.run(_run(options))
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted: the task was cancelled[/yellow]")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    raise typer.Exit(ExitCode.OK if status == "complete" else ExitCode.FAILED)


async def _run(options: TaskOptions) -> str:
    # Imported here: the service brings the ORM and the sandbox engine.
    from sandbox_analyst.service import (
        Permission,
        Services,
        TaskInput,
        TaskRequest,
        public_error,
    )

    config = settings()
    async with Services.running(config) as services:
        principal = await services.users.ensure_local_admin()
        try:
            assistant_id = None
            if options.assistant is not None:
                assistant_id = await _assistant_id(services, principal, options.assistant)
            request = TaskRequest(
                options.prompt,
                inputs=[TaskInput(name, data) for name, data in options.inputs],
                template=options.template,
                assistant_id=assistant_id,
                permission=Permission.CONFIRM if options.confirm else Permission.ALLOW,
                max_steps=options.max_steps,
                timeout=options.timeout,
            )
            run = await services.tasks.start(
                principal, request, decide=_ask_in_terminal if options.confirm else None
            )
        except Exception as exc:
            if public_error(exc) is None:  # a bug: let its traceback show
                raise
            raise fail(exc) from exc
        renderer = _Renderer()
        index = 0
        while (event := await run.next_event(index)) is not None:
            index += 1
            renderer.show(event)
        await run.wait()
        detail = await services.tasks.get(principal, run.task_id)
        await _save_files(services, principal, detail, options.output)
        return detail.task.status


async def _assistant_id(services: Any, principal: Any, wanted: str) -> str:
    from sandbox_analyst.service import NotFound

    try:
        return (await services.assistants.get(principal, wanted)).id
    except NotFound:
        named = [a for a in await services.assistants.list(principal) if a.name == wanted]
        if not named:
            raise NotFound(f"no assistant with the id or name {wanted!r}") from None
        return named[0].id


async def _ask_in_terminal(command: str) -> Any:
    from sandbox_analyst.service import Approval

    console.print(f"[bold yellow]The agent wants to run:[/bold yellow] {escape(command)}")
    try:
        allowed = await asyncio.to_thread(Confirm.ask, "Run it?", default=False, console=console)
    except EOFError:  # nobody at the terminal to answer
        return Approval(False, "nobody answered")
    return Approval(allowed, "" if allowed else "the user said no")


async def _save_files(services: Any, principal: Any, detail: Any, output: Path) -> None:
    if not detail.files:
        console.print("No files were created or changed.")
        return
    table = Table("change", "path", "size", box=None, pad_edge=False)
    for record in detail.files:
        table.add_row(record.change, escape(record.path), f"{record.size:,} B")
        if record.storage_key is None:
            continue
        content = await services.tasks.file(principal, detail.task.id, record.path)
        data = b"".join([chunk async for chunk in content.chunks])
        await asyncio.to_thread(_write, output, record.path, data)
    console.print(table)
    for record in detail.files:
        if record.diff:
            console.print(Syntax(record.diff, "diff", theme="ansi_dark", word_wrap=True))
    console.print(f"Saved to {escape(str(output))}/")


def _write(output: Path, relative: str, data: bytes) -> None:
    root = output.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):  # the service refuses such paths; never trust it
        raise ValueError(f"{relative!r} is outside {output}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


class _Renderer:
    """Each step, as it happens, in a form a person follows."""

    def __init__(self) -> None:
        self.last_message = ""

    def show(self, event: Any) -> None:
        kind = event.type
        if kind == "task_start":
            console.print(f"[dim]task {event.task_id} in sandbox {event.sandbox_id}[/dim]")
        elif kind == "message":
            self.last_message = event.text.strip()
            console.print(escape(self.last_message))
        elif kind == "tool_call":
            self._call(event.tool, event.arguments)
        elif kind == "stdout":
            console.print(escape(event.text), end="", highlight=False)
        elif kind == "stderr":
            console.print(f"[red]{escape(event.text)}[/red]", end="", highlight=False)
        elif kind == "tool_result":
            self._result(event)
        elif kind == "confirm_answer" and not event.allowed:
            console.print("[yellow]refused[/yellow]")
        elif kind == "error":
            console.print(f"[yellow]{escape(event.message)}[/yellow]")
        elif kind == "task_end":
            self._end(event)

    def _call(self, tool: str, arguments: dict[str, Any]) -> None:
        if tool == "bash":
            console.print(f"[bold cyan]$ {escape(str(arguments.get('command', '')))}[/bold cyan]")
            return
        shown = arguments.get(_SHOWN_ARGUMENT.get(tool, "path"), "")
        if tool == "grep":
            shown = f"{arguments.get('pattern', '')} in {arguments.get('path', '.')}"
        console.print(f"[cyan]{tool}[/cyan] {escape(str(shown))}")

    def _result(self, event: Any) -> None:
        if event.success:
            return
        error = event.error or {}
        text = f"{error.get('name', 'failed')}: {error.get('value', '')}"
        console.print(f"[red]✗ {escape(text)}[/red]")

    def _end(self, event: Any) -> None:
        colour = "green" if event.status == "complete" else "yellow"
        console.rule(f"[{colour}]{event.status}[/{colour}]")
        if event.summary.strip() and event.summary.strip() != self.last_message:
            console.print(escape(event.summary.strip()))
        if event.error:
            console.print(f"[yellow]{escape(event.error)}[/yellow]")
