"""`analyst egress log`: the audit log of sandbox egress, every connection a session made
through the egress proxy or was refused, newest first, from the server's database."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.table import Table

from sandbox_analyst.cli.app import app, console, fail, settings
from sandbox_analyst.cli.since_option import SINCE_HELP, parse_since
from sandbox_analyst.service import EgressQuery, Principal, ServiceError, Services
from sandbox_analyst.store import EgressConnection

_OPERATOR = Principal(user_id="cli", name="cli", is_admin=True)

egress_app = typer.Typer(help="Sandbox network access (egress).", no_args_is_help=True)
app.add_typer(egress_app, name="egress")


@egress_app.command("log")
def egress_log(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's sessions.")] = None,
    sandbox: Annotated[str | None, typer.Option("--sandbox", help="Only this session.")] = None,
    denied: Annotated[bool, typer.Option("--denied", help="Only refused connections.")] = False,
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON document.")] = False,
) -> None:
    """Every connection sandboxes made through the egress proxy, or were refused."""
    query = EgressQuery(user, sandbox, denied, parse_since(since), limit)

    async def run() -> list[EgressConnection]:
        async with Services.running(settings()) as services:
            return await services.egress.list(_OPERATOR, query)

    try:
        rows = asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    if as_json:
        console.print_json(json.dumps([_as_dict(row) for row in rows]))
        return
    table = Table("when", "to", "outcome", "sent / received", "session", "reason")
    table.columns[1].no_wrap = True
    table.columns[4].overflow = "fold"
    for row in rows:
        table.add_row(
            row.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{row.host}:{row.port}{row.path or ''}",
            "[green]allowed[/green]" if row.allowed else "[red]denied[/red]",
            f"{row.bytes_sent} / {row.bytes_received}",
            row.sandbox_id,
            row.reason,
        )
    console.print(table)
    if not rows:
        console.print("[dim]no egress connections recorded[/dim]")


def _as_dict(row: EgressConnection) -> dict[str, object]:
    values = {
        column.name: getattr(row, column.name) for column in EgressConnection.__table__.columns
    }
    return {**values, "started_at": row.started_at.isoformat()}
