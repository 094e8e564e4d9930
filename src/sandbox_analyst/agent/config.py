"""How an assistant's agent behaves, and the uploaded files a turn can use."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox_analyst.agent.artifact_limits import ArtifactLimits

_MIB = 1024 * 1024


@dataclass(frozen=True)
class DataFile:
    """An uploaded file already placed in the sandbox workdir."""

    path: str  # workdir-relative, e.g. "sales.csv"
    size: int
    media_type: str


@dataclass
class AgentConfig:
    instructions: str = ""  # the assistant's own instructions, added to the system prompt
    allowed_libraries: list[str] = field(default_factory=list)  # empty: the preinstalled ones
    template: str = "default"  # the sandbox template the session runs (named to the model)
    allow_installs: bool = False  # the model may ask for packages (install_package)
    # Model calls that may use tools. When they are spent, one more call without tools lets the
    # model say what it did and what failed.
    max_iterations: int = 10
    turn_timeout: float = 600.0  # wall-clock seconds for the whole turn
    code_timeout: float = 120.0  # seconds one execute_code call may run
    observation_limit: int = 6000  # characters of stdout/stderr/results sent back per tool call
    max_artifact_bytes: int = 50 * _MIB  # larger figures or files are not saved
    max_artifacts_per_call: int = 20  # a loop writing thousands of files saves only this many
    max_figures_per_call: int = 50  # ... and one making thousands of charts
    max_call_artifact_bytes: int = 200 * _MIB  # figures and files saved from one call, in all
    max_conversation_artifacts: int = 2000  # saved figures and files per conversation
    max_conversation_artifact_bytes: int = 2048 * _MIB

    @property
    def artifact_limits(self) -> ArtifactLimits:
        return ArtifactLimits(
            max_bytes=self.max_artifact_bytes,
            max_files_per_call=self.max_artifacts_per_call,
            max_figures_per_call=self.max_figures_per_call,
            max_call_bytes=self.max_call_artifact_bytes,
            max_conversation_count=self.max_conversation_artifacts,
            max_conversation_bytes=self.max_conversation_artifact_bytes,
        )
