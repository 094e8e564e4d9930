"""`analyst export CONVERSATION_ID [--format ipynb|py] [-o FILE]`: a conversation as a Jupyter
notebook (outputs and charts included) or as a script of the code that succeeded. Run on the
server's machine with its settings, as the operator: any user's conversation."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from sandbox_analyst.cli.app import app, err_console, fail, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.service import ExportedFile, Principal, ServiceError, Services

# The operator: the CLI reads the server's own database, so it sees every conversation.
_OPERATOR = Principal(user_id="cli", name="cli", is_admin=True)


@app.command("export")
def export(
    conversation_id: Annotated[str, typer.Argument(help="The conversation's id.")],
    format_: Annotated[
        Literal["ipynb", "py"],
        typer.Option("--format", "-f", help="ipynb: a notebook; py: the code that succeeded."),
    ] = "ipynb",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write ('-': stdout). Default: named after the title."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Export a conversation as a Jupyter notebook or a Python script."""

    async def run() -> ExportedFile:
        async with Services.running(settings()) as services:
            if format_ == "py":
                return await services.notebooks.script(_OPERATOR, conversation_id)
            return await services.notebooks.ipynb(_OPERATOR, conversation_id)

    try:
        exported = asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(exported.content)
        sys.stdout.buffer.flush()
        return
    target = output or Path(exported.filename)
    if target.is_dir():
        target = target / exported.filename
    if target.exists() and not force:
        err_console.print(
            f"[red]error:[/red] {escape(str(target))} exists (--force to overwrite it)"
        )
        raise typer.Exit(ExitCode.USAGE)
    target.write_bytes(exported.content)
    err_console.print(f"wrote {escape(str(target))} ({len(exported.content):,} bytes)")
