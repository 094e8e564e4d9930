"""How much one call and one conversation may save: figures and files are counted and sized,
per call and per conversation, so that one cell cannot store 540 MB of charts, nor a
conversation grow without end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArtifactUsage:
    """Artifacts a conversation has stored so far: what its limits count against. The chat
    service, which stores them, passes this in at the start of each turn."""

    count: int = 0
    bytes: int = 0


NO_ARTIFACTS = ArtifactUsage()


@dataclass(frozen=True)
class ArtifactLimits:
    """The bounds (from `AgentConfig`, which holds their defaults)."""

    max_bytes: int
    """Largest single figure or file."""
    max_files_per_call: int
    max_figures_per_call: int
    max_call_bytes: int
    """Figures and files saved from one call, together."""
    max_conversation_count: int
    max_conversation_bytes: int


class ArtifactBudget:
    """What may still be saved: per call (`start_call` resets) and per conversation."""

    def __init__(self, limits: ArtifactLimits, used: ArtifactUsage) -> None:
        self.limits = limits
        self.conversation = used
        self.call_bytes = 0
        self.call_counts = {"figure": 0, "file": 0}

    def start_call(self) -> None:
        self.call_bytes = 0
        self.call_counts = {"figure": 0, "file": 0}

    def refusal(self, kind: str, size: int) -> str | None:
        """Why an artifact of `size` bytes may not be saved; None if it may."""
        limits = self.limits
        per_call = limits.max_figures_per_call if kind == "figure" else limits.max_files_per_call
        if size > limits.max_bytes:
            return f"{size:,} bytes is over the {limits.max_bytes:,} byte limit for saved files"
        if self.call_counts[kind] >= per_call:
            return f"only {per_call} {kind}s are saved per run"
        if self.call_bytes + size > limits.max_call_bytes:
            return f"one run may save {limits.max_call_bytes:,} bytes of charts and files in all"
        if self.conversation.count >= limits.max_conversation_count:
            return (
                f"the conversation already holds {limits.max_conversation_count:,} saved "
                "charts and files, its limit"
            )
        if self.conversation.bytes + size > limits.max_conversation_bytes:
            return (
                f"the conversation's saved charts and files would exceed "
                f"{limits.max_conversation_bytes:,} bytes"
            )
        return None

    def record(self, kind: str, size: int) -> None:
        self.call_counts[kind] += 1
        self.call_bytes += size
        used = self.conversation
        self.conversation = ArtifactUsage(used.count + 1, used.bytes + size)
