"""`analyst eval SUITE.yaml --assistant A [--assistant B] [--repeat N]`: run a suite's cases,
each in a fresh conversation, through the service in-process (the configured models, real
sandboxes), and print per assistant how often it answered right, with what it took.

`--suite starter` runs the starter suite (built on first use into the data directory);
`--build-starter DIR` writes it, with its data and reference answers, into DIR to read or
adapt. Exit codes: 0 the suite ran (whatever its pass rate, unless `--fail-under`), 1 an
assistant's pass rate is below `--fail-under`, 2 a bad suite file or bad arguments (an
unknown assistant or case), 130 interrupted. A run whose turn fails (no model, no sandbox)
is counted as `error:<kind>`, not an exit.
"""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from sandbox_analyst.cli.app import app, console, err_console, settings
from sandbox_analyst.cli.eval_render import EvalProgress, print_report, rate
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.evaluation import Case, EvalReport, Suite, SuiteError, load_suite

BUILT_IN_SUITES = ("starter",)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command("eval")
def evaluate(
    suite_path: Annotated[
        Path | None,
        typer.Argument(metavar="[SUITE.yaml]", help="The suite file.", show_default=False),
    ] = None,
    suite_name: Annotated[
        str | None,
        typer.Option("--suite", help="A built-in suite instead of a file: starter."),
    ] = None,
    assistants: Annotated[
        list[str] | None,
        typer.Option(
            "--assistant",
            "-a",
            help="An assistant (id or name) to evaluate; repeat to compare several "
            "(default: your 'Analyst').",
        ),
    ] = None,
    repeat: Annotated[
        int, typer.Option("--repeat", "-n", min=1, max=100, help="Runs of each case.")
    ] = 1,
    case_ids: Annotated[
        list[str] | None, typer.Option("--case", help="Only this case (repeatable).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=32, help="Runs at the same time.")
    ] = 1,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON to this file.")
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="table: tables and a progress bar; json: only JSON."),
    ] = OutputFormat.TABLE,
    fail_under: Annotated[
        float | None,
        typer.Option(
            "--fail-under",
            min=0.0,
            max=1.0,
            help="Exit 1 when an assistant's pass rate is below this (0.8: 80%).",
        ),
    ] = None,
    build_starter_dir: Annotated[
        Path | None,
        typer.Option(
            "--build-starter",
            metavar="DIR",
            help="Write the starter suite, its data and its reference answers into DIR, and stop.",
        ),
    ] = None,
) -> None:
    """Run an evaluation suite and report each assistant's pass rate, turns, tool calls,
    tokens and time.

    Example: analyst eval --suite starter --assistant gpt-4o --assistant qwen --repeat 3
    """
    if build_starter_dir is not None:
        _build_starter(build_starter_dir)
        return
    suite = _suite(suite_path, suite_name)
    try:
        cases = suite.selected(case_ids or [])
    except KeyError as exc:
        _usage_error(f"the suite has no case {exc.args[0]}")
    quiet = output_format is OutputFormat.JSON
    try:
        report = asyncio.run(_run(suite, cases, assistants or [], repeat, concurrency, quiet))
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted: the evaluation stopped[/yellow]")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    document = report.to_json()
    if json_path is not None:
        json_path.write_text(json.dumps(document, indent=2))
    if quiet:
        typer.echo(json.dumps(document, indent=2))
    else:
        print_report(console, report)
        if json_path is not None:
            console.print(f"Results written to {escape(str(json_path))}")
    if fail_under is not None:
        _check_fail_under(report, fail_under)


def _usage_error(message: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(ExitCode.USAGE)


def _build_starter(directory: Path) -> None:
    from sandbox_analyst.evaluation.starter import build_starter

    with err_console.status("building the starter suite…"):
        path = build_starter(directory)
    console.print(f"Wrote the starter suite to {escape(str(path))}")
    console.print(f"Run it with: analyst eval {escape(str(path))}")


def _suite(path: Path | None, name: str | None) -> Suite:
    if (path is None) == (name is None):
        _usage_error("give a suite file, or --suite NAME for a built-in one (starter)")
    if name is not None:
        if name not in BUILT_IN_SUITES:
            _usage_error(f"no built-in suite {name!r}; there is: {', '.join(BUILT_IN_SUITES)}")
        from sandbox_analyst.evaluation.starter import starter_suite

        with err_console.status("building the starter suite…"):
            path = starter_suite(settings().data_dir / "evaluation")
    assert path is not None
    if not path.is_file():
        _usage_error(f"no such file: {path}")
    try:
        return load_suite(path)
    except SuiteError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(ExitCode.USAGE) from exc


async def _run(
    suite: Suite,
    cases: list[Case],
    wanted: list[str],
    repeat: int,
    concurrency: int,
    quiet: bool,
) -> EvalReport:
    # Imported here: the service brings the ORM and the sandbox engine.
    from sandbox_analyst.evaluation import (
        Evaluation,
        assistant_info,
        default_assistant,
        find_assistant,
    )
    from sandbox_analyst.service import NotFound, Services

    async with Services.running(settings()) as services:
        principal = await services.users.ensure_local_admin()
        try:
            records = (
                [await find_assistant(services, principal, name) for name in wanted]
                if wanted
                else [await default_assistant(services, principal)]
            )
        except NotFound as exc:
            _usage_error(exc.message)
        chosen = [(record, assistant_info(services, record)) for record in records]
        total = len(chosen) * len(cases) * repeat
        progress = EvalProgress(Console(stderr=True, quiet=quiet), total)
        evaluation = Evaluation(
            services,
            principal,
            suite,
            repeat=repeat,
            concurrency=concurrency,
            on_run=progress.on_run,
        )
        with progress:
            return await evaluation.run(chosen, cases)


def _check_fail_under(report: EvalReport, threshold: float) -> None:
    below = [a for a in report.assistants if a.summary.pass_rate < threshold]
    for assistant in below:
        err_console.print(
            f"[red]{escape(assistant.assistant.title)}: pass rate {rate(assistant.summary)} "
            f"is below {threshold:.0%}[/red]"
        )
    if below:
        raise typer.Exit(ExitCode.FAILED)
