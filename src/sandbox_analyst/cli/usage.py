"""`analyst usage [--user NAME] [--since DATE] [--json]`: per user, turns, tokens, code runs
and stored bytes, from the server's database."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from sandbox_analyst.cli.app import app, console, fail, settings
from sandbox_analyst.cli.since_option import SINCE_HELP, parse_since
from sandbox_analyst.service import Principal, ServiceError, Services, UserUsage

_OPERATOR = Principal(user_id="cli", name="cli", is_admin=True)


@app.command("usage")
def usage(
    user: Annotated[str | None, typer.Option("--user", help="Only this user.")] = None,
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON document.")] = False,
) -> None:
    """How much each user used: turns, tokens, code runs, stored bytes."""
    start = parse_since(since)

    async def run() -> list[UserUsage]:
        async with Services.running(settings()) as services:
            return await services.usage.report(_OPERATOR, since=start, user=user)

    try:
        rows = asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    if as_json:
        console.print_json(json.dumps([asdict(row) for row in rows]))
        return
    table = Table(
        "user", "turns", "tokens in / out", "runs", "run / cpu s", "sandbox min", "stored"
    )
    table.columns[0].no_wrap = True
    for row in rows:
        failed = row.turns_by_status.get("failed", 0)
        table.add_row(
            row.name,
            f"{row.turns} ({failed} failed)" if failed else str(row.turns),
            f"{row.input_tokens:,} / {row.output_tokens:,}",
            str(row.executions),
            f"{row.execution_seconds:.1f} / {row.cpu_seconds:.1f}",
            f"{row.sandbox_minutes:.1f}",
            f"{row.files} files, {row.storage_bytes:,} B",
        )
    console.print(table)
