"""`analyst doctor`: what this machine gives the sandbox, and what is missing."""

from __future__ import annotations

import asyncio
import platform
import sys
import time

import typer
from rich.table import Table

from sandbox_analyst.cli.app import app, console, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SandboxError, SandboxPool
from sandbox_analyst.sandbox.local.isolation import IsolationSettings, LayerStatus, detect

_STYLE = {
    LayerStatus.ACTIVE: "green",
    LayerStatus.UNAVAILABLE: "red",
    LayerStatus.DISABLED: "yellow",
}


@app.command("doctor")
def doctor() -> None:
    """Check the sandbox: isolation layers in force, preloaded libraries, a live round trip."""
    config = settings()
    console.print(
        f"Python {platform.python_version()} on {platform.system()} {platform.release()} "
        f"({platform.machine()}); data directory {config.data_dir}"
    )
    level = _isolation_table(config)
    healthy = asyncio.run(_live_check(config))
    required = config.sandbox.min_isolation
    if not healthy:
        raise typer.Exit(ExitCode.FAILED)
    console.print(f"isolation level: [bold]{level}[/bold] (required: {required})")


def _isolation_table(config: Settings) -> str:
    if not config.sandbox.isolation:
        console.print("[yellow]isolation is switched off (ANALYST_SANDBOX__ISOLATION=false)[/]")
        return "none"
    report = detect(
        IsolationSettings(
            memory_limit_mb=config.sandbox.memory_limit_mb,
            disk_quota_mb=config.sandbox.disk_quota_mb,
            max_processes=config.sandbox.max_processes,
            hidden_paths=(str(config.data_dir),),
        )
    )
    table = Table(title="Sandbox isolation layers", show_lines=False)
    for column in ("layer", "status", "what it gives / why not", "what it would take"):
        table.add_column(column, overflow="fold")
    for name, status, detail, remedy in report.as_rows():
        style = _STYLE[LayerStatus(status)]
        table.add_row(name, f"[{style}]{status}[/{style}]", detail, remedy)
    console.print(table)
    return report.level


async def _live_check(config: Settings) -> bool:
    sandbox_settings = config.sandbox.model_copy(update={"pool_size": 1})
    started = time.perf_counter()
    try:
        async with SandboxPool(sandbox_settings, config.data_dir / "sandboxes") as pool:
            console.print(f"zygote started in {time.perf_counter() - started:.2f} s")
            console.print(f"preloaded: {', '.join(pool.preloaded) or 'nothing'}")
            await pool.wait_ready()
            began = time.perf_counter()
            sandbox = await pool.acquire()
            acquired = time.perf_counter() - began
            execution = await sandbox.run_code("import sys; sys.version_info[:2]")
            round_trip = time.perf_counter() - began - acquired
    except SandboxError as exc:
        console.print(f"[red]sandbox check failed:[/red] {exc}")
        return False
    if execution.error is not None:
        console.print(f"[red]sandbox check failed:[/red] {execution.error.value}")
        return False
    console.print(
        f"live sandbox: acquired in {acquired * 1000:.2f} ms, first cell in "
        f"{round_trip * 1000:.2f} ms (python {execution.text}, server {sys.version_info[:2]})"
    )
    return True
