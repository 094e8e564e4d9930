"""`analyst rerun NOTEBOOK.ipynb --file DATA...`: re-execute an exported notebook's code cells in
a fresh sandbox of the template it names and report, cell by cell, whether the outputs are the
ones it holds (text exactly once memory addresses are normalised, images by size and a pixel
tolerance, errors by name). Exit 0 when every cell matches, 1 when one differs or fails, 2 for
bad arguments (an input file missing or not the notebook's, unless --allow-mismatch)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import nbformat
import typer
from rich.markup import escape
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, fail, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.sandbox import SandboxError, SessionSpec, create_provider
from sandbox_analyst.sandbox.templates import DEFAULT_TEMPLATE, TemplateCatalog
from sandbox_analyst.service import (
    DEFAULT_PIXEL_TOLERANCE,
    CellOutcome,
    InputCheck,
    RerunReport,
    check_inputs,
    rerun_cells,
    template_of,
    upload_inputs,
)

_STATUS_STYLE = {"match": "green", "differs": "yellow", "error": "red"}


@app.command("rerun")
def rerun(
    notebook_path: Annotated[
        Path, typer.Argument(metavar="NOTEBOOK", help="A notebook `analyst export` wrote.")
    ],
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="An input file the notebook names (repeatable)."),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds each cell may run.")] = None,
    pixel_tolerance: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of an image's pixels that may differ (0.01: one in a hundred).",
        ),
    ] = DEFAULT_PIXEL_TOLERANCE,
    allow_mismatch: Annotated[
        bool,
        typer.Option(
            "--allow-mismatch",
            help="Run even when an input file is missing or is not the one the notebook "
            "names (another sha256).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON document.")] = False,
) -> None:
    """Re-execute a notebook's cells in a fresh sandbox and compare the outputs, cell by cell."""
    paths = files or []
    for path in [notebook_path, *paths]:
        if not path.is_file():
            err_console.print(f"[red]error:[/red] no such file: {escape(str(path))}")
            raise typer.Exit(ExitCode.USAGE)
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is no notebook
        err_console.print(f"[red]error:[/red] {escape(str(notebook_path))} is no notebook: {exc}")
        raise typer.Exit(ExitCode.USAGE) from exc
    template = template_of(notebook)
    if template is None:
        err_console.print(
            "[yellow]warning:[/yellow] the notebook names no template (not exported by "
            "Sandbox Analyst?): running it on the default one"
        )
        template = DEFAULT_TEMPLATE
    inputs = check_inputs(notebook, paths)
    refused = [check for check in inputs if check.status in ("missing", "mismatch")]
    for check in inputs:
        if check.status != "ok":
            _warn_input(check, refusing=not allow_mismatch and check in refused)
    if refused and not allow_mismatch:
        err_console.print(
            "[red]error:[/red] the input files are not the notebook's; give them with --file "
            "(or --allow-mismatch to run anyway)"
        )
        raise typer.Exit(ExitCode.USAGE)
    try:
        cells = asyncio.run(_run(notebook, template, paths, timeout, pixel_tolerance))
    except SandboxError as exc:
        raise fail(exc) from exc
    report = RerunReport(template, inputs, cells)
    if as_json:
        document = {"notebook": str(notebook_path), **asdict(report)}
        document["all_match"] = report.all_match
        console.print_json(json.dumps(document))
    else:
        _print(report)
    if not report.all_match:
        raise typer.Exit(ExitCode.FAILED)


async def _run(
    notebook: nbformat.NotebookNode,
    template: str,
    paths: list[Path],
    timeout: float | None,
    tolerance: float,
) -> list[CellOutcome]:
    config = settings()
    provider = create_provider(
        config.sandbox.model_copy(update={"pool_size": 0}),
        config.data_dir / "sandboxes",
        hidden_paths=(str(config.data_dir),),
        templates=TemplateCatalog.from_settings(config),
    )
    async with provider:
        spec = SessionSpec(template=None if template == DEFAULT_TEMPLATE else template)
        sandbox = await provider.create(spec)
        try:
            await upload_inputs(sandbox, paths)
            return await rerun_cells(notebook, sandbox, timeout=timeout, tolerance=tolerance)
        finally:
            await sandbox.close()


def _warn_input(check: InputCheck, *, refusing: bool) -> None:
    label = "[red]error:[/red]" if refusing else "[yellow]warning:[/yellow]"
    name = escape(check.name)
    if check.status == "missing":
        message = f"the notebook's input file {name} was not given (--file {name})"
    elif check.status == "mismatch":
        message = (
            f"{name} is not the notebook's input file: its sha256 is {check.actual_sha256}, "
            f"the notebook's {check.expected_sha256}"
        )
    else:
        message = f"{name} is not one of the notebook's input files (copied in all the same)"
    err_console.print(f"{label} {message}")


def _print(report: RerunReport) -> None:
    table = Table(title=f"rerun on template {escape(report.template)}")
    table.add_column("cell", justify="right")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for cell in report.cells:
        number = f"[{cell.execution_count}]" if cell.execution_count is not None else ""
        style = _STATUS_STYLE[cell.status]
        table.add_row(
            f"{cell.cell} {number}".strip(),
            f"[{style}]{cell.status}[/{style}]",
            escape(cell.detail),
        )
    console.print(table)
    matching = sum(1 for cell in report.cells if cell.status == "match")
    console.print(f"{matching} of {len(report.cells)} cells match")
