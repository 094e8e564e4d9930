"""A conversation as a Jupyter notebook (nbformat v4) or a plain Python script, to hand an
analysis to someone who works in Jupyter.

The notebook holds, in order, a markdown cell per question, the model's words before its code,
a code cell per piece of code that ran with its outputs (stdout and stderr streams, rich
results as text and HTML, charts embedded as PNG, other saved files named, the error with its
traceback), and a markdown cell per answer. Its metadata names the input files with their
sha256, the template and the versions of its packages, and the conversation. Everything comes
from what the turn stored (messages, the execution log, artifacts): nothing runs again.

The script (`py:percent`, which Jupyter, VS Code and jupytext open as a notebook) holds only
the code that succeeded, in order, with the questions as comments: what reproduces the
analysis.
"""

from __future__ import annotations

import base64
import platform
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sandbox_analyst.sandbox import tagged_cell
from sandbox_analyst.sandbox.templates import DEFAULT_TEMPLATE, TemplateCatalog, TemplateError
from sandbox_analyst.sandbox.templates.base_env import base_packages
from sandbox_analyst.service.conversations import ConversationService
from sandbox_analyst.service.principal import Principal

if TYPE_CHECKING:
    from nbformat import NotebookNode
from sandbox_analyst.store import Assistant, BlobStore, Database, Execution, FileRecord, Message

# Charts larger than this are named, not embedded (a notebook is read whole by Jupyter).
MAX_EMBEDDED_IMAGE_BYTES = 20 * 1024 * 1024
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
NOTEBOOK_MEDIA_TYPE = "application/x-ipynb+json"
SCRIPT_MEDIA_TYPE = "text/x-python; charset=utf-8"


@dataclass(frozen=True)
class ExportedFile:
    filename: str
    media_type: str
    content: bytes


@dataclass
class _Conversation:
    """What an export is made from, read in one go."""

    id: str
    title: str
    assistant: Assistant | None
    messages: list[Message]
    executions: dict[str, list[Execution]]  # message id -> its code runs, in order
    files: dict[str, FileRecord]  # id -> record
    uploads: list[FileRecord]

    @property
    def template(self) -> str:
        template = self.assistant.template if self.assistant is not None else None
        return template or DEFAULT_TEMPLATE


class NotebookService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        conversations: ConversationService,
        templates: TemplateCatalog,
    ) -> None:
        self._db = db
        self._blobs = blobs
        self._conversations = conversations
        self._templates = templates

    async def notebook(self, principal: Principal, conversation_id: str) -> NotebookNode:
        """The conversation as a notebook; `NotFound` for a conversation not the caller's."""
        conversation = await self._load(principal, conversation_id)
        nbf = _nbformat()
        notebook = nbf.v4.new_notebook(metadata=await self._metadata(conversation))
        count = 0
        for message in conversation.messages:
            if message.role == "user":
                notebook.cells.append(
                    nbf.v4.new_markdown_cell(_quoted("Question", message.content))
                )
                continue
            if message.role != "assistant":
                continue
            runs = list(conversation.executions.get(message.id, []))
            results = {entry.get("call_id"): entry for entry in message.tool_results or []}
            for call in message.tool_calls or []:
                if call.get("text"):
                    notebook.cells.append(nbf.v4.new_markdown_cell(call["text"]))
                if call.get("code") is None:
                    continue  # a tool that ran no code (list_files, preview_file)
                count += 1
                run = _take_run(runs, call["code"])
                result = results.get(call.get("id"))
                outputs = await self._outputs(conversation, result, run, count)
                notebook.cells.append(
                    nbf.v4.new_code_cell(
                        source=_source(call),
                        execution_count=count,
                        outputs=outputs,
                        metadata={"sandbox_analyst": _cell_facts(call, result, run)},
                    )
                )
            if message.content:
                label = f"Answer ({message.agent})" if message.agent else "Answer"
                if message.status == "failed":
                    label += ", failed"
                notebook.cells.append(nbf.v4.new_markdown_cell(_quoted(label, message.content)))
        nbf.validate(notebook)
        return notebook

    async def ipynb(self, principal: Principal, conversation_id: str) -> ExportedFile:
        notebook = await self.notebook(principal, conversation_id)
        title = notebook.metadata["sandbox_analyst"]["title"]
        text = _nbformat().writes(notebook, version=4)
        return ExportedFile(_filename(title, "ipynb"), NOTEBOOK_MEDIA_TYPE, text.encode())

    async def script(self, principal: Principal, conversation_id: str) -> ExportedFile:
        """The code that succeeded, in order, as a `py:percent` script."""
        conversation = await self._load(principal, conversation_id)
        header = [
            f"# {conversation.title or 'Conversation'}: exported from Sandbox Analyst",
            f"# conversation {conversation.id}, template {conversation.template}",
        ]
        header += [f"# input file {f.name} sha256 {f.sha256}" for f in conversation.uploads]
        parts = ["\n".join(header)]
        for message in conversation.messages:
            if message.role == "user":
                question = "\n".join(f"# {line}" for line in message.content.splitlines())
                parts.append(f"# %% [markdown]\n# Question:\n{question}")
                continue
            results = {entry.get("call_id"): entry for entry in message.tool_results or []}
            for call in message.tool_calls or []:
                result = results.get(call.get("id"))
                if call.get("code") is None or result is None or not result.get("success"):
                    continue
                parts.append(f"# %%\n{_source(call)}")
        text = "\n\n".join(parts) + "\n"
        return ExportedFile(
            _filename(conversation.title, "py"), SCRIPT_MEDIA_TYPE, text.encode("utf-8")
        )

    async def _load(self, principal: Principal, conversation_id: str) -> _Conversation:
        detail = await self._conversations.get(principal, conversation_id)
        conversation = detail.conversation
        executions: dict[str, list[Execution]] = defaultdict(list)
        for run in await self._conversations.list_executions(principal, conversation.id):
            if run.message_id is not None:
                executions[run.message_id].append(run)
        async with self._db.session() as session:
            assistant = (
                await session.get(Assistant, conversation.assistant_id)
                if conversation.assistant_id
                else None
            )
            records = list(
                await session.scalars(
                    select(FileRecord)
                    .where(FileRecord.conversation_id == conversation.id)
                    .order_by(FileRecord.created_at, FileRecord.id)
                )
            )
        return _Conversation(
            id=conversation.id,
            title=conversation.title,
            assistant=assistant,
            messages=detail.messages,
            executions=executions,
            files={record.id: record for record in records},
            uploads=[record for record in records if record.kind == "upload"],
        )

    async def _metadata(self, conversation: _Conversation) -> dict[str, Any]:
        assistant = conversation.assistant
        return {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": platform.python_version()},
            "sandbox_analyst": {
                "conversation_id": conversation.id,
                "title": conversation.title,
                "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "server_version": version("sandbox-analyst"),
                "assistant": None
                if assistant is None
                else {
                    "id": assistant.id,
                    "name": assistant.name,
                    "provider": assistant.provider,
                    "model": assistant.model,
                },
                "template": {
                    "name": conversation.template,
                    "packages": self._packages(conversation.template),
                },
                "input_files": [
                    {
                        "name": record.name,
                        "sha256": record.sha256,
                        "size": record.size,
                        "media_type": record.media_type,
                    }
                    for record in conversation.uploads
                ],
            },
        }

    def _packages(self, template: str) -> dict[str, str]:
        """Name -> version of what the template's sessions import: the server's environment,
        and over it the template's own locked packages."""
        packages = dict(base_packages())
        if template != DEFAULT_TEMPLATE:
            try:
                build = self._templates.store.current(template)
            except TemplateError:
                build = None
            if build is not None:
                packages.update({p.name: p.version for p in build.info.packages})
        return dict(sorted(packages.items()))

    async def _outputs(
        self,
        conversation: _Conversation,
        result: dict[str, Any] | None,
        run: Execution | None,
        count: int,
    ) -> list[NotebookNode]:
        nbf = _nbformat()
        outputs: list[NotebookNode] = []
        stdout = run.stdout if run is not None else ""
        stderr = run.stderr if run is not None else ""
        if stdout:
            outputs.append(nbf.v4.new_output("stream", name="stdout", text=stdout))
        if stderr:
            outputs.append(nbf.v4.new_output("stream", name="stderr", text=stderr))
        for rich in (result or {}).get("results") or []:
            data = {"text/plain": rich.get("text") or ""}
            if rich.get("html"):
                data["text/html"] = rich["html"]
            outputs.append(nbf.v4.new_output("display_data", data=data))
        for file_id in (result or {}).get("artifact_ids") or []:
            record = conversation.files.get(file_id)
            if record is not None:
                outputs.append(await self._artifact_output(record))
        error = (run.error if run is not None else None) or (result or {}).get("error")
        if error:
            traceback = error.get("traceback") or f"{error.get('name')}: {error.get('value')}"
            outputs.append(
                nbf.v4.new_output(
                    "error",
                    ename=str(error.get("name") or "Error"),
                    evalue=str(error.get("value") or ""),
                    traceback=traceback.splitlines(),
                )
            )
        return outputs

    async def _artifact_output(self, record: FileRecord) -> NotebookNode:
        nbf = _nbformat()
        label = f"{record.name} ({record.size:,} bytes)"
        if record.media_type in _IMAGE_TYPES and record.size <= MAX_EMBEDDED_IMAGE_BYTES:
            data = b"".join([chunk async for chunk in self._blobs.open(record.storage_key)])
            return nbf.v4.new_output(
                "display_data",
                data={record.media_type: base64.b64encode(data).decode(), "text/plain": label},
                metadata={"sandbox_analyst": {"file_id": record.id, "sha256": record.sha256}},
            )
        return nbf.v4.new_output("display_data", data={"text/plain": f"saved file: {label}"})


def _take_run(runs: list[Execution], code: str) -> Execution | None:
    """The first not yet used code run of the message with this code."""
    for position, run in enumerate(runs):
        if run.code == code:
            return runs.pop(position)
    return None


def _source(call: dict[str, Any]) -> str:
    code = call["code"]
    language = (call.get("arguments") or {}).get("language")
    if language == "bash" and not code.startswith("%%bash\n"):
        return tagged_cell(code, "bash")
    return code  # a tool's code of another language is already under its cell magic


def _cell_facts(
    call: dict[str, Any], result: dict[str, Any] | None, run: Execution | None
) -> dict[str, Any]:
    facts: dict[str, Any] = {"call_id": call.get("id"), "tool": call.get("name")}
    if result is not None:
        facts["success"] = bool(result.get("success"))
        facts["duration_s"] = result.get("duration")
    if run is not None:
        facts["status"] = run.status
        if run.peak_memory_bytes is not None:
            facts["peak_memory_bytes"] = run.peak_memory_bytes
        if run.truncated:
            facts["output_truncated"] = True
    if call.get("agent"):
        facts["agent"] = call["agent"]
    return facts


def _quoted(label: str, text: str) -> str:
    return f"**{label}:**\n\n{text}"


def _filename(title: str, extension: str) -> str:
    stem = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip()
    return f"{stem[:80] or 'conversation'}.{extension}"


def _nbformat() -> ModuleType:
    """nbformat, imported when a notebook is first made rather than with the service: importing
    it imports jsonschema, whose format checkers (rfc3987-syntax builds a grammar as it is
    imported) took 2.5 s of every server start on a 2-core machine."""
    import nbformat.v4

    return nbformat
