"""`analyst demo [--output DIR] [--data-dir DIR]`: a complete analysis of a dataset shipped with
the package, through the real server, agent loop, sandbox and storage, with a scripted model
in place of an LLM. Ends with a self-contained HTML report of the conversation."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from sandbox_analyst.cli.app import app, console, err_console, settings
from sandbox_analyst.cli.chat_render import ChatRenderer
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.client import TurnEvent
from sandbox_analyst.demo import DemoFailed, run_demo

BANNER = (
    "[bold]This is a demo with a scripted model.[/bold] The model's turns (the questions' "
    "answers, the code it writes, its wording) are replayed from a script; no LLM is called.\n"
    "Everything else is real: the server, the agent loop, the sandbox running the code, the "
    "storage. The outputs, the charts and every number quoted come from the code running now."
)


class _Terminal:
    """Shows the demo with `analyst chat`'s renderer, plus each question and each file made."""

    def __init__(self) -> None:
        self.renderer = ChatRenderer(console, err_console)

    def question(self, number: int, total: int, text: str) -> None:
        self.renderer = ChatRenderer(console, err_console)  # steps numbered per question
        console.print()
        console.print(Rule(f"question {number} of {total}", align="left"))
        console.print(Text(f"> {text}", style="bold cyan"))

    def event(self, event: TurnEvent) -> None:
        self.renderer.event(event)
        if event.type == "artifact":
            console.print(
                Text(f"made {event.data['name']} ({event.data['media_type']})", style="green")
            )


@app.command("demo")
def demo(
    output: Annotated[
        Path, typer.Option("--output", help="Where to write the report, charts and files.")
    ] = Path("analyst-output"),
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Keep the demo's database and files here (default: a temp dir)."
        ),
    ] = None,
) -> None:
    """Analyse a shipped sales dataset end to end with a scripted model; write an HTML report."""
    effective = settings()
    console.print(Panel(BANNER, title="analyst demo", border_style="yellow"))
    where = data_dir or "a temporary directory"
    console.print(f"Starting the service (database, files, sandbox pool) in {where}…")
    started = time.monotonic()
    try:
        result = asyncio.run(
            run_demo(output, settings=effective, data_dir=data_dir, observer=_Terminal())
        )
    except DemoFailed as exc:
        err_console.print(f"[red]error:[/red] the demo failed: {exc}")
        raise typer.Exit(ExitCode.FAILED) from exc
    except Exception as exc:  # the command's last word: say what broke, not a bare traceback
        err_console.print(f"[red]error:[/red] the demo failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(ExitCode.FAILED) from exc
    console.print()
    console.print(Rule("done", align="left"))
    console.print(f"Finished in {time.monotonic() - started:.1f} s (model turns replayed).")
    # soft_wrap: paths stay on one line, whole, to be copied.
    report = Text.assemble("Report: ", (str(result.report.resolve()), "bold green"))
    console.print(report, soft_wrap=True)
    for path in result.files:
        console.print(f"  {path.resolve()}", soft_wrap=True, highlight=False)
    if result.data_dir is not None:
        where = result.data_dir.resolve()
        console.print(f"The service's data (database, files) is in {where}", soft_wrap=True)
