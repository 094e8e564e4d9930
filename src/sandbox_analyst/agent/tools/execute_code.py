"""`execute_code`: run code in the session (Python by default; bash, SQL over the workdir's
files with DuckDB, and R where the session has it), streaming its output; charts it displays
and files it writes are saved as artifacts; the model is told when the same code keeps
failing, when it ran out of time and when the session's state was lost."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Sequence

from sandbox_analyst.agent.artifacts import CallArtifacts, WorkdirSnapshot, has_image
from sandbox_analyst.agent.events import ResultEvent
from sandbox_analyst.agent.missing_module import missing_module_note
from sandbox_analyst.agent.observation import Observation, result_text
from sandbox_analyst.agent.tools.context import InvalidArguments, ToolContext, ToolOutcome
from sandbox_analyst.agent.tools.registry import Tool
from sandbox_analyst.llm import ToolSpec
from sandbox_analyst.sandbox import LANGUAGES, PYTHON_LANGUAGES, Result, SandboxErrorName

EXECUTE_CODE = "execute_code"

# Layout tokens that carry meaning in Python, kept as markers when code is compared.
_LAYOUT = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}
_IGNORED = {tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER}


_LANGUAGE_NOTES = {
    "sql": "Ran as SQL (DuckDB) in the session; its last result is the pandas DataFrame `_sql` "
    "in Python.",
    "r": "Ran as R in the session's R process (its own variables; Python's are not visible "
    "in R: share data through files).",
}


def normalise_code(code: str, language: str = "python") -> str:
    """The code without whitespace and comment differences, to recognise the same code run
    again: `x=1/0` and `x = 1 / 0  # retry` are the same code, `print('a b')` and
    `print('ab')` are not. Code of another language is compared word by word, under its
    language's name (the same text as SQL and as R is not the same code)."""
    if language != "python":
        return f"{language}: " + " ".join(code.split())
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):  # unfinished code: compare its words
        return " ".join(code.split())
    return " ".join(
        _LAYOUT.get(token.type, token.string) for token in tokens if token.type not in _IGNORED
    )


async def execute_code(context: ToolContext) -> ToolOutcome:
    code = context.call.arguments.get("code")
    if not isinstance(code, str):
        raise InvalidArguments('execute_code needs a "code" argument holding the code to run')
    sandbox, config, turn = context.sandbox, context.config, context.turn
    language = context.text_argument("language", "python").strip().lower()
    if language not in sandbox.languages:
        raise InvalidArguments(
            f"language {language!r} cannot run in this sandbox; use one of: "
            f"{', '.join(sandbox.languages)}"
        )
    observation = Observation(success=False)

    async def on_result(result: Result) -> None:
        if has_image(result):
            ref = await produced.save_figure(result)
            if ref is None:
                return
            observation.artifacts.append(ref)
            await context.artifact(ref)
        else:
            event = ResultEvent(context.call.id, result.formats(), result.text, result.html)
            await context.emit(event)
        text = result_text(result)
        if text is not None:
            observation.results.append(text)

    state_lost = sandbox.generation != turn.sandbox_generation
    produced = CallArtifacts(context.artifacts, turn.figures, turn.budget)
    before = await turn.listing_before(sandbox)
    execution = await sandbox.run_code(
        code,
        language=language,  # type: ignore[arg-type]
        timeout=config.code_timeout,
        on_stdout=context.stdout,
        on_stderr=context.stderr,
        on_result=on_result,
    )
    after = turn.snapshot = await WorkdirSnapshot.take(sandbox)
    saved, skipped = await produced.save_files(sandbox, before, after)
    for ref in saved:
        await context.artifact(ref)
    observation.artifacts += saved
    observation.skipped = skipped
    observation.notes += produced.finish()
    observation.stdout = "".join(execution.logs.stdout)
    observation.stderr = "".join(execution.logs.stderr)
    observation.success = execution.error is None
    state_lost = state_lost or execution.state_lost
    turn.sandbox_generation = sandbox.generation
    if execution.error is not None:
        error = execution.error
        observation.error = {"name": error.name, "value": error.value, "traceback": error.traceback}
        if error.name == SandboxErrorName.TIMEOUT:
            observation.notes.append(
                f"The code ran longer than {config.code_timeout:g} s and was "
                "interrupted; variables are kept. Make it faster or work on a sample."
            )
        missing = missing_module_note(
            error.name, error.value, template=config.template, installs=config.allow_installs
        )
        if missing is not None:
            observation.notes.append(missing)
        observation.notes += _repeated_failure(turn.failures, normalise_code(code, language))
    if language in _LANGUAGE_NOTES:
        observation.notes.append(_LANGUAGE_NOTES[language])
    if state_lost:
        observation.notes.append(
            "The sandbox was restarted: variables and imports are gone, files are kept. "
            "Re-run the code that loads and prepares what you need."
        )
    return ToolOutcome(observation, state_lost, execution.peak_memory_bytes, execution.cpu_seconds)


def _repeated_failure(failures: dict[str, int], key: str) -> list[str]:
    failures[key] = failures.get(key, 0) + 1
    times = failures[key]
    if times < 2:
        return []
    return [
        f"This same code has now failed {times} times. Do not run it again: change "
        "approach (inspect the data, fix the cause shown in the error, or use another "
        "method)."
    ]


def execute_code_tool(languages: Sequence[str] = PYTHON_LANGUAGES) -> Tool:
    """execute_code offering `languages` (a session's `Sandbox.languages`)."""
    offered = [language for language in LANGUAGES if language in languages]
    described = ", ".join(_LANGUAGE_LINES[language] for language in offered)
    return Tool(
        spec=ToolSpec(
            EXECUTE_CODE,
            "Run code in the stateful sandbox. Python (the default) runs in IPython: variables, "
            "imports and files persist between calls. Returns stdout, stderr, the error if "
            "any, displayed results, and a markdown link for every chart or file the code "
            "produced.",
            {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "description": "The code to run."},
                    "language": {
                        "type": "string",
                        "enum": offered,
                        "default": "python",
                        "description": f"The code's language: {described}.",
                    },
                },
                "required": ["code"],
            },
        ),
        handler=execute_code,
        usage="execute_code(code, language): run code; the value of the last expression is "
        f"shown, like in Jupyter. language: {described}.",
        code_argument="code",
        language_argument="language",
    )


_LANGUAGE_LINES = {
    "python": "python (default)",
    "bash": "bash (a shell command in the working directory)",
    "sql": "sql (DuckDB over the working directory's files, e.g. SELECT region, sum(amount) "
    "FROM 'sales.csv' GROUP BY 1; views and tables persist; the result becomes the "
    "DataFrame `_sql` in Python)",
    "r": "r (R, its variables persist between R calls; plots are returned as images)",
}

EXECUTE_CODE_TOOL = execute_code_tool()
