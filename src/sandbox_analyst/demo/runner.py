"""Runs the demo: the scripted fake model on 127.0.0.1, the real service embedded on another
loopback port (database, blob store, sandbox pool in a data directory), and the API client
asking the script's questions about the shipped dataset. Ends by writing the conversation's
HTML report with its charts and files next to it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sandbox_analyst.api import embedded_server
from sandbox_analyst.client import AnalystAPIError, AnalystClient, TurnEvent
from sandbox_analyst.config import LLMSettings, Settings
from sandbox_analyst.demo.dataset import copy_demo_dataset
from sandbox_analyst.demo.report import ReportFile, render_report
from sandbox_analyst.demo.script import DEMO_MODEL, REPLAY_NOTICE, DemoQuestion, DemoScript
from sandbox_analyst.testing import FakeLLMServer

DEMO_TITLE = "Demo: Kettle & Crumb café sales, 2023-2024"
REPORT_NAME = "demo-report.html"
# The fake model server is private to this process; the key only keeps strays out.
_FAKE_MODEL_KEY = "demo-replay-key"


class DemoFailed(Exception):
    """The demo could not run to its end; the message says where and why."""


class DemoObserver(Protocol):
    """Follows the demo as it runs (the command line prints it)."""

    def question(self, number: int, total: int, text: str) -> None: ...

    def event(self, event: TurnEvent) -> None: ...


@dataclass(frozen=True)
class DemoResult:
    report: Path
    files: list[Path]  # the charts and files the analysis produced, saved next to the report
    conversation_id: str
    data_dir: Path | None  # where the service kept its data; None when it was a temp dir


def demo_settings(base: Settings, model_url: str, data_dir: Path) -> Settings:
    """`base` with the model pointed at the fake server and its own SQLite data directory."""
    llm = LLMSettings(
        provider="openai",
        base_url=model_url,
        api_key=_FAKE_MODEL_KEY,
        model=DEMO_MODEL,
        max_retries=0,  # a replayed turn that fails would fail the same way again
    )
    return base.model_copy(
        update={"data_dir": data_dir.resolve(), "database_url": None, "llm": llm}
    )


async def run_demo(
    output_dir: Path,
    *,
    settings: Settings | None = None,
    data_dir: Path | None = None,
    observer: DemoObserver | None = None,
) -> DemoResult:
    """Run the whole demo and write `output_dir/demo-report.html` (plus the charts and files).
    `settings`: the sandbox and agent settings to use (the model and the storage are the
    demo's own); `data_dir`: keep the service's data there (default: a temporary directory)."""
    script = DemoScript()
    with (
        tempfile.TemporaryDirectory(prefix="analyst-demo-") as scratch,
        FakeLLMServer(api_key=_FAKE_MODEL_KEY) as fake,
    ):
        effective = demo_settings(
            settings or Settings(), fake.openai_base_url, data_dir or Path(scratch) / "data"
        )
        dataset = copy_demo_dataset(Path(scratch))
        try:
            async with (
                embedded_server(effective) as server,
                AnalystClient(server.url, api_key=server.api_key) as client,
            ):
                conversation = await client.create_conversation(title=DEMO_TITLE)
                upload = await client.upload_file(dataset, conversation["id"])
                questions = script.questions()
                for number, question in enumerate(questions, start=1):
                    if observer is not None:
                        observer.question(number, len(questions), question.text)
                    await _ask(
                        client, fake, script, conversation["id"], question, upload["id"], observer
                    )
                    _check(script, fake, questions[:number], number)
                detail = await client.conversation(conversation["id"])
                files = await _download_artifacts(client, detail)
        except AnalystAPIError as exc:
            raise DemoFailed(f"the service answered with an error: {exc}") from exc
    written = _write(output_dir, detail, files)
    return DemoResult(
        report=written[0], files=written[1:], conversation_id=detail["id"], data_dir=data_dir
    )


async def _ask(
    client: AnalystClient,
    fake: FakeLLMServer,
    script: DemoScript,
    conversation_id: str,
    question: DemoQuestion,
    upload_id: str,
    observer: DemoObserver | None = None,
) -> None:
    fake.add_turns(*question.turns)
    file_ids = [upload_id] if question.attach_dataset else []
    ending: dict[str, Any] | None = None
    async for event in client.ask(conversation_id, question.text, file_ids=file_ids):
        if observer is not None:
            observer.event(event)
        if event.type == "message_end":
            ending = event.data
    if ending is None:
        raise DemoFailed(f"the answer to {question.text!r} ended without its last event")
    if ending["status"] != "complete":
        reason = f": {ending['error']}" if ending.get("error") else ""
        detail = "; ".join(script.mismatches)
        raise DemoFailed(
            f"the answer to {question.text!r} ended {ending['status']}{reason}"
            + (f" ({detail})" if detail else "")
        )


def _check(
    script: DemoScript, fake: FakeLLMServer, asked: Sequence[DemoQuestion], number: int
) -> None:
    if script.mismatches:
        raise DemoFailed(
            f"question {number}: the code's real output does not hold what the scripted "
            f"answer quotes: {script.mismatches[0]}"
        )
    expected = sum(len(question.turns) for question in asked)
    if len(fake.model_requests) != expected:
        raise DemoFailed(
            f"question {number}: the agent asked the model {len(fake.model_requests)} times "
            f"so far; the script expects {expected}"
        )


async def _download_artifacts(
    client: AnalystClient, detail: dict[str, Any]
) -> dict[str, ReportFile]:
    files = {}
    for message in detail["messages"]:
        for file_id in message.get("artifact_ids") or []:
            info = await client.file_info(file_id)
            files[file_id] = ReportFile.from_api(info, await client.download(file_id))
    return files


def _write(output_dir: Path, detail: dict[str, Any], files: dict[str, ReportFile]) -> list[Path]:
    """The report first, then each artifact, under names unique in `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    report = output_dir / REPORT_NAME
    report.write_text(render_report(detail, files, notice=REPLAY_NOTICE), encoding="utf-8")
    written = [report]
    for stored in files.values():
        name = Path(stored.name)
        path = output_dir / name.name
        copies = 1
        while path in written:  # each turn numbers its figures from 1
            copies += 1
            path = output_dir / f"{name.stem}-{copies}{name.suffix}"
        path.write_bytes(stored.data)
        written.append(path)
    return written
