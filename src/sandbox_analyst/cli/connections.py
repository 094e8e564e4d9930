"""`analyst connections add NAME URL | list | test NAME | rm NAME | log [NAME]`: the database
connections the agent may query (read-only). The command line acts as the server's operator:
as the local user (the one `analyst chat` and single-user mode act as) unless `--user` names
another, with an admin's rights (sharing, SQLite and DuckDB files). Give the URL as `-` to
read it from stdin and keep the password out of the shell's history."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, fail, settings
from sandbox_analyst.service import ConnectionCreate, Principal, ServiceError, Services

connections_app = typer.Typer(
    help="Database connections the agent may query (read-only).", no_args_is_help=True
)
app.add_typer(connections_app, name="connections")

UserOption = Annotated[
    str | None, typer.Option("--user", help="Act for this user (default: the local user).")
]


async def _principals(services: Services, user: str | None) -> tuple[Principal, Principal]:
    """Who acts (the operator, an admin) and whose connections these are."""
    operator = await services.users.ensure_local_admin()
    if user is None:
        return operator, operator
    record = await services.users.get_user(user)
    return operator, Principal(record.id, record.name, record.is_admin)


def _run(work) -> object:
    async def run():
        async with Services.running(settings()) as services:
            return await work(services)

    try:
        return asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc


@connections_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="What the agent calls it, e.g. sales.")],
    url: Annotated[
        str,
        typer.Argument(
            help="SQLAlchemy URL (postgresql://user:password@host/db, "
            "mysql://user:password@host/db, sqlite:////path/file.db, "
            "duckdb:////path/file.duckdb); '-' reads it from stdin. Stored encrypted, never "
            "shown again."
        ),
    ],
    description: Annotated[str, typer.Option(help="What it holds, for the model.")] = "",
    shared: Annotated[bool, typer.Option("--shared", help="Usable by every user.")] = False,
    user: UserOption = None,
) -> None:
    """Register a database connection."""
    if url == "-":
        url = sys.stdin.readline().strip()
    try:
        spec = ConnectionCreate(name=name, url=url, description=description, shared=shared)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {escape(_first_error(exc))}")
        raise typer.Exit(2) from None

    async def work(services: Services):
        operator, owner = await _principals(services, user)
        record = await services.connections.create(operator, spec, owner_id=owner.user_id)
        return record, await services.connections.test(owner, record.id)

    record, check = _run(work)
    err_console.print(f"added [bold]{escape(record.name)}[/bold] ({record.id}): ", end="")
    console.print(record.url_masked, markup=False, highlight=False)
    if check.ok:
        err_console.print(f"reachable: {escape(check.detail)}")
    else:
        err_console.print(f"[yellow]not reachable now:[/yellow] {escape(check.detail)}")


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


@connections_app.command("list")
def list_connections(user: UserOption = None) -> None:
    """The connections a user may use: their own and the shared ones."""

    async def work(services: Services):
        _, owner = await _principals(services, user)
        return await services.connections.list(owner)

    records = _run(work)
    if not records:
        err_console.print("no connections; add one with `analyst connections add NAME URL`")
        return
    table = Table("name", "dialect", "url", "shared", "description")
    table.add_column("id", no_wrap=True, min_width=22)
    for record in records:
        table.add_row(
            escape(record.name),
            record.dialect,
            escape(record.url_masked),
            "yes" if record.shared else "",
            escape(record.description[:60]),
            record.id,
        )
    console.print(table)


@connections_app.command("test")
def check(
    name: Annotated[str, typer.Argument(help="The connection's name or id.")],
    user: UserOption = None,
) -> None:
    """Connect read-only and print the server's version; exit 1 when it cannot be reached."""

    async def work(services: Services):
        _, owner = await _principals(services, user)
        return await services.connections.test(owner, name)

    check = _run(work)
    if not check.ok:
        err_console.print(f"[red]not reachable:[/red] {escape(check.detail)}")
        raise typer.Exit(1)
    console.print(f"ok: {escape(check.detail)} ({check.seconds:.2f} s)")


@connections_app.command("rm")
def remove(
    name: Annotated[str, typer.Argument(help="The connection's name or id.")],
    user: UserOption = None,
) -> None:
    """Remove a connection (assistants that named it lose it; its audit log stays)."""

    async def work(services: Services):
        operator, owner = await _principals(services, user)
        record = await services.connections.get(owner, name)
        return await services.connections.delete(operator, record.id)

    record = _run(work)
    err_console.print(f"removed [bold]{escape(record.name)}[/bold] ({record.id})")


@connections_app.command("log")
def log(
    name: Annotated[str | None, typer.Argument(help="Only this connection's.")] = None,
    limit: Annotated[int, typer.Option(help="Entries, newest first.")] = 50,
) -> None:
    """The audit log: every query, listing and description the agent ran, by everyone."""

    async def work(services: Services):
        operator = await services.users.ensure_local_admin()
        return await services.connections.queries(operator, ref=name, limit=limit)

    table = Table("when", "connection", "operation", "outcome", "rows", "owner", "statement")
    for entry in _run(work):
        rows = "" if entry.rows is None else f"{entry.rows}{'+' if entry.truncated else ''}"
        table.add_row(
            entry.created_at.isoformat(timespec="seconds"),
            escape(entry.connection_name),
            entry.operation,
            entry.outcome,
            rows,
            entry.owner_id,
            escape(" ".join(entry.statement.split())[:120]),
        )
    console.print(table)
