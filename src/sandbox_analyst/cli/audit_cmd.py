"""`analyst audit prune`: delete the records of the logs of what sessions did (egress
connections, sandbox time, database queries, MCP tool calls) older than an age, once; a server
with `audit.retention_days` set does it hourly by itself."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

import typer

from sandbox_analyst.cli.app import app, console, settings
from sandbox_analyst.service import PruneReport, Services

audit_app = typer.Typer(help="The logs of what sessions did.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("prune")
def audit_prune(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            min=1,
            help="Days: delete the records older than this. Default: audit.retention_days.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON document.")] = False,
) -> None:
    """Delete the audit log records older than an age; say how many went from each log."""
    configured = settings()
    days = older_than if older_than is not None else configured.audit.retention_days
    if days == 0:
        raise typer.BadParameter(
            "give --older-than DAYS (audit.retention_days is 0: records are kept)",
            param_hint="--older-than",
        )

    async def run() -> PruneReport:
        async with Services.running(configured) as services:
            return await services.audit.prune(timedelta(days=days))

    report = asyncio.run(run())
    counts = asdict(report)
    if as_json:
        console.print_json(json.dumps({"older_than_days": days, "deleted": counts}))
        return
    for log, count in counts.items():
        console.print(f"{log}: {count} deleted")
    console.print(f"[bold]{report.total}[/bold] records older than {days} days deleted")
