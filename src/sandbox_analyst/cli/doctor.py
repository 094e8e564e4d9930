"""`analyst doctor`: what this machine gives the sandbox, and what is missing."""

from __future__ import annotations

import asyncio
import platform
import sys
import time

import typer
from rich.markup import escape
from rich.table import Table

from sandbox_analyst.cli.app import app, console, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import ProviderHealth, SandboxError, SandboxProvider, create_provider

_STYLE = {"active": "green", "unavailable": "red", "disabled": "yellow"}


@app.command("doctor")
def doctor() -> None:
    """Check the sandbox: isolation layers in force, preloaded libraries, a live round trip."""
    config = settings()
    console.print(
        f"Python {platform.python_version()} on {platform.system()} {platform.release()} "
        f"({platform.machine()}); data directory {config.data_dir}; sandbox backend "
        f"{config.sandbox.backend}"
    )
    try:
        provider = create_provider(
            config.sandbox.model_copy(update={"pool_size": 1}),
            config.data_dir / "sandboxes",
            hidden_paths=(str(config.data_dir),),
        )
    except SandboxError as exc:
        console.print(f"[red]sandbox backend unavailable:[/red] {escape(str(exc))}")
        raise typer.Exit(ExitCode.FAILED) from exc
    level = asyncio.run(_check(config, provider))
    if level is None:
        raise typer.Exit(ExitCode.FAILED)
    console.print(
        f"isolation level: [bold]{level}[/bold] (required: {config.sandbox.min_isolation})"
    )


async def _check(config: Settings, provider: SandboxProvider) -> str | None:
    """Print what the backend reports, then a live round trip; the isolation level, or None
    when the check failed."""
    # Before starting: a backend that refuses to start (isolation below the minimum) still
    # shows what it found.
    before = await provider.health()
    _isolation_table(config, before)
    started = time.perf_counter()
    try:
        async with provider:
            console.print(
                f"{before.backend} backend started in {time.perf_counter() - started:.2f} s"
            )
            await provider.wait_ready()  # so that what is timed below is a hand-over
            _facts(await provider.health())
            began = time.perf_counter()
            sandbox = await provider.create()
            acquired = time.perf_counter() - began
            execution = await sandbox.run_code("import sys; sys.version_info[:2]")
            round_trip = time.perf_counter() - began - acquired
            await sandbox.close()
    except SandboxError as exc:
        console.print(f"[red]sandbox check failed:[/red] {escape(str(exc))}")
        return None
    if execution.error is not None:
        console.print(f"[red]sandbox check failed:[/red] {escape(execution.error.value)}")
        return None
    console.print(
        f"live sandbox: acquired in {acquired * 1000:.2f} ms, first cell in "
        f"{round_trip * 1000:.2f} ms (python {execution.text}, server {sys.version_info[:2]})"
    )
    return before.isolation_level or "unknown"


def _isolation_table(config: Settings, health: ProviderHealth) -> None:
    if config.sandbox.backend == "local" and not config.sandbox.isolation:
        console.print("[yellow]isolation is switched off (ANALYST_SANDBOX__ISOLATION=false)[/]")
        return
    if not health.layers:
        return
    table = Table(title="Sandbox isolation layers", show_lines=False)
    for column in ("layer", "status", "what it gives / why not", "what it would take"):
        table.add_column(column, overflow="fold")
    for layer in health.layers:
        style = _STYLE.get(layer.status, "default")
        table.add_row(layer.name, f"[{style}]{layer.status}[/{style}]", layer.detail, layer.remedy)
    console.print(table)


def _facts(health: ProviderHealth) -> None:
    console.print(f"{health.backend} backend: {health.detail}")
    for name, value in health.facts.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(item) for item in value) or "nothing"
        elif isinstance(value, dict):
            value = "; ".join(f"{key}: {item}" for key, item in value.items()) or "none"
        console.print(f"  {name.replace('_', ' ')}: {value}")
