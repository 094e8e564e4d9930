"""`analyst packages pending | approve ID | deny ID | log | fold TEMPLATE`: the admin's side of
approved installs. A package an assistant's code asked for that no allow-list allows waits
here; approving it allows it server-wide, and the next request installs it. `fold` adds the
approved packages to a template (and rebuilds it), so new sessions have them from the start."""

from __future__ import annotations

import asyncio
import getpass
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, settings
from sandbox_analyst.sandbox.templates import (
    TemplateCatalog,
    TemplateError,
    TemplateProtectedError,
)
from sandbox_analyst.sandbox.templates.spec_edit import add_packages
from sandbox_analyst.service import ServiceError, Services

packages_app = typer.Typer(
    help="Approved installs: package requests waiting for an admin, and the install log.",
    no_args_is_help=True,
)
app.add_typer(packages_app, name="packages")


def _fail(exc: ServiceError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(exc.message)}")
    return typer.Exit(1)


@packages_app.command("pending")
def pending(
    all_: Annotated[bool, typer.Option("--all", help="Decided requests too.")] = False,
) -> None:
    """Package requests waiting for approval."""

    async def run():
        async with Services.running(settings()) as services:
            return await services.packages.requests(None if all_ else "pending")

    requests = asyncio.run(run())
    if not requests:
        err_console.print("no package requests waiting" if not all_ else "no package requests")
        return
    table = Table("id", "package", "version", "status", "asked", "first asked", "by")
    for request in requests:
        table.add_row(
            request.id,
            request.name,
            request.version or "any",
            request.status,
            str(request.times_requested),
            request.created_at.isoformat(timespec="seconds"),
            request.requested_by or "",
        )
    console.print(table)


def _decide(request_id: str, status: Literal["approved", "denied"], note: str) -> None:
    async def run():
        async with Services.running(settings()) as services:
            by = f"cli:{getpass.getuser()}"
            return await services.packages.decide(request_id, status, by=by, note=note)

    try:
        request = asyncio.run(run())
    except ServiceError as exc:
        raise _fail(exc) from exc
    version = f"=={request.version}" if request.version else ""
    err_console.print(f"{status} [bold]{escape(request.name + version)}[/bold] ({request.id})")


@packages_app.command("approve")
def approve(
    request_id: Annotated[str, typer.Argument(help="The request's id (or the package's name).")],
    note: Annotated[str, typer.Option(help="Why; kept with the decision.")] = "",
) -> None:
    """Allow the package server-wide; the next request for it installs it."""
    _decide(request_id, "approved", note)


@packages_app.command("deny")
def deny(
    request_id: Annotated[str, typer.Argument(help="The request's id (or the package's name).")],
    note: Annotated[str, typer.Option(help="Why; the model is told.")] = "",
) -> None:
    """Refuse the package; later requests for it are refused at once."""
    _decide(request_id, "denied", note)


@packages_app.command("log")
def log(limit: Annotated[int, typer.Option(help="Entries, newest first.")] = 50) -> None:
    """The audit log of approved installs: every request and its outcome."""

    async def run():
        async with Services.running(settings()) as services:
            return await services.packages.log(limit)

    table = Table("when", "package", "version", "outcome", "owner", "conversation", "detail")
    for entry in asyncio.run(run()):
        table.add_row(
            entry.created_at.isoformat(timespec="seconds"),
            entry.name,
            entry.version,
            entry.outcome,
            entry.owner_id,
            entry.conversation_id or "",
            escape(entry.detail[:120]),
        )
    console.print(table)


@packages_app.command("fold")
def fold(
    template: Annotated[str, typer.Argument(help="The template to add them to.")],
    rebuild: Annotated[
        bool, typer.Option("--rebuild/--no-rebuild", help="Build the template afterwards.")
    ] = True,
) -> None:
    """Add every approved package (at the version sessions got) to a template's file, keeping
    its comments, and rebuild it; sessions already running keep their build."""

    async def run() -> list[str]:
        async with Services.running(settings()) as services:
            return await services.packages.approved_requirements()

    requirements = asyncio.run(run())
    catalog = TemplateCatalog.from_settings(settings())
    try:
        spec = catalog.spec(template)
        if spec.path is None:
            raise TemplateProtectedError(
                "the default template is the server's own environment; fold the packages into "
                "a template file (or install them with the server)"
            )
        added = add_packages(spec.path, requirements)
        if not added:
            err_console.print(f"{template} already lists every approved package")
            return
        err_console.print(f"added to {spec.path}: {escape(', '.join(added))}")
        if rebuild:
            (outcome,) = catalog.build([template])
            err_console.print(f"built {template} ({outcome.build.info.build_id})")
    except TemplateError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
