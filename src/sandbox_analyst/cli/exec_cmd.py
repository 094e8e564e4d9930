"""`analyst exec`: run code (Python, or `--language` bash, sql, r) in a fresh sandbox from the
shell, streaming its output."""

from __future__ import annotations

import ast
import asyncio
import base64
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sandbox_analyst.cli.app import app, console, err_console, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.sandbox import Execution, Result, SandboxError, create_provider

_IMAGE_FORMATS = {"png": "png", "jpeg": "jpg", "svg": "svg"}
_IMPORT_LINE = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)


@app.command("exec")
def exec_code(
    code: Annotated[str, typer.Argument(help="Code to run; '-' reads it from stdin.")],
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="Copy a file into the sandbox first (repeatable)."),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds the code may run.")] = None,
    language: Annotated[
        str,
        typer.Option(
            "--language",
            "-l",
            help="python, bash, sql (DuckDB over the copied files) or r (where R is installed).",
        ),
    ] = "python",
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Where images are saved.")
    ] = Path("analyst-output"),
) -> None:
    """Run CODE in a fresh sandbox; print its output; save images; exit 1 on an error.

    Example: analyst exec --file data.csv "import pandas as pd; pd.read_csv('data.csv').describe()"
    or: analyst exec -l sql --file data.csv "SELECT count(*) FROM 'data.csv'"
    """
    source = sys.stdin.read() if code == "-" else code
    for path in files or []:
        if not path.is_file():
            err_console.print(f"[red]error:[/red] no such file: {path}")
            raise typer.Exit(ExitCode.USAGE)
    try:
        execution = asyncio.run(_run(source, language, files or [], timeout, output_dir))
    except SandboxError as exc:
        err_console.print(f"[red]sandbox error:[/red] {escape(str(exc))}")
        raise typer.Exit(ExitCode.USAGE) from exc
    if execution.error is not None:
        raise typer.Exit(ExitCode.FAILED)


async def _run(
    code: str, language: str, files: list[Path], timeout: float | None, output_dir: Path
) -> Execution:
    config = settings()
    # One session, one cell: the zygote imports only what this code imports (a pandas cell
    # still gets pandas, with matplotlib's persistent font cache and so on), not the whole
    # list a server's sessions share.
    preload = preload_for(code, config.sandbox.preload) if language == "python" else []
    sandbox_settings = config.sandbox.model_copy(update={"pool_size": 0, "preload": preload})
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
            language=language,  # type: ignore[arg-type]  # checked by the sandbox
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


def preload_for(code: str, preload: list[str]) -> list[str]:
    """The modules of `preload` whose top-level package `code` imports, in their order."""
    imported = _imported_packages(code)
    return [name for name in preload if name.partition(".")[0] in imported]


def _imported_packages(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython syntax (magics, `!cmd`): look at the import lines only
        return set(_IMPORT_LINE.findall(code))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.partition(".")[0])
    return names


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
