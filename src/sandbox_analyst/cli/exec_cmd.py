"""`analyst exec`: run Python in a fresh sandbox from the shell, streaming its output."""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sandbox_analyst.cli.app import app, console, err_console, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.sandbox import Execution, Result, SandboxError, create_provider

_IMAGE_FORMATS = {"png": "png", "jpeg": "jpg", "svg": "svg"}


@app.command("exec")
def exec_code(
    code: Annotated[str, typer.Argument(help="Python code to run; '-' reads it from stdin.")],
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="Copy a file into the sandbox first (repeatable)."),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds the code may run.")] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Where images are saved.")
    ] = Path("analyst-output"),
) -> None:
    """Run CODE in a fresh sandbox; print its output; save images; exit 1 on an error.

    Example: analyst exec --file data.csv "import pandas as pd; pd.read_csv('data.csv').describe()"
    """
    source = sys.stdin.read() if code == "-" else code
    for path in files or []:
        if not path.is_file():
            err_console.print(f"[red]error:[/red] no such file: {path}")
            raise typer.Exit(ExitCode.USAGE)
    try:
        execution = asyncio.run(_run(source, files or [], timeout, output_dir))
    except SandboxError as exc:
        err_console.print(f"[red]sandbox error:[/red] {escape(str(exc))}")
        raise typer.Exit(ExitCode.USAGE) from exc
    if execution.error is not None:
        raise typer.Exit(ExitCode.FAILED)


async def _run(code: str, files: list[Path], timeout: float | None, output_dir: Path) -> Execution:
    config = settings()
    sandbox_settings = config.sandbox.model_copy(update={"pool_size": 0})
    provider = create_provider(
        sandbox_settings, config.data_dir / "sandboxes", hidden_paths=(str(config.data_dir),)
    )
    async with provider:
        sandbox = await provider.create()
        for path in files:
            with path.open("rb") as handle:
                await sandbox.files.write(path.name, handle)
        saved: list[Path] = []

        def on_result(result: Result) -> None:
            _show_result(result, output_dir, saved)

        execution = await sandbox.run_code(
            code,
            timeout=timeout,
            on_stdout=lambda text: console.out(text, end="", highlight=False),
            on_stderr=lambda text: err_console.out(text, end="", highlight=False),
            on_result=on_result,
        )
    if execution.error is not None:
        # IPython's traceback already ends with "Name: value".
        error = execution.error
        err_console.print(escape(error.traceback or f"{error.name}: {error.value}"))
    for path in saved:
        console.print(f"[green]saved[/green] {path}")
    return execution


def _show_result(result: Result, output_dir: Path, saved: list[Path]) -> None:
    for field, extension in _IMAGE_FORMATS.items():
        data = getattr(result, field)
        if data is None:
            continue
        output_dir.mkdir(parents=True, exist_ok=True)
        path = output_dir / f"output-{len(saved) + 1}.{extension}"
        path.write_bytes(data.encode() if field == "svg" else base64.b64decode(data))
        saved.append(path)
        return
    if result.text is not None:
        console.out(result.text, highlight=False)
