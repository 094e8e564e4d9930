"""The root Typer application and the options every sub-command shares.

Sub-commands are imported only when they run (or when help lists them): `analyst exec` must not
pay for the server's, the database's and the LLM SDKs' imports that `analyst serve` needs.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.console import Console
from typer.core import TyperGroup

from sandbox_analyst.cli.exit_codes import ExitCode, exit_code_for
from sandbox_analyst.sandbox.local.zygote_launch import launch_ahead

if TYPE_CHECKING:
    from sandbox_analyst.config import Settings

# Sub-command -> the module of this package that registers it on `app`, in help order.
COMMAND_MODULES = {
    "audit": "audit_cmd",
    "chat": "chat",
    "config": "config_cmd",
    "connections": "connections",
    "demo": "demo",
    "doctor": "doctor",
    "egress": "egress_cmd",
    "eval": "eval_cmd",
    "exec": "exec_cmd",
    "export": "export",
    "fork": "fork",
    "keys": "keys",
    "mcp": "mcp_cmd",
    "mcp-servers": "mcp_servers",
    "packages": "packages",
    "rerun": "rerun",
    "serve": "serve",
    "task": "task_cmd",
    "templates": "templates",
    "usage": "usage",
    "users": "users",
}


class _LazyCommands(TyperGroup):
    """The root group: a sub-command's module is imported the first time it is looked up."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            self._load(COMMAND_MODULES[cmd_name])
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in dict.fromkeys(COMMAND_MODULES.values()):
            self._load(module)
        known = [name for name in COMMAND_MODULES if name in self.commands]
        return known + [name for name in self.commands if name not in COMMAND_MODULES]

    def _load(self, module: str) -> None:
        importlib.import_module(f"{__package__}.{module}")
        # The module registered its commands on `app`; build their click commands now.
        for name, command in typer.main.get_group(app).commands.items():
            self.commands.setdefault(name, command)


app = typer.Typer(
    cls=_LazyCommands,
    name="analyst",
    help="Sandbox Analyst: ask questions about your data; an LLM answers with code that runs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)


# Where `analyst chat` finds a running server to talk to instead of starting its own.
SERVER_ENV = "ANALYST_SERVER_URL"


def wants_a_sandbox_at_once(argv: list[str]) -> bool:
    """Whether the command will run code in a local sandbox first thing (`exec`, and `chat`
    when it embeds the server): then its zygote is launched before typer parses the arguments
    (which imports pydantic) and the settings are read, so that the zygote's imports (IPython,
    the worker) run beside ours. With another backend configured it is ended unused."""
    command = _command(argv)
    if command == "chat":
        remote = any(arg == "--server" or arg.startswith("--server=") for arg in argv)
        return not remote and not os.environ.get(SERVER_ENV)
    return command == "exec"


def _command(argv: list[str]) -> str | None:
    """The sub-command `argv` names, before typer has parsed it (root options skipped)."""
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--config":
            next(arguments, None)
        elif not argument.startswith("-"):
            return argument
    return None


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
    # Imported here, not with the CLI: pydantic is a tenth of a second a command may overlap
    # with other work (`analyst exec` launches its sandbox's zygote first).
    from sandbox_analyst.config import ConfigError, load_settings

    try:
        return load_settings(_State.config_file)
    except (ConfigError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(ExitCode.USAGE) from exc


def fail(exc: Exception) -> typer.Exit:
    """Say what went wrong; the exit to raise, with the code `exc` calls for."""
    from sandbox_analyst.service import public_error  # the ORM and more: only when failing

    error = public_error(exc)
    err_console.print(f"[red]error:[/red] {error.message if error is not None else exc}")
    return typer.Exit(exit_code_for(exc))


def main() -> None:
    if wants_a_sandbox_at_once(sys.argv[1:]):
        launch_ahead()
    try:
        app()
    finally:
        # Nothing needs collecting as the process ends, yet the interpreter's last collection
        # walks every object the imports made: a twentieth of a second of every command.
        gc.freeze()
