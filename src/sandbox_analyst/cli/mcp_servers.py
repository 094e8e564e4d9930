"""`analyst mcp-servers add NAME (--command CMD | --url URL) [--header K=V] [--env K=V] | list |
tools NAME | test NAME | enable NAME | disable NAME | rm NAME | log [NAME]`: the MCP servers
whose tools assistants may be allowed to call (an assistant's `mcp_tools`: `server/tool` or
`server/*`). The command line acts as the server's operator, an admin. `--command` is split as
a shell would (`--command "python -m rates_server --cache /tmp"`), but nothing runs through a
shell. A header or env value given as `-` is read from stdin, one line each, so that it stays
out of the shell's history; values are stored encrypted and never shown again."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, fail, settings
from sandbox_analyst.service import McpServerCreate, ServiceError, Services

mcp_servers_app = typer.Typer(
    help="MCP servers whose tools assistants may call (admins).", no_args_is_help=True
)
app.add_typer(mcp_servers_app, name="mcp-servers")

NameArgument = Annotated[str, typer.Argument(help="The server's name or id.")]


def _run(work) -> object:
    async def run():
        async with Services.running(settings()) as services:
            operator = await services.users.ensure_local_admin()
            return await work(services, operator)

    try:
        return asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc


def _usage_error(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(2)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    """`K=V` options as a dict; a value of `-` is read from stdin."""
    pairs: dict[str, str] = {}
    for value in values:
        key, equals, secret = value.partition("=")
        if not equals or not key:
            raise _usage_error(f"{option} takes NAME=VALUE, not {value!r}")
        pairs[key] = sys.stdin.readline().rstrip("\n") if secret == "-" else secret
    return pairs


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else first["msg"]
    return str(exc)


@mcp_servers_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Its tools are offered as mcp__NAME__TOOL.")],
    command: Annotated[
        str | None,
        typer.Option(
            help="A stdio server: the command line to run on this host (split as a shell would)."
        ),
    ] = None,
    url: Annotated[str | None, typer.Option(help="A streamable HTTP server: its URL.")] = None,
    header: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE sent to an HTTP server (repeatable).")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(help="NAME=VALUE in a stdio server's environment (repeatable)."),
    ] = None,
    description: Annotated[str, typer.Option(help="What its tools are for.")] = "",
    disabled: Annotated[bool, typer.Option("--disabled", help="Register it disabled.")] = False,
) -> None:
    """Register an MCP server, then connect and list its tools."""
    if command is not None:
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise _usage_error(f"--command: {exc}") from None
        if not words:
            raise _usage_error("--command is empty")
        command, args = words[0], words[1:]
    else:
        args = []
    try:
        spec = McpServerCreate(
            name=name,
            description=description,
            command=command,
            args=args,
            url=url,
            headers=_pairs(header or [], "--header"),
            env=_pairs(env or [], "--env"),
            enabled=not disabled,
        )
    except ValueError as exc:
        raise _usage_error(_first_error(exc)) from None

    async def work(services: Services, operator):
        record = await services.mcp_servers.create(operator, spec)
        return record, await services.mcp_servers.test(operator, record.id)

    record, check = _run(work)
    err_console.print(f"added [bold]{escape(record.name)}[/bold] ({record.id})")
    if check.ok:
        tools = ", ".join(tool.name for tool in check.tools)
        err_console.print(f"{escape(check.detail)}: {escape(tools)}")
    else:
        err_console.print(f"[yellow]cannot list its tools now:[/yellow] {escape(check.detail)}")


@mcp_servers_app.command("list")
def list_servers() -> None:
    """The registered servers (header and env names only, never their values)."""
    records = _run(lambda services, operator: services.mcp_servers.list(operator))
    if not records:
        err_console.print("no MCP servers; add one with `analyst mcp-servers add NAME --url URL`")
        return
    # The target (a long command line or URL) last and folded: the rest stays readable.
    table = Table("name", "transport", "enabled")
    table.add_column("secrets (names)", no_wrap=True)
    table.add_column("target", overflow="fold")
    for record in records:
        target = (
            record.url
            if record.transport == "http"
            else shlex.join([record.command or "", *record.args])
        )
        secrets = sorted({**(record.headers_encrypted or {}), **(record.env_encrypted or {})})
        table.add_row(
            escape(record.name),
            record.transport,
            "yes" if record.enabled else "no",
            escape(", ".join(secrets)),
            escape(target or ""),
        )
    console.print(table)


@mcp_servers_app.command("tools")
def tools(
    name: NameArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="With their input schemas, as JSON.")
    ] = False,
) -> None:
    """The tools a server offers, as an assistant's mcp_tools names them (server/tool)."""

    async def work(services: Services, operator):
        record = await services.mcp_servers.get(operator, name)
        return record, await services.mcp_servers.tools(operator, record.id)

    record, listed = _run(work)
    if as_json:
        entries = [
            {
                "entry": f"{record.name}/{t.name}",
                "description": t.description,
                "input_schema": t.input_schema,
            }
            for t in listed
        ]
        console.print_json(json.dumps(entries))
        return
    table = Table("entry", "description")
    for tool in listed:
        table.add_row(
            escape(f"{record.name}/{tool.name}"), escape(tool.description.split("\n")[0][:100])
        )
    console.print(table)


@mcp_servers_app.command("test")
def check(name: NameArgument) -> None:
    """Connect and list its tools; exit 1 when it cannot be used."""
    result = _run(lambda services, operator: services.mcp_servers.test(operator, name))
    if not result.ok:
        err_console.print(f"[red]cannot be used:[/red] {escape(result.detail)}")
        raise typer.Exit(1)
    console.print(f"ok: {escape(result.detail)} ({result.seconds:.2f} s)")


@mcp_servers_app.command("enable")
def enable(name: NameArgument) -> None:
    """Offer its tools to the assistants allowed them again."""
    record = _run(lambda services, operator: services.mcp_servers.set_enabled(operator, name, True))
    err_console.print(f"enabled [bold]{escape(record.name)}[/bold]")


@mcp_servers_app.command("disable")
def disable(name: NameArgument) -> None:
    """Offer its tools to no turn (assistants keep their entries)."""
    record = _run(
        lambda services, operator: services.mcp_servers.set_enabled(operator, name, False)
    )
    err_console.print(f"disabled [bold]{escape(record.name)}[/bold]")


@mcp_servers_app.command("rm")
def remove(name: NameArgument) -> None:
    """Remove a server (its call log stays)."""
    record = _run(lambda services, operator: services.mcp_servers.delete(operator, name))
    err_console.print(f"removed [bold]{escape(record.name)}[/bold] ({record.id})")


@mcp_servers_app.command("log")
def log(
    name: Annotated[str | None, typer.Argument(help="Only this server's calls.")] = None,
    limit: Annotated[int, typer.Option(help="Entries, newest first.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="Every field (owner, conversation, sizes...) as JSON.")
    ] = False,
) -> None:
    """The call log: every MCP tool call the agent made, by everyone."""
    entries = _run(
        lambda services, operator: services.mcp_servers.calls(operator, ref=name, limit=limit)
    )
    if as_json:
        fields = (
            *("id", "server_name", "tool", "assistant_id", "owner_id", "conversation_id"),
            *("duration_s", "outcome", "error", "arguments", "argument_bytes", "result_bytes"),
        )
        rows = [
            {"started_at": e.started_at.isoformat(), **{f: getattr(e, f) for f in fields}}
            for e in entries
        ]
        console.print_json(json.dumps(rows))
        return
    table = Table("when")
    table.add_column("tool", no_wrap=True)
    table.add_column("outcome")
    table.add_column("seconds")
    table.add_column("error", overflow="fold")
    for entry in entries:
        seconds = "" if entry.duration_s is None else f"{entry.duration_s:.2f}"
        table.add_row(
            entry.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(f"{entry.server_name}/{entry.tool}"),
            entry.outcome,
            seconds,
            escape((entry.error or "")[:200]),
        )
    console.print(table)
