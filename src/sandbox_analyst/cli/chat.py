"""`analyst chat [DATA]... QUESTION`: ask about data files from the shell.

In-process by default (the whole service embedded, nothing to start first), or against a
running server with `--server URL --key KEY`. Exit codes (`ExitCode`): 0 answered, 1 the turn
did not complete (failed, cancelled), 2 bad arguments, 3 the server refused or could not be
reached, 130 interrupted.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from sandbox_analyst.api import embedded_server
from sandbox_analyst.cli.app import SERVER_ENV, app, console, err_console, settings
from sandbox_analyst.cli.chat_render import ChatRenderer
from sandbox_analyst.cli.chat_session import ChatSession, TurnOutcome
from sandbox_analyst.cli.exit_codes import ExitCode
from sandbox_analyst.client import STREAM_BROKEN, AnalystAPIError, AnalystClient
from sandbox_analyst.sandbox import SandboxError

KEY_ENV = "ANALYST_API_KEY"


@dataclass(frozen=True)
class ChatRequest:
    files: list[Path]
    question: str  # empty: go straight to the prompt (interactive only)
    output_dir: Path
    interactive: bool
    as_json: bool
    server: str | None
    key: str | None
    assistant_id: str | None


@app.command("chat")
def chat(
    arguments: Annotated[
        list[str],
        typer.Argument(
            metavar="[DATA]... QUESTION",
            help="Data files to upload, then the question ('-' reads it from stdin).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where charts and files are saved.")
    ] = Path("analyst-output"),
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Keep asking in the same conversation.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only a JSON document of the answer.")
    ] = False,
    server: Annotated[
        str | None, typer.Option("--server", envvar=SERVER_ENV, help="A running server's URL.")
    ] = None,
    key: Annotated[
        str | None, typer.Option("--key", envvar=KEY_ENV, help="API key for --server.")
    ] = None,
    assistant: Annotated[
        str | None, typer.Option("--assistant", help="Assistant id (default: your 'Analyst').")
    ] = None,
) -> None:
    """Upload DATA, ask QUESTION, stream the answer and save its charts and files.

    Example: analyst chat sales.csv "Which month sold most? Plot sales by month."
    """
    request = _request(arguments, output, interactive, as_json, server, key, assistant)
    try:
        code = asyncio.run(_run(request))
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    raise typer.Exit(code)


def _request(
    arguments: list[str],
    output: Path,
    interactive: bool,
    as_json: bool,
    server: str | None,
    key: str | None,
    assistant: str | None,
) -> ChatRequest:
    *names, question = arguments
    if interactive and Path(question).is_file() and question != "-":
        names, question = arguments, ""  # only data: the questions come at the prompt
    if interactive and as_json:
        _usage_error("--json prints one answer; it cannot be combined with --interactive")
    files = [Path(name) for name in names]
    for path in files:
        if not path.is_file():
            _usage_error(f"no such file: {path}")
    if question == "-":
        question = sys.stdin.read()
    question = question.strip()
    if not question and not interactive:
        _usage_error("the question is empty")
    return ChatRequest(files, question, output, interactive, as_json, server, key, assistant)


def _usage_error(message: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(ExitCode.USAGE)


@asynccontextmanager
async def _connect(request: ChatRequest) -> AsyncIterator[AnalystClient]:
    if request.server:
        async with AnalystClient(request.server, request.key) as client:
            await client.me()  # a wrong URL or key fails here, before any upload
            yield client
        return
    async with AsyncExitStack() as stack:
        # The first start of the sandboxes takes seconds: say what we are waiting for.
        starting = err_console.status("starting the analyst…") if not request.as_json else None
        with starting or nullcontext():
            server = await stack.enter_async_context(embedded_server(settings()))
        yield await stack.enter_async_context(AnalystClient(server.url, server.api_key))


async def _run(request: ChatRequest) -> ExitCode:
    quiet = Console(quiet=True)
    renderer = (
        ChatRenderer(quiet, err_console) if request.as_json else ChatRenderer(console, err_console)
    )
    try:
        async with _connect(request) as client:
            session = ChatSession(client, renderer, request.output_dir)
            session.handle_interrupts()
            try:
                return await _converse(session, request)
            finally:
                session.stop_handling_interrupts()
    except AnalystAPIError as exc:
        renderer.fail(_explain(exc, request))
        return ExitCode.UNAVAILABLE
    except (SandboxError, OSError) as exc:
        renderer.fail(f"could not start the analyst: {exc}")
        return ExitCode.UNAVAILABLE
    except asyncio.CancelledError:
        return ExitCode.INTERRUPTED


async def _converse(session: ChatSession, request: ChatRequest) -> ExitCode:
    title = request.question.splitlines()[0][:120] if request.question else ""
    uploads = await session.start(request.files, title, request.assistant_id)
    outcome = TurnOutcome(status="complete")
    if request.question:
        outcome = await session.ask(request.question)
    if request.as_json:
        text = await session.final_text(outcome.message_id)
        typer.echo(json.dumps(_document(session, outcome, text, uploads), indent=2))
    if request.interactive:
        await session.interact()
        return ExitCode.OK
    if outcome.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.OK if outcome.status == "complete" else ExitCode.FAILED


def _document(
    session: ChatSession, outcome: TurnOutcome, text: str, uploads: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "conversation_id": session.conversation_id,
        "message_id": outcome.message_id,
        "status": outcome.status,
        "message": text,
        "error": outcome.error,
        "artifacts": outcome.artifacts,
        "uploads": [{"id": u["id"], "name": u["name"], "size": u["size"]} for u in uploads],
    }


def _explain(exc: AnalystAPIError, request: ChatRequest) -> str:
    if exc.status == 401:
        where = "--key or $" + KEY_ENV if request.server else "the server's settings"
        return f"the server refused the API key ({exc.message}); check {where}"
    if exc.code == STREAM_BROKEN:
        return (
            f"{exc.message}. The server stopped during the answer, or the connection to it "
            "was lost: what was shown is kept, and the turn reads 'interrupted' once the "
            "server runs again; ask again to retry"
        )
    return exc.message if exc.status == 0 else f"{exc.message} (HTTP {exc.status})"
