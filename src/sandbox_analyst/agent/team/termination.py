"""How a team turn ends: the word TERMINATE from a role that may end it (kept out of what the
user sees, even when it streams in pieces), its limits (messages, tokens, time), and the
runaway guards (roles handing off in a circle without doing anything, the same code failing
again). Each ending is the turn's stop reason."""

from __future__ import annotations

from enum import StrEnum

from sandbox_analyst.agent.events import AgentEvent, EventSink, TokenEvent
from sandbox_analyst.agent.team.spec import TERMINATE


class StopReason(StrEnum):
    TERMINATE = "terminate"  # the role allowed to end said TERMINATE
    FINAL_ANSWER = "final_answer"  # that role answered without it (and nobody else to ask)
    MAX_MESSAGES = "max_messages"
    TOKEN_BUDGET = "token_budget"
    TIMEOUT = "timeout"
    HANDOFF_LOOP = "handoff_loop"
    REPEATED_FAILURE = "repeated_failure"
    QUOTA_EXCEEDED = "quota_exceeded"  # the turn's allowance (the user's quota) ran out
    FAILED = "failed"  # the model could not be called


# The same failing code, run this many times in a turn, stops a team (a single agent is told
# to change approach; a team whose roles keep sending it back is stopped).
REPEATED_FAILURE_LIMIT = 2


def without_terminate(text: str) -> tuple[str, bool]:
    """`text` without the word TERMINATE, and whether it held it."""
    if TERMINATE not in text:
        return text, False
    return text.replace(TERMINATE, "").strip(), True


class TerminateFilter:
    """An event sink that passes the model's tokens on without the word TERMINATE: a piece
    that may be the start of it is held back until the next one tells (`flush` at the end of
    the model call sends what is left)."""

    def __init__(self, emit: EventSink) -> None:
        self._emit = emit
        self._held = ""
        self._agent: str | None = None

    async def __call__(self, event: AgentEvent) -> None:
        if not isinstance(event, TokenEvent):
            await self.flush()
            await self._emit(event)
            return
        self._agent = event.agent
        text = (self._held + event.text).replace(TERMINATE, "")
        keep = _partial_suffix(text)
        self._held = text[len(text) - keep :] if keep else ""
        shown = text[: len(text) - keep]
        if shown:
            await self._emit(TokenEvent(shown, agent=event.agent))

    async def flush(self) -> None:
        held, self._held = self._held, ""
        if held:
            await self._emit(TokenEvent(held, agent=self._agent))


def _partial_suffix(text: str) -> int:
    """The length of the longest end of `text` that begins the word TERMINATE."""
    for size in range(min(len(TERMINATE) - 1, len(text)), 0, -1):
        if TERMINATE.startswith(text[-size:]):
            return size
    return 0


class HandoffGuard:
    """Notices roles handing off in a circle: the same handoff (from, to) again with no
    progress since (a tool call that did something, or a role saying its piece)."""

    def __init__(self) -> None:
        self._since_progress: set[tuple[str, str]] = set()

    def progress(self) -> None:
        self._since_progress.clear()

    def is_loop(self, source: str, target: str) -> bool:
        """Record a handoff; True when it repeats one made since the last progress."""
        handoff = (source, target)
        if handoff in self._since_progress:
            return True
        self._since_progress.add(handoff)
        return False
