"""`analyst users create NAME [--admin]` (prints the new user's first API key, once) and
`analyst users list`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, fail, settings
from sandbox_analyst.service import ServiceError, Services

users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def create_user(
    name: Annotated[str, typer.Argument(help="A unique user name.")],
    admin: Annotated[bool, typer.Option("--admin", help="May see and change everything.")] = False,
) -> None:
    """Create a user and print their API key. The key is shown only this once."""

    async def run() -> tuple[str, str]:
        async with Services.running(settings()) as services:
            user = await services.users.create_user(name, admin=admin)
            created = await services.users.create_key(user.id, name="initial")
            return user.id, created.secret

    try:
        user_id, secret = asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    role = "admin" if admin else "user"
    err_console.print(f"created {role} [bold]{name}[/bold] ({user_id}). API key (shown once):")
    console.print(secret, markup=False, highlight=False)


@users_app.command("list")
def list_users() -> None:
    """List users."""

    async def run() -> list[tuple[str, str, str, str]]:
        async with Services.running(settings()) as services:
            return [
                (u.name, u.role, u.created_at.isoformat(timespec="seconds"), u.id)
                for u in await services.users.list_users()
            ]

    table = Table("name", "role", "created")
    table.add_column("id", no_wrap=True, min_width=22)
    for row in asyncio.run(run()):
        table.add_row(*row)
    console.print(table)
