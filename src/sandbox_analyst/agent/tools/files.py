"""`list_files` and `preview_file`: what is in the session's workdir, and what a data file
holds (shape, columns, dtypes, first rows, missing values)."""

from __future__ import annotations

from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.agent.preview import PreviewError, preview_files
from sandbox_analyst.agent.tools.context import ToolContext, ToolOutcome
from sandbox_analyst.agent.tools.registry import Tool
from sandbox_analyst.llm import ToolSpec

LIST_FILES = "list_files"
PREVIEW_FILE = "preview_file"
_MAX_LISTED_FILES = 200


async def list_files(context: ToolContext) -> ToolOutcome:
    path = context.text_argument("path", default=".")
    entries = [
        entry
        for entry in await context.sandbox.files.list(path, recursive=True)
        if not any(part.startswith(".") for part in entry.path.split("/"))
    ]
    lines = [
        f"{entry.path}/" if entry.is_dir else f"{entry.path}  ({entry.size:,} bytes)"
        for entry in entries[:_MAX_LISTED_FILES]
    ]
    if len(entries) > _MAX_LISTED_FILES:
        lines.append(f"... and {len(entries) - _MAX_LISTED_FILES} more")
    return ToolOutcome(Observation(success=True, stdout="\n".join(lines) or f"{path}: no files"))


async def preview_file(context: ToolContext) -> ToolOutcome:
    path = context.text_argument("path", default=".")
    return ToolOutcome(await _preview(context, path))


async def _preview(context: ToolContext, path: str) -> Observation:
    sandbox = context.sandbox
    if not await sandbox.files.exists(path):
        return Observation.failure("FileNotFoundError", f"no file {path!r}; try list_files")
    try:
        (preview,) = await preview_files(
            sandbox, [path], full=True, timeout=context.config.code_timeout
        )
    except PreviewError as exc:
        return Observation.failure("PreviewError", str(exc))
    if preview.error is not None:
        return Observation.failure("PreviewError", preview.error)
    return Observation(success=True, stdout=preview.render())


LIST_FILES_TOOL = Tool(
    spec=ToolSpec(
        LIST_FILES,
        "List the files in the sandbox's working directory (recursively), with their sizes.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Directory, relative; default '.'."}
            },
        },
    ),
    handler=list_files,
    usage="list_files(path): list files in the working directory.",
)

PREVIEW_FILE_TOOL = Tool(
    spec=ToolSpec(
        PREVIEW_FILE,
        "Preview a data file (CSV, TSV, Excel, Parquet, JSON): shape, columns, dtypes, first "
        "rows and missing values per column.",
        {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "File path, relative."}},
            "required": ["path"],
        },
    ),
    handler=preview_file,
    usage="preview_file(path): shape, columns, dtypes, first rows and missing values of a data "
    "file.",
)
