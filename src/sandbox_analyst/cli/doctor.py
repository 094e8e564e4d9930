"""`analyst doctor`: whether blob storage works, what this machine gives the sandbox, and
what is missing."""

from __future__ import annotations

import asyncio
import platform
import sys
import time

import typer
from rich.markup import escape
from rich.table import Table

from sandbox_analyst.cli.app import app, console, settings
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import ProviderHealth, SandboxError, SandboxProvider, create_provider
from sandbox_analyst.sandbox.egress import EgressPolicyError, policy_from_settings
from sandbox_analyst.sandbox.templates import DEFAULT_TEMPLATE, TemplateCatalog, TemplateError
from sandbox_analyst.service import supported_databases
from sandbox_analyst.store import (
    BlobStoreUnavailable,
    StorageFullError,
    as_stream,
    create_blob_store,
)

_STYLE = {"active": "green", "unavailable": "red", "disabled": "yellow"}


@app.command("doctor")
def doctor() -> None:
    """Check blob storage (a write, read and delete) and the sandbox: isolation layers in
    force, preloaded libraries, a live round trip."""
    config = settings()
    console.print(
        f"Python {platform.python_version()} on {platform.system()} {platform.release()} "
        f"({platform.machine()}); data directory {config.data_dir}; sandbox backend "
        f"{config.sandbox.backend}"
    )
    blobs_work = asyncio.run(_check_blob_storage(config))
    _connection_kinds()
    if not _egress_policy(config):
        raise typer.Exit(ExitCode.FAILED)
    try:
        provider = create_provider(
            config.sandbox.model_copy(update={"pool_size": 1}),
            config.data_dir / "sandboxes",
            hidden_paths=(str(config.data_dir),),
        )
    except SandboxError as exc:
        console.print(f"[red]sandbox backend unavailable:[/red] {escape(str(exc))}")
        raise typer.Exit(ExitCode.FAILED) from exc
    level = asyncio.run(_check(config, provider))
    if level is None:
        raise typer.Exit(ExitCode.FAILED)
    console.print(
        f"isolation level: [bold]{level}[/bold] (required: {config.sandbox.min_isolation})"
    )
    if not blobs_work:
        raise typer.Exit(1)


_PROBE = b"analyst doctor: a blob written, read back and deleted"


async def _check_blob_storage(config: Settings) -> bool:
    """One line: where blobs go, and a probe blob's round trip through the store."""
    try:
        store = create_blob_store(config.storage, config.data_dir)
    except BlobStoreUnavailable as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        return False
    began = time.perf_counter()
    try:
        await store.check()
        blob = await store.put(as_stream(_PROBE))
        try:
            content = b"".join([chunk async for chunk in store.open(blob.key)])
        finally:
            await store.delete(blob.key)
    except (BlobStoreUnavailable, StorageFullError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")  # says "blob storage: ..." itself
        return False
    finally:
        await store.close()
    if content != _PROBE:
        console.print(f"[red]blob storage: {escape(store.describe())} gave back other bytes[/]")
        return False
    console.print(
        f"blob storage: {escape(store.describe())}: write, read and delete in "
        f"{(time.perf_counter() - began) * 1000:.1f} ms"
    )
    return True


def _connection_kinds() -> None:
    """The databases a connection may name, each with the driver installed for it."""
    kinds = ", ".join(f"{db.kind} ({db.driver})" for db in supported_databases())
    console.print(f"database connections: {escape(kinds)}")


async def _check(config: Settings, provider: SandboxProvider) -> str | None:
    """Print what the backend reports, then a live round trip; the isolation level, or None
    when the check failed."""
    # Before starting: a backend that refuses to start (isolation below the minimum) still
    # shows what it found.
    before = await provider.health()
    _isolation_table(config, before)
    started = time.perf_counter()
    try:
        async with provider:
            console.print(
                f"{before.backend} backend started in {time.perf_counter() - started:.2f} s"
            )
            await provider.wait_ready()  # so that what is timed below is a hand-over
            # The zygote forks on demand as soon as it has started; it preloads after that.
            console.print(f"pool ready in {time.perf_counter() - started:.2f} s")
            _facts(await provider.health())
            began = time.perf_counter()
            sandbox = await provider.create()
            acquired = time.perf_counter() - began
            execution = await sandbox.run_code("import sys; sys.version_info[:2]")
            round_trip = time.perf_counter() - began - acquired
            languages = sandbox.languages
            await sandbox.close()
    except SandboxError as exc:
        console.print(f"[red]sandbox check failed:[/red] {escape(str(exc))}")
        return None
    if execution.error is not None:
        console.print(f"[red]sandbox check failed:[/red] {escape(execution.error.value)}")
        return None
    console.print(
        f"live sandbox: acquired in {acquired * 1000:.2f} ms, first cell in "
        f"{round_trip * 1000:.2f} ms (python {execution.text}, server {sys.version_info[:2]})"
    )
    missing_r = ""
    if "r" not in languages and before.backend == "local":
        missing_r = " (no R: `apt-get install --no-install-recommends r-base-core` adds it)"
    console.print(f"languages: {', '.join(languages)}{missing_r}")
    return before.isolation_level or "unknown"


def _egress_policy(config: Settings) -> bool:
    """What sandboxes may reach (sandbox.egress); False when the policy cannot be read."""
    egress = config.sandbox.egress
    try:
        policy = policy_from_settings(egress)
    except EgressPolicyError as exc:
        console.print(
            f"[red]egress policy (sandbox.egress.allow) invalid:[/red] {escape(str(exc))}"
        )
        return False
    if not policy.enabled:
        console.print("egress: none (sandbox.egress.allow is empty: sandboxes have no network)")
        return True
    console.print(f"egress allow-list (sandbox.egress.allow): {escape(policy.describe()[0])}")
    console.print(
        "  always denied: cloud metadata addresses, non-public addresses not listed by "
        f"address, the service's own ports ({', '.join(map(str, egress.service_ports))})"
    )
    console.print(
        f"  per session: {egress.max_connections_per_minute} connections a minute, "
        f"{egress.max_concurrent_connections} at once, {egress.max_bytes_per_session} bytes; "
        "templates and assistants may only narrow it"
    )
    _template_egress(config)
    if config.sandbox.backend != "local":
        console.print(
            f"  [yellow]not enforced by the {config.sandbox.backend} backend: its sandboxes' "
            "network is that service's own[/]"
        )
    elif not config.sandbox.isolation:
        console.print(
            "  [yellow]not enforced: isolation is off, sandboxes have the host's network[/]"
        )
    return True


def _template_egress(config: Settings) -> None:
    """The templates that narrow the allow-list, and to what (assistants' narrowing is in
    the database: GET /api/assistants shows each one's `egress`)."""
    catalog = TemplateCatalog.from_settings(config)
    for name in catalog.names():
        if name == DEFAULT_TEMPLATE:
            continue
        try:
            spec = catalog.spec(name)
        except TemplateError:
            continue  # `analyst templates list` says what is wrong with it
        if spec.egress is not None:
            entries = ", ".join(spec.egress.allow) or "none (no network)"
            console.print(f"  template {escape(name)} narrows it to: {escape(entries)}")


def _isolation_table(config: Settings, health: ProviderHealth) -> None:
    if config.sandbox.backend == "local" and not config.sandbox.isolation:
        console.print("[yellow]isolation is switched off (ANALYST_SANDBOX__ISOLATION=false)[/]")
        return
    if not health.layers:
        return
    table = Table(title="Sandbox isolation layers", show_lines=False)
    for column in ("layer", "status", "what it gives / why not", "what it would take"):
        table.add_column(column, overflow="fold")
    for layer in health.layers:
        style = _STYLE.get(layer.status, "default")
        table.add_row(layer.name, f"[{style}]{layer.status}[/{style}]", layer.detail, layer.remedy)
    console.print(table)


def _facts(health: ProviderHealth) -> None:
    console.print(f"{health.backend} backend: {health.detail}")
    for name, value in health.facts.items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(item) for item in value) or "nothing"
        elif isinstance(value, dict):
            value = "; ".join(f"{key}: {item}" for key, item in value.items()) or "none"
        console.print(f"  {name.replace('_', ' ')}: {value}")
