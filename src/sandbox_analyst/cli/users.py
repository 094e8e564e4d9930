"""`analyst users create NAME [--admin]` (prints the new user's first API key, once),
`analyst users list`, and `analyst users quota NAME [--turns-per-day N ...] [--clear]` (sets a
user's own quotas; with no option, shows them with today's use and when each resets)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Annotated

import typer
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, fail, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.service import Principal, ServiceError, Services, UserQuotas

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


_OPERATOR = Principal(user_id="cli", name="cli", is_admin=True)
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$", re.IGNORECASE)
_NO_LIMIT = ("unlimited", "none")
_LIMIT_HELP = "a number, 'unlimited', or 'default' (the default for all users)"


def _parse(option: str, value: str, *, size: bool = False, whole: bool = True) -> float | None:
    """A limit as given on the command line; None: no limit."""
    text = value.strip().lower()
    if text in _NO_LIMIT:
        return None
    match = _SIZE.match(text) if size else None
    try:
        if match is not None:
            number, unit, binary = match.groups()
            base = 1024 ** " kmgt".index(unit.lower()) if binary else _UNITS[unit.lower()]
            amount = float(number) * base
        else:
            amount = float(text)
    except ValueError:
        amount = -1.0
    if amount < 0 or (whole and not amount.is_integer()):
        kind = "a size (e.g. 2GB, 500MiB)" if size else "a whole number" if whole else "a number"
        err_console.print(f"[red]error:[/red] {option} {value!r}: give {kind} or 'unlimited'")
        raise typer.Exit(ExitCode.USAGE)
    return int(amount) if whole else amount


def _amount(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name == "storage_bytes":
        return f"{int(value):,} B"
    return f"{value:,.1f}" if name == "cpu_seconds_per_day" else f"{int(value):,}"


def _show(quotas: UserQuotas, as_json: bool) -> None:
    if as_json:
        rows = [
            {
                "name": q.name,
                "limit": q.limit,
                "own": q.own,
                "used": q.used,
                "resets_at": q.resets_at.isoformat() if q.resets_at else None,
                "frees_when": q.frees_when,
            }
            for q in quotas.quotas
        ]
        console.print_json(json.dumps({"user": quotas.name, "quotas": rows}))
        return
    table = Table("quota", "limit", "set by", "used", "resets", title=f"quotas of {quotas.name}")
    for q in quotas.quotas:
        limit = "unlimited" if q.limit is None else _amount(q.name, q.limit)
        resets = (
            q.resets_at.isoformat(timespec="seconds") if q.resets_at else f"when you {q.frees_when}"
        )
        table.add_row(
            q.name, limit, "user" if q.own else "default", _amount(q.name, q.used), resets
        )
    console.print(table)


@users_app.command("quota")
def quota(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    turns_per_day: Annotated[
        str | None, typer.Option("--turns-per-day", help=f"Chat turns per UTC day: {_LIMIT_HELP}.")
    ] = None,
    tokens_per_day: Annotated[
        str | None,
        typer.Option("--tokens-per-day", help=f"Model tokens per UTC day: {_LIMIT_HELP}."),
    ] = None,
    cpu_seconds_per_day: Annotated[
        str | None,
        typer.Option(
            "--cpu-seconds-per-day",
            help=f"Seconds of code running per UTC day (wall-clock): {_LIMIT_HELP}.",
        ),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            "--storage-bytes",
            help=f"Bytes of files kept, e.g. 2GB or 500MiB: {_LIMIT_HELP}.",
        ),
    ] = None,
    sessions: Annotated[
        str | None, typer.Option("--sessions", help=f"Live sandbox sessions: {_LIMIT_HELP}.")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Drop the user's own quotas first (the defaults).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON document.")] = False,
) -> None:
    """Set a user's own quotas; with no option, show them, today's use and when each resets."""
    given = {
        "turns_per_day": ("--turns-per-day", turns_per_day, {}),
        "tokens_per_day": ("--tokens-per-day", tokens_per_day, {}),
        "cpu_seconds_per_day": ("--cpu-seconds-per-day", cpu_seconds_per_day, {"whole": False}),
        "storage_bytes": ("--storage", storage, {"size": True}),
        "sessions": ("--sessions", sessions, {}),
    }
    limits: dict[str, float | None] = {}
    defaults: list[str] = []
    for quota_name, (option, value, how) in given.items():
        if value is None:
            continue
        if value.strip().lower() == "default":
            defaults.append(quota_name)
        else:
            limits[quota_name] = _parse(option, value, **how)
    if sessions is not None and limits.get("sessions") == 0:
        err_console.print("[red]error:[/red] --sessions must be at least 1")
        raise typer.Exit(ExitCode.USAGE)
    change = clear or bool(limits) or bool(defaults)

    async def run() -> UserQuotas:
        async with Services.running(settings()) as services:
            if not change:
                return await services.quotas.show(_OPERATOR, name)
            return await services.quotas.set_limits(
                _OPERATOR, name, limits, defaults=defaults, replace=clear
            )

    try:
        quotas = asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    _show(quotas, as_json)
