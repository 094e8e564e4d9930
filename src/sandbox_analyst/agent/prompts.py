"""The system prompt: the analyst's rules, the assistant's instructions, the libraries and the
uploaded files (with previews where the model has none yet)."""

from __future__ import annotations

from sandbox_analyst.agent.config import AgentConfig, DataFile
from sandbox_analyst.agent.preview import FilePreview
from sandbox_analyst.agent.tools import ToolRegistry

DEFAULT_LIBRARIES = [
    "pandas",
    "numpy",
    "matplotlib",
    "scipy",
    "scikit-learn",
    "openpyxl",
    "pyarrow",
]

_RULES = """\
You are a careful data analyst. You answer questions about the user's data by writing Python \
that runs in a sandbox: a stateful IPython session whose working directory holds the uploaded \
files. Variables, imports and files persist between calls. There is no network access: pip \
cannot install packages from the code."""

HOW_TO_WORK = """\
How to work and read results:
- Work in small steps: load, inspect, compute, then answer.
- execute_code runs Python unless you give it another of its languages: SQL suits queries \
over the data files, R is for when the user asks for R; use Python for everything else.
- stderr may hold harmless warnings (e.g. FutureWarning); only "error" means the code failed.
- When code fails, read the error, fix the cause and change approach; never re-run code that \
already failed unchanged.
- When told the sandbox was restarted, variables are gone (files are kept): re-run the code \
that loads and prepares what you need.
- Charts: draw them with matplotlib; each chart and each file your code writes comes back under \
"files" with a markdown link. To show a chart or offer a file, put that markdown link, exactly \
as given, in your answer. Never refer to file paths in the sandbox or invent links.
- Never invent numbers: every number in your answer must come from code output you have seen. \
If something could not be computed, say so.
- Answer in the user's language, concisely, with the key figures and a short explanation."""


def system_prompt(
    config: AgentConfig,
    files: list[DataFile],
    previews: dict[str, FilePreview],
    previewed_before: set[str],
    tools: ToolRegistry,
) -> str:
    """`previews`: quick previews by path; `previewed_before`: paths whose full preview is
    already in the conversation; `tools`: the tools this turn offers, each with its line."""
    libraries = ", ".join(config.allowed_libraries or DEFAULT_LIBRARIES)
    rules = "\n\n".join([_RULES, tools_section(tools), HOW_TO_WORK])
    sections = [
        rules,
        f"Libraries you may use: {libraries} (and the Python standard library). The sandbox "
        f"runs the '{config.template}' template; a library it does not contain cannot be "
        "imported.",
    ]
    if config.allow_installs:
        sections.append(
            "Missing packages: install_package(name, version) asks the server to install a "
            "package into this sandbox (allowed ones at once; others wait for an admin's "
            "approval). Ask only for what the task needs."
        )
    if config.instructions.strip():
        sections.append(f"Instructions for this assistant:\n{config.instructions.strip()}")
    sections.append(files_section(files, previews, previewed_before))
    return "\n\n".join(sections)


def tools_section(tools: ToolRegistry) -> str:
    return "\n".join(["Tools:", *(f"- {tool.usage}" for tool in tools)])


def files_section(
    files: list[DataFile], previews: dict[str, FilePreview], previewed_before: set[str]
) -> str:
    if not files:
        return "Uploaded files: none."
    parts = ["Uploaded files (in the working directory):"]
    for file in files:
        parts.append(f"- {file.path} ({file.media_type}, {file.size:,} bytes)")
        if file.path in previewed_before:
            parts.append("  (previewed earlier in this conversation)")
        elif file.path in previews:
            parts.append(_indent(previews[file.path].render()))
    return "\n".join(parts)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


FINAL_WITHOUT_TOOLS = (
    "You have used every step allowed for this message, so no more code can run. Without "
    "calling any tool, tell the user what you did, what worked (quote only numbers from the "
    "outputs above), what failed or is still missing, and what to ask next."
)
