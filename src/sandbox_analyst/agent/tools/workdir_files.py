"""`read_file` and `write_file`: text files in the session's workdir, and only there (the
sandbox's file API refuses any path that leaves it, links included).

In a chat, a file `write_file` makes is saved as an artifact like one the code writes, so the
user can download it and the model can link it (`WRITE_FILE_TOOL`). A task's files are its
result, collected when it ends, so its `write_file` only writes (`TASK_WRITE_FILE_TOOL`)."""

from __future__ import annotations

from contextlib import aclosing

from sandbox_analyst.agent.artifacts import CallArtifacts, WorkdirSnapshot
from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.agent.tools.context import InvalidArguments, ToolContext, ToolOutcome
from sandbox_analyst.agent.tools.registry import Tool
from sandbox_analyst.llm import ToolSpec

READ_FILE = "read_file"
WRITE_FILE = "write_file"
READ_LIMIT_BYTES = 256 * 1024  # read this much of a file at most: the model sees a part anyway
WRITE_LIMIT_CHARS = 1024 * 1024


async def read_file(context: ToolContext) -> ToolOutcome:
    path = context.path_argument("path")
    sandbox = context.sandbox
    if not await sandbox.files.exists(path):
        return ToolOutcome(
            Observation.failure("FileNotFoundError", f"no file {path!r}; try list_files")
        )
    data = bytearray()
    cut = False
    async with aclosing(sandbox.files.read(path)) as chunks:
        async for chunk in chunks:
            data += chunk
            if len(data) > READ_LIMIT_BYTES:
                cut = True
                break
    if b"\x00" in data[:8192]:
        return ToolOutcome(
            Observation.failure(
                "BinaryFile",
                f"{path!r} is not a text file; use preview_file for a data file, or code",
            )
        )
    text = bytes(data[:READ_LIMIT_BYTES]).decode("utf-8", errors="replace")
    notes = [f"Only the first {READ_LIMIT_BYTES:,} bytes were read."] if cut else []
    return ToolOutcome(Observation(success=True, stdout=text, notes=notes))


def _content(context: ToolContext) -> str:
    content = context.text_argument("content")
    if len(content) > WRITE_LIMIT_CHARS:
        raise InvalidArguments(
            f'"content" is {len(content):,} characters; write at most {WRITE_LIMIT_CHARS:,} '
            "this way, or produce the file with code"
        )
    return content


async def write_file(context: ToolContext) -> ToolOutcome:
    path = context.path_argument("path")
    content = _content(context)
    sandbox, turn = context.sandbox, context.turn
    produced = CallArtifacts(context.artifacts, turn.figures, turn.budget)
    before = await turn.listing_before(sandbox)
    turn.forget_listing()  # the workdir changes now; if anything fails, list it again next time
    entry = await sandbox.files.write(path, content.encode())
    after = turn.snapshot = await WorkdirSnapshot.take(sandbox)
    saved, skipped = await produced.save_files(sandbox, before, after)
    for ref in saved:
        await context.artifact(ref)
    observation = Observation(
        success=True,
        stdout=f"wrote {entry.size:,} bytes to {path}",
        artifacts=saved,
        skipped=skipped,
        notes=produced.finish(),
    )
    return ToolOutcome(observation)


async def write_file_only(context: ToolContext) -> ToolOutcome:
    """`write_file` without saving the file as an artifact."""
    path = context.path_argument("path")
    content = _content(context)
    context.turn.forget_listing()  # the workdir changed under the last listing
    entry = await context.sandbox.files.write(path, content.encode())
    return ToolOutcome(Observation(success=True, stdout=f"wrote {entry.size:,} bytes to {path}"))


READ_FILE_TOOL = Tool(
    spec=ToolSpec(
        READ_FILE,
        "Read a text file (source, CSV, JSON, a report) from the sandbox's working directory.",
        {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "File path, relative."}},
            "required": ["path"],
        },
    ),
    handler=read_file,
    usage="read_file(path): the text of a file in the working directory.",
)

WRITE_FILE_TOOL = Tool(
    spec=ToolSpec(
        WRITE_FILE,
        "Write a text file into the sandbox's working directory (replacing it if it exists); "
        "the file is saved and a link to it returned.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path, relative."},
                "content": {"type": "string", "description": "The whole text of the file."},
            },
            "required": ["path", "content"],
        },
    ),
    handler=write_file,
    usage="write_file(path, content): write a text file into the working directory.",
)

TASK_WRITE_FILE_TOOL = Tool(
    spec=ToolSpec(
        WRITE_FILE,
        "Write a text file into the working directory (replacing it if it exists; missing "
        "parent directories are made).",
        WRITE_FILE_TOOL.spec.parameters,
    ),
    handler=write_file_only,
    usage="write_file(path, content): create or replace a text file.",
)
