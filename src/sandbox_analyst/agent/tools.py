"""The tools the model may call, and how one call runs: events while it runs, then the
observation sent back to the model and the `ToolResultEvent` that records it."""

from __future__ import annotations

import io
import time
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox_analyst.agent.artifact_limits import NO_ARTIFACTS, ArtifactBudget, ArtifactUsage
from sandbox_analyst.agent.artifacts import (
    ArtifactSink,
    CallArtifacts,
    FigureNamer,
    WorkdirSnapshot,
    has_image,
)
from sandbox_analyst.agent.config import AgentConfig
from sandbox_analyst.agent.events import (
    AgentEvent,
    ArtifactEvent,
    ResultEvent,
    StderrEvent,
    StdoutEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.agent.missing_module import missing_module_note
from sandbox_analyst.agent.observation import Observation, result_text
from sandbox_analyst.agent.packages import (
    INSTALL_PACKAGE,
    INSTALL_PACKAGE_SPEC,
    PackageRequester,
    install_package,
    install_pip_cell,
    pip_cell,
)
from sandbox_analyst.agent.preview import PreviewError, preview_files
from sandbox_analyst.llm import ToolCall, ToolSpec
from sandbox_analyst.sandbox import FileAccessError, Result, Sandbox, SandboxError
from sandbox_analyst.sandbox.models import SandboxErrorName

EXECUTE_CODE = "execute_code"
LIST_FILES = "list_files"
PREVIEW_FILE = "preview_file"
_MAX_LISTED_FILES = 200

TOOL_SPECS = [
    ToolSpec(
        EXECUTE_CODE,
        "Run Python code in the stateful sandbox (IPython). Variables, imports and files persist "
        "between calls. Returns stdout, stderr, the error if any, displayed results, and a "
        "markdown link for every chart or file the code produced.",
        {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "Python code to run."}},
            "required": ["code"],
        },
    ),
    ToolSpec(
        LIST_FILES,
        "List the files in the sandbox's working directory (recursively), with their sizes.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Directory, relative; default '.'."}
            },
        },
    ),
    ToolSpec(
        PREVIEW_FILE,
        "Preview a data file (CSV, TSV, Excel, Parquet, JSON): shape, columns, dtypes, first "
        "rows and missing values per column.",
        {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "File path, relative."}},
            "required": ["path"],
        },
    ),
]
TOOL_NAMES = [spec.name for spec in TOOL_SPECS]

Emit = Callable[[AgentEvent], None]


# Layout tokens that carry meaning in Python, kept as markers when code is compared.
_LAYOUT = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}
_IGNORED = {tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER}


def normalise_code(code: str) -> str:
    """The code without whitespace and comment differences, to recognise the same code run
    again: `x=1/0` and `x = 1 / 0  # retry` are the same code, `print('a b')` and
    `print('ab')` are not."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):  # unfinished code: compare its words
        return " ".join(code.split())
    return " ".join(
        _LAYOUT.get(token.type, token.string) for token in tokens if token.type not in _IGNORED
    )


@dataclass
class RunningCall:
    """The call in progress, so an interrupted turn can still report what it printed."""

    call: ToolCall
    code: str | None
    started: float = field(default_factory=time.monotonic)
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


class Toolbox:
    """Runs the tool calls of one turn against one sandbox."""

    def __init__(
        self,
        sandbox: Sandbox,
        artifacts: ArtifactSink,
        config: AgentConfig,
        figures_before: int = 0,
        artifacts_before: ArtifactUsage = NO_ARTIFACTS,
        *,
        packages: PackageRequester | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.packages = packages
        self.specs = [*TOOL_SPECS, INSTALL_PACKAGE_SPEC] if packages else list(TOOL_SPECS)
        self.names = [spec.name for spec in self.specs]
        self.artifacts = artifacts
        self.config = config
        self.running: RunningCall | None = None
        self._figures = FigureNamer(figures_before)
        self._budget = ArtifactBudget(config.artifact_limits, artifacts_before)
        self._snapshot: WorkdirSnapshot | None = None  # the last call's "after", if still valid
        self._failures: dict[str, int] = {}
        self._generation = sandbox.generation

    async def call(self, call: ToolCall, emit: Emit) -> ToolResultEvent:
        code = call.arguments.get("code") if call.name == EXECUTE_CODE else None
        code = code if isinstance(code, str) else None
        if code is not None and self.packages is not None and pip_cell(code) is not None:
            # Answered by the server, not run in the session: not code to log or replay.
            code = None
        emit(ToolCallEvent(call.id, call.name, call.arguments, code))
        running = self.running = RunningCall(call, code)
        observation, state_lost = await self._dispatch(running, code, emit)
        self.running = None
        result = ToolResultEvent(
            call_id=call.id,
            tool=call.name,
            success=observation.success,
            observation=observation.render(self.config.observation_limit),
            code=code,
            stdout=observation.stdout,
            stderr=observation.stderr,
            error=observation.error,
            duration=time.monotonic() - running.started,
            state_lost=state_lost,
        )
        emit(result)
        return result

    def interrupted(self, reason: str) -> ToolResultEvent | None:
        """The result of the call cut short by the end of the turn, if one was running."""
        running, self.running = self.running, None
        if running is None:
            return None
        observation = Observation.failure("Interrupted", reason)
        observation.stdout, observation.stderr = "".join(running.stdout), "".join(running.stderr)
        return ToolResultEvent(
            call_id=running.call.id,
            tool=running.call.name,
            success=False,
            observation=observation.render(self.config.observation_limit),
            code=running.code,
            stdout=observation.stdout,
            stderr=observation.stderr,
            error=observation.error,
            duration=time.monotonic() - running.started,
            state_lost=False,
        )

    async def _dispatch(
        self, running: RunningCall, code: str | None, emit: Emit
    ) -> tuple[Observation, bool]:
        call = running.call
        if call.name not in self.names:
            known = ", ".join(self.names)
            return Observation.failure("UnknownTool", f"no tool {call.name!r}; use: {known}"), False
        if call.parse_error is not None:
            return Observation.failure(
                "InvalidArguments",
                f"{call.parse_error}. Send the arguments as one JSON object, "
                'e.g. {"code": "print(1)"}; escape quotes and newlines inside strings.',
            ), False
        try:
            if call.name == INSTALL_PACKAGE and self.packages is not None:
                return await install_package(self.packages, call.arguments), False
            if call.name == EXECUTE_CODE:
                source = call.arguments.get("code")
                wanted = pip_cell(source) if isinstance(source, str) and self.packages else None
                if wanted is not None and self.packages is not None:
                    return await install_pip_cell(self.packages, wanted), False
                if code is None:
                    message = 'execute_code needs a "code" argument holding Python source'
                    return Observation.failure("InvalidArguments", message), False
                return await self._execute(running, code, emit)
            path = call.arguments.get("path", ".")
            if not isinstance(path, str):
                return Observation.failure("InvalidArguments", '"path" must be a string'), False
            if call.name == LIST_FILES:
                return await self._list_files(path), False
            return await self._preview(path), False
        except FileAccessError as exc:
            return Observation.failure("FileAccessError", str(exc)), False
        except SandboxError as exc:
            return Observation.failure(type(exc).__name__, f"the sandbox failed: {exc}"), False

    async def _execute(
        self, running: RunningCall, code: str, emit: Emit
    ) -> tuple[Observation, bool]:
        call_id = running.call.id
        observation = Observation(success=False)

        def on_stdout(text: str) -> None:
            running.stdout.append(text)
            emit(StdoutEvent(call_id, text))

        def on_stderr(text: str) -> None:
            running.stderr.append(text)
            emit(StderrEvent(call_id, text))

        async def on_result(result: Result) -> None:
            if has_image(result):
                ref = await produced.save_figure(result)
                if ref is None:
                    return
                observation.artifacts.append(ref)
                emit(ArtifactEvent(call_id, ref))
            else:
                emit(ResultEvent(call_id, result.formats(), result.text, result.html))
            text = result_text(result)
            if text is not None:
                observation.results.append(text)

        state_lost = self.sandbox.generation != self._generation
        produced = CallArtifacts(self.artifacts, self._figures, self._budget)
        before = self._snapshot or await WorkdirSnapshot.take(self.sandbox)
        execution = await self.sandbox.run_code(
            code,
            timeout=self.config.code_timeout,
            on_stdout=on_stdout,
            on_stderr=on_stderr,
            on_result=on_result,
        )
        after = self._snapshot = await WorkdirSnapshot.take(self.sandbox)
        saved, skipped = await produced.save_files(self.sandbox, before, after)
        for ref in saved:
            emit(ArtifactEvent(call_id, ref))
        observation.artifacts += saved
        observation.skipped = skipped
        observation.notes += produced.finish()
        observation.stdout = "".join(execution.logs.stdout)
        observation.stderr = "".join(execution.logs.stderr)
        observation.success = execution.error is None
        state_lost = state_lost or execution.state_lost
        self._generation = self.sandbox.generation
        if execution.error is not None:
            error = execution.error
            observation.error = {
                "name": error.name,
                "value": error.value,
                "traceback": error.traceback,
            }
            if error.name == SandboxErrorName.TIMEOUT:
                observation.notes.append(
                    f"The code ran longer than {self.config.code_timeout:g} s and was "
                    "interrupted; variables are kept. Make it faster or work on a sample."
                )
            missing = missing_module_note(
                error.name,
                error.value,
                template=self.config.template,
                installs=self.config.allow_installs,
            )
            if missing is not None:
                observation.notes.append(missing)
            observation.notes += self._repeated_failure(code)
        if state_lost:
            observation.notes.append(
                "The sandbox was restarted: variables and imports are gone, files are kept. "
                "Re-run the code that loads and prepares what you need."
            )
        return observation, state_lost

    def _repeated_failure(self, code: str) -> list[str]:
        key = normalise_code(code)
        self._failures[key] = self._failures.get(key, 0) + 1
        times = self._failures[key]
        if times < 2:
            return []
        return [
            f"This same code has now failed {times} times. Do not run it again: change "
            "approach (inspect the data, fix the cause shown in the error, or use another "
            "method)."
        ]

    async def _list_files(self, path: str) -> Observation:
        entries = [
            entry
            for entry in await self.sandbox.files.list(path, recursive=True)
            if not any(part.startswith(".") for part in entry.path.split("/"))
        ]
        lines = [
            f"{entry.path}/" if entry.is_dir else f"{entry.path}  ({entry.size:,} bytes)"
            for entry in entries[:_MAX_LISTED_FILES]
        ]
        if len(entries) > _MAX_LISTED_FILES:
            lines.append(f"... and {len(entries) - _MAX_LISTED_FILES} more")
        return Observation(success=True, stdout="\n".join(lines) or f"{path}: no files")

    async def _preview(self, path: str) -> Observation:
        if not await self.sandbox.files.exists(path):
            return Observation.failure("FileNotFoundError", f"no file {path!r}; try list_files")
        try:
            (preview,) = await preview_files(
                self.sandbox, [path], full=True, timeout=self.config.code_timeout
            )
        except PreviewError as exc:
            return Observation.failure("PreviewError", str(exc))
        if preview.error is not None:
            return Observation.failure("PreviewError", preview.error)
        return Observation(success=True, stdout=preview.render())
