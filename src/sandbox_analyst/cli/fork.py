"""`analyst fork CONVERSATION_ID [--title T] [--json]`: a copy of a conversation (messages,
files) with a fresh sandbox in the same state, its successful cells replayed; the new
conversation's id on stdout. Run on the server's machine with its settings, as the operator:
any user's conversation, and the fork belongs to the original's owner.

A fork made here lives in this process's sandbox only until the command ends; the server
rebuilds it (the same replay) on the fork's first turn. The replay here tells at once whether
the cells still run."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.markup import escape

from sandbox_analyst.cli.app import app, console, err_console, fail, settings
from sandbox_analyst.service import ForkResult, Principal, ServiceError, Services

# The operator: the CLI reads the server's own database, so it sees every conversation.
_OPERATOR = Principal(user_id="cli", name="cli", is_admin=True)


@app.command("fork")
def fork(
    conversation_id: Annotated[str, typer.Argument(help="The conversation's id.")],
    title: Annotated[
        str | None, typer.Option("--title", "-t", help='Default: "<original title> (fork)".')
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON document.")] = False,
) -> None:
    """Fork a conversation with its sandbox state (files copied, cells replayed)."""

    async def run() -> ForkResult:
        async with Services.running(settings()) as services:
            return await services.forks.fork(
                _OPERATOR, conversation_id, title=title, keep_owner=True
            )

    try:
        forked = asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc) from exc
    replay = forked.replay
    if as_json:
        document = {
            "id": forked.conversation.id,
            "title": forked.conversation.title,
            "owner_id": forked.conversation.owner_id,
            "source_id": forked.source_id,
            "messages": forked.messages,
            "files": forked.files,
            "replay": asdict(replay),
        }
        console.print_json(json.dumps(document))
        return
    print(forked.conversation.id)
    err_console.print(
        f"forked {escape(forked.source_id)} as {escape(forked.conversation.title)!r}: "
        f"{forked.messages} messages, {forked.files} files"
    )
    if replay.status == "deferred":
        err_console.print(
            "[yellow]warning:[/yellow] the cells were not replayed now "
            f"({escape(replay.error or '')}); the server replays them on the fork's first turn"
        )
    elif replay.status == "replayed":
        err_console.print(
            f"replayed {replay.cells_replayed + replay.cells_failed} cells: "
            f"{replay.cells_replayed} ran, {replay.cells_failed} failed"
        )
    for failure in replay.failures:
        first = failure.code.strip().splitlines()[0] if failure.code.strip() else ""
        err_console.print(
            f"[yellow]warning:[/yellow] cell {failure.cell} ({escape(first)}) failed: "
            f"{escape(failure.name)}: {escape(failure.value)}"
        )
