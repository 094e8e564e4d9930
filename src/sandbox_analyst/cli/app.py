"""The root Typer application and the options every sub-command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sandbox_analyst.cli.exit_codes import ExitCode, exit_code_for
from sandbox_analyst.config import ConfigError, Settings, load_settings
from sandbox_analyst.service import public_error

app = typer.Typer(
    name="analyst",
    help="Sandbox Analyst: ask questions about your data; an LLM answers with code that runs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)


class _State:
    config_file: Path | None = None


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML settings file (default: ./analyst.yaml)."),
    ] = None,
) -> None:
    _State.config_file = config


def settings() -> Settings:
    """The effective settings for this invocation; a bad config file exits with a message."""
    try:
        return load_settings(_State.config_file)
    except (ConfigError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(ExitCode.USAGE) from exc


def fail(exc: Exception) -> typer.Exit:
    """Say what went wrong; the exit to raise, with the code `exc` calls for."""
    error = public_error(exc)
    err_console.print(f"[red]error:[/red] {error.message if error is not None else exc}")
    return typer.Exit(exit_code_for(exc))


def main() -> None:
    app()
