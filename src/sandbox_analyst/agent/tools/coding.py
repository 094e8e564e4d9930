"""A coding agent's tools: `bash`, `edit_file`, `glob` and `grep`, beside `read_file` and
`write_file` (workdir_files.py). Every one acts inside the sandbox: commands run there through
`Sandbox.run_command`, files are read and written through its file API, and a path argument
that leaves the working directory is refused before anything runs.

    tools = coding_tools(approve=ask_the_user)   # None: every command is allowed

`approve` is asked before each bash command (a task's `confirm` permission mode); a refused
command is not run, and the model is told it was refused.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.agent.tools.context import InvalidArguments, ToolContext, ToolOutcome
from sandbox_analyst.agent.tools.registry import Tool, ToolRegistry
from sandbox_analyst.agent.tools.workdir_files import (
    READ_FILE_TOOL,
    READ_LIMIT_BYTES,
    TASK_WRITE_FILE_TOOL,
    WRITE_LIMIT_CHARS,
)
from sandbox_analyst.llm import ToolSpec

BASH, EDIT_FILE, GLOB, GREP = "bash", "edit_file", "glob", "grep"
MAX_GLOB_MATCHES = 500
MAX_GREP_LINES = 500


@dataclass(frozen=True)
class Approval:
    allowed: bool
    reason: str = ""  # why it was refused, in the user's words (may be empty)


CommandApprover = Callable[[str], Awaitable[Approval]]
"""Asked before a bash command runs, with the command; answers whether it may run."""


def coding_tools(approve: CommandApprover | None = None) -> ToolRegistry:
    """A new registry: bash, read_file, write_file, edit_file, glob, grep."""
    return ToolRegistry(
        [
            bash_tool(approve),
            READ_FILE_TOOL,
            TASK_WRITE_FILE_TOOL,
            EDIT_FILE_TOOL,
            GLOB_TOOL,
            GREP_TOOL,
        ]
    )


def bash_tool(approve: CommandApprover | None = None) -> Tool:
    async def bash(context: ToolContext) -> ToolOutcome:
        command = context.text_argument("command")
        if not command.strip():
            raise InvalidArguments('"command" is empty; send the shell command to run')
        if approve is not None:
            approval = await approve(command)
            if not approval.allowed:
                why = f" ({approval.reason})" if approval.reason else ""
                return ToolOutcome(
                    Observation.failure(
                        "CommandRefused",
                        f"the user refused to run this command{why}; it did not run",
                        notes=[
                            "Do not run it again unchanged: do without it, or explain "
                            "in your answer what you need it for."
                        ],
                    )
                )
        return ToolOutcome(await _run_command(context, command))

    return Tool(
        spec=ToolSpec(
            BASH,
            "Run a shell command (bash -c) in the sandbox's working directory: build, test, "
            "run programs, inspect files. There is no network access. Returns the exit code, "
            "stdout and stderr.",
            {
                "type": "object",
                "properties": {
                    "command": {"type": "string", "description": "The shell command to run."}
                },
                "required": ["command"],
            },
        ),
        handler=bash,
        usage="bash(command): run a shell command in the working directory (no network).",
    )


async def _run_command(context: ToolContext, command: str) -> Observation:
    context.turn.forget_listing()  # the command may change the workdir
    timeout = context.config.code_timeout
    result = await context.sandbox.run_command(
        command, timeout=timeout, on_stdout=context.stdout, on_stderr=context.stderr
    )
    observation = Observation(
        success=result.exit_code == 0, stdout=result.stdout, stderr=result.stderr
    )
    if result.exit_code is None:
        reason = result.error or f"it ran longer than {timeout:g} s"
        observation.error = {"name": "CommandNotFinished", "value": reason, "traceback": ""}
        observation.notes.append(
            f"Commands may run {timeout:g} s at most and are killed after that (its whole "
            "process group). Make it faster, or run a smaller part."
        )
    elif result.exit_code != 0:
        value = f"exit code {result.exit_code}"
        observation.error = {"name": "CommandExitError", "value": value, "traceback": ""}
    observation.results.append(f"exit code: {result.exit_code}")
    return observation


async def edit_file(context: ToolContext) -> ToolOutcome:
    path = context.path_argument("path")
    old = context.text_argument("old")
    new = context.text_argument("new")
    if not old:
        raise InvalidArguments(
            '"old" is empty; give the exact text to replace (write_file makes a new file)'
        )
    if old == new:
        raise InvalidArguments('"old" and "new" are the same text: nothing would change')
    files = context.sandbox.files
    if not await files.exists(path):
        return _failed("FileNotFoundError", f"no file {path!r}; use write_file to create it")
    data = await files.read_bytes(path)
    if len(data) > READ_LIMIT_BYTES or b"\x00" in data[:8192]:
        return _failed(
            "FileNotEditable",
            f"{path!r} is binary or over {READ_LIMIT_BYTES:,} bytes; change it with bash",
        )
    text = data.decode("utf-8", errors="replace")
    count = text.count(old)
    if count == 0:
        return _failed(
            "NoMatch",
            f'"old" does not occur in {path}; read_file it and copy the exact text '
            "(whitespace and indentation included)",
        )
    if count > 1:
        return _failed(
            "SeveralMatches",
            f'"old" occurs {count} times in {path}; include more of the surrounding lines so '
            "it matches exactly one place",
        )
    edited = text.replace(old, new, 1)
    if len(edited) > WRITE_LIMIT_CHARS:
        raise InvalidArguments(f"the edited file would be over {WRITE_LIMIT_CHARS:,} characters")
    context.turn.forget_listing()
    await files.write(path, edited.encode())
    line = text[: text.index(old)].count("\n") + 1
    lines = len(edited.splitlines())
    summary = f"replaced 1 occurrence in {path} (at line {line}); it has {lines} lines now"
    return ToolOutcome(Observation(success=True, stdout=summary))


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """`pattern` as a regular expression over workdir-relative paths: `*` and `?` within one
    path segment, `**` across segments (`**/` also matches no directory), `[...]` a class."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := _class_end(pattern, i)) is not None:
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _class_end(pattern: str, start: int) -> int | None:
    """The index of the `]` closing the class opened at `start`, if it is closed (a `]` right
    after `[` or `[!` belongs to the class)."""
    first = start + 2 if pattern[start + 1 : start + 2] == "!" else start + 1
    end = pattern.find("]", first + 1)
    return end if end != -1 else None


async def glob(context: ToolContext) -> ToolOutcome:
    pattern = context.path_argument("pattern")
    try:
        matcher = glob_pattern(pattern)
    except (re.error, ValueError) as exc:
        raise InvalidArguments(f"{pattern!r} is not a usable glob pattern: {exc}") from exc
    listing = await context.sandbox.files.walk(".")
    matches = sorted(
        entry.path + ("/" if entry.is_dir else "")
        for entry in listing.entries
        if matcher.match(entry.path)
    )
    notes = []
    if listing.truncated:
        notes.append(f"The listing was cut short ({listing.truncated}); matches may be missing.")
    if len(matches) > MAX_GLOB_MATCHES:
        notes.append(f"{len(matches) - MAX_GLOB_MATCHES} more matches are not shown.")
        matches = matches[:MAX_GLOB_MATCHES]
    stdout = "\n".join(matches) or f"no path matches {pattern!r}"
    return ToolOutcome(Observation(success=True, stdout=stdout, notes=notes))


async def grep(context: ToolContext) -> ToolOutcome:
    pattern = context.text_argument("pattern")
    path = context.path_argument("path", default=".")
    if not pattern:
        raise InvalidArguments('"pattern" is empty; give a regular expression to look for')
    # Extended regular expressions, line numbers, binary files skipped; `--` so a pattern or
    # path starting with "-" is not an option. The pipe keeps the output bounded.
    command = (
        f"grep -rnIE --color=never -e {shlex.quote(pattern)} -- {shlex.quote(path)} "
        f"| head -n {MAX_GREP_LINES + 1}; exit ${{PIPESTATUS[0]}}"
    )
    result = await context.sandbox.run_command(command, timeout=context.config.code_timeout)
    lines = result.stdout.splitlines()
    notes = []
    if len(lines) > MAX_GREP_LINES:
        lines = lines[:MAX_GREP_LINES]
        notes.append(f"Only the first {MAX_GREP_LINES} matching lines are shown; narrow it.")
    if result.exit_code == 1 and not lines:
        return ToolOutcome(Observation(success=True, stdout=f"no match for {pattern!r} in {path}"))
    if result.exit_code in (0, 141) or (result.exit_code == 2 and lines):
        # 141: grep stopped by `head` (SIGPIPE); 2 with output: some file was unreadable.
        return ToolOutcome(
            Observation(success=True, stdout="\n".join(lines), stderr=result.stderr, notes=notes)
        )
    why = result.stderr.strip() or result.error or f"exit code {result.exit_code}"
    return _failed("GrepError", why)


def _failed(name: str, value: str) -> ToolOutcome:
    return ToolOutcome(Observation.failure(name, value))


EDIT_FILE_TOOL = Tool(
    spec=ToolSpec(
        EDIT_FILE,
        "Replace one exact piece of text in a file with another. `old` must occur exactly "
        "once (copy it from read_file, whitespace included).",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path, relative."},
                "old": {"type": "string", "description": "The exact text to replace."},
                "new": {"type": "string", "description": "The text to put in its place."},
            },
            "required": ["path", "old", "new"],
        },
    ),
    handler=edit_file,
    usage="edit_file(path, old, new): replace the one occurrence of `old` in a file by `new`.",
)

GLOB_TOOL = Tool(
    spec=ToolSpec(
        GLOB,
        "List the paths in the working directory matching a glob pattern ('*.py', "
        "'src/**/*.ts'; '**' crosses directories).",
        {
            "type": "object",
            "properties": {"pattern": {"type": "string", "description": "A glob pattern."}},
            "required": ["pattern"],
        },
    ),
    handler=glob,
    usage="glob(pattern): paths matching a glob pattern, e.g. '**/*.py'.",
)

GREP_TOOL = Tool(
    spec=ToolSpec(
        GREP,
        "Search files for a regular expression (extended syntax); returns file:line:text for "
        "each matching line.",
        {
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "An extended regular expression."},
                "path": {
                    "type": "string",
                    "description": "A file or directory to search, relative; default '.'.",
                },
            },
            "required": ["pattern"],
        },
    ),
    handler=grep,
    usage="grep(pattern, path): lines matching a regular expression in a file or directory.",
)
