"""`analyst templates build [NAME...] | list | show NAME | rm NAME`: sandbox environments with the
packages an assistant needs, built by the server from the configured package index."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import yaml
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sandbox_analyst.cli.app import app, console, err_console, settings
from sandbox_analyst.sandbox.templates import TemplateCatalog, TemplateError, TemplateStatus
from sandbox_analyst.sandbox.templates.builder import BUILD_STEPS, ProgressCallback
from sandbox_analyst.service import Services

templates_app = typer.Typer(
    help="Sandbox templates: environments with the packages an assistant needs.",
    no_args_is_help=True,
)
app.add_typer(templates_app, name="templates")


def _catalog() -> TemplateCatalog:
    return TemplateCatalog.from_settings(settings())


def _fail(exc: TemplateError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(str(exc))}")
    return typer.Exit(1)


@templates_app.command("build")
def build(
    names: Annotated[
        list[str] | None, typer.Argument(help="Templates to build (default: every file).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if unchanged.")] = False,
) -> None:
    """Build templates whose file, files or the server's environment changed since their last
    build. Sessions already running keep their build until they end."""
    catalog = _catalog()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    tasks = []

    def on_progress(name: str) -> ProgressCallback:
        task = progress.add_task(name, total=len(BUILD_STEPS))
        tasks.append(task)

        def step(step: str, index: int, total: int) -> None:
            progress.update(task, completed=index, description=f"{name}: {step}")

        return step

    try:
        with progress:
            outcomes = catalog.build(names or None, force=force, on_progress=on_progress)
            for task in tasks:
                progress.update(task, completed=len(BUILD_STEPS))
    except TemplateError as exc:
        raise _fail(exc) from exc
    if not outcomes:
        err_console.print(f"no template files in {catalog.templates_dir}")
    for outcome in outcomes:
        info = outcome.build.info
        if not outcome.rebuilt:
            console.print(f"{info.name}: up to date (built {info.built_at})")
            continue
        console.print(
            f"{info.name}: built in {info.build_seconds:.1f} s, {len(info.packages)} "
            f"package(s) added -> {outcome.build.path}",
            highlight=False,
        )


@templates_app.command("list")
def list_templates() -> None:
    """List the templates: the built-in default and every template file, with their builds."""
    try:
        statuses = _catalog().statuses()
    except TemplateError as exc:
        raise _fail(exc) from exc
    table = Table("name", "status", "packages", "size", "built", "build time")
    table.add_column("description", overflow="ellipsis", no_wrap=True, max_width=48)
    for status in statuses:
        info = status.build.info if status.build else None
        table.add_row(
            status.name,
            _state(status),
            "" if status.package_count is None else str(status.package_count),
            "" if status.size_bytes is None else _size(status.size_bytes),
            info.built_at if info else "",
            f"{info.build_seconds:.1f} s" if info else "",
            escape(status.error or status.description),
        )
    console.print(table)


@templates_app.command("show")
def show(name: Annotated[str, typer.Argument(help="Template name.")]) -> None:
    """Print a template's file, its lock (exact versions and hashes) and where it lives."""
    try:
        details = _catalog().details(name)
    except TemplateError as exc:
        raise _fail(exc) from exc
    status = details.status
    console.print(f"[bold]{status.name}[/bold]: {_state(status)}")
    if status.spec_file is not None:
        console.print(f"file: {status.spec_file}", highlight=False)
    if status.error:
        console.print(f"[red]{escape(status.error)}[/red]")
    if details.spec_text is not None:
        console.print(details.spec_text.rstrip(), markup=False, highlight=False)
    elif details.spec is not None:
        text = yaml.safe_dump(details.spec.canonical(), sort_keys=False, width=100)
        console.print(text.rstrip(), markup=False, highlight=False)
    if status.build is not None:
        info = status.build.info
        console.print(
            f"build: {status.build.path} (log: {status.build.log_file.name})\n"
            f"built: {info.built_at} in {info.build_seconds:.1f} s with uv {info.uv_version} "
            f"from {info.index}",
            highlight=False,
        )
        console.print("lock:", (details.lock_text or "(no packages added)").rstrip(), markup=False)


@templates_app.command("rm")
def remove(
    name: Annotated[str, typer.Argument(help="Template name.")],
    force: Annotated[bool, typer.Option("--force", help="Remove it even while in use.")] = False,
    keep_file: Annotated[
        bool, typer.Option("--keep-file", help="Delete only the builds, keep the file.")
    ] = False,
) -> None:
    """Remove a template's builds and its file. `default` cannot be removed, nor (without
    --force) a template that assistants name."""

    async def assistants_using() -> list[str]:
        async with Services.running(settings()) as services:
            return await services.assistants.using_template(name)

    try:
        used_by = asyncio.run(assistants_using())
        outcome = _catalog().remove(name, force=force, keep_file=keep_file, used_by=used_by)
    except TemplateError as exc:
        raise _fail(exc) from exc
    removed = len(outcome.removed_builds)
    console.print(f"{name}: removed {removed} build(s)", highlight=False)
    if outcome.removed_file is not None:
        console.print(f"deleted {outcome.removed_file}", highlight=False)
    if outcome.kept_builds:
        console.print(
            f"{len(outcome.kept_builds)} build(s) still used by running sandboxes are deleted "
            "once those end",
            highlight=False,
        )


def _state(status: TemplateStatus) -> str:
    colour = {"built": "green", "built-in": "green", "outdated": "yellow", "invalid": "red"}
    name = colour.get(status.state)
    return f"[{name}]{status.state}[/{name}]" if name else status.state


def _size(size: float) -> str:
    if size < 1024:
        return f"{size:.0f} B"
    for unit in ("KiB", "MiB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} GiB"
