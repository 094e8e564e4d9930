"""`analyst keys create USER`, `analyst keys list USER`, `analyst keys revoke KEY_ID`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, fail, settings
from sandbox_analyst.service import ServiceError, Services

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create_key(
    user: Annotated[str, typer.Argument(help="User name or id.")],
    name: Annotated[str, typer.Option("--name", help="A label to recognise the key by.")] = "",
) -> None:
    """Create an API key for USER and print it. The key is shown only this once."""

    async def run() -> tuple[str, str]:
        async with Services.running(settings()) as services:
            created = await services.users.create_key(user, name=name)
            return created.record.id, created.secret

    try:
        key_id, secret = asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    err_console.print(f"created key {key_id} for {user}. API key (shown once):")
    console.print(secret, markup=False, highlight=False)


@keys_app.command("list")
def list_keys(user: Annotated[str, typer.Argument(help="User name or id.")]) -> None:
    """List USER's keys (never the secrets)."""

    async def run() -> list[tuple[str, ...]]:
        async with Services.running(settings()) as services:
            return [
                (
                    k.name,
                    k.prefix + "…",
                    k.created_at.date().isoformat(),
                    k.last_used_at.isoformat(timespec="minutes") if k.last_used_at else "never",
                    "revoked" if k.revoked_at else "active",
                    k.id,
                )
                for k in await services.users.list_keys(user)
            ]

    try:
        rows = asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    table = Table("name")
    table.add_column("key", no_wrap=True, min_width=11)
    for column in ("created", "last used", "status"):
        table.add_column(column)
    table.add_column("id", no_wrap=True, min_width=22)
    for row in rows:
        table.add_row(*row)
    console.print(table)


@keys_app.command("revoke")
def revoke_key(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `keys list`).")],
) -> None:
    """Revoke a key: requests with it are refused from now on."""

    async def run() -> None:
        async with Services.running(settings()) as services:
            await services.users.revoke_key(key_id)

    try:
        asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    err_console.print(f"revoked key {key_id}")
