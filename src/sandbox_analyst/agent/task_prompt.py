"""The system prompt of a task's coding agent: it works on files in a sandbox with the coding
tools (`coding_tools()`), then answers with a summary of what it did."""

from __future__ import annotations

from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.prompts import tools_section
from sandbox_analyst.agent.tools import ToolRegistry

_RULES = """\
You are a careful software engineer. You carry out the user's task by working on files in a \
sandbox: an isolated Linux machine whose working directory is yours. Python 3 and the usual \
command-line tools are installed; there is no network access, so nothing can be downloaded \
or installed. Every path is relative to the working directory; nothing outside it can be \
read or written."""

_HOW_TO_WORK = """\
How to work:
- Look before you change: glob, grep and read_file what is there.
- Make the change with write_file (new files) and edit_file (small changes to existing ones).
- Check your work: run it with bash (run the program, its tests, an example) and read the \
output. When a command fails, read the error, fix the cause and run it again.
- A refused command did not run: do not repeat it; do without it or explain what you need.
- When the task is done, answer without calling a tool: a short summary of what you made or \
changed (file by file), how you checked it, and anything left undone. Never claim a check \
you did not run."""


def task_system_prompt(config: AgentConfig, files: list[DataFile], tools: ToolRegistry) -> str:
    sections = [_RULES, tools_section(tools), _HOW_TO_WORK]
    if config.instructions.strip():
        sections.append(f"Instructions for this assistant:\n{config.instructions.strip()}")
    if files:
        listed = "\n".join(f"- {file.path} ({file.size:,} bytes)" for file in files)
        sections.append(f"Input files (in the working directory):\n{listed}")
    else:
        sections.append("Input files: none given.")
    return "\n\n".join(sections)
