"""`--since DATE`, as the reporting commands (`usage`, `egress log`) take it."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from sandbox_analyst.cli.app import err_console
from sandbox_analyst.cli.exit_codes import ExitCode

SINCE_HELP = "From this date or time (ISO 8601, UTC if no zone)."


def parse_since(since: str | None) -> datetime | None:
    """The time `--since` names; a usage error (exit 2) when it is not an ISO date or time."""
    if since is None:
        return None
    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        err_console.print(f"[red]error:[/red] --since {since!r} is not an ISO date or time")
        raise typer.Exit(ExitCode.USAGE) from None
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)
