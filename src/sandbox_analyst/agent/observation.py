"""What a tool call sends back to the model: one plain-text layout for every tool and outcome.

    success: true | false
    stdout:
    <printed output, or (empty)>
    stderr:
    <warnings and logs, or (empty)>
    error:
    <Name: value, then "traceback (last lines):" and its tail; or (none)>
    results:
    <a text view of each displayed value, or (none)>
    files:
    <"- name (media type, size): markdown link" per chart or file produced, or (none)>
    notes:
    <"- ..." hints from the agent (repeated failure, lost state, skipped files), or (none)>

Every section is always present, so a failure reads like a success with `error` filled in.
stdout, stderr and results share `limit` characters; a section over its share keeps its head
and tail around a marker saying how much was cut. The full output stays in `ToolResultEvent`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sandbox_analyst.agent.artifacts import ArtifactRef, SkippedFile
from sandbox_analyst.sandbox import Result

TRACEBACK_TAIL = 1500  # characters of a traceback worth showing: the last frames and the error
_SKIPPED_SHOWN = 10  # skipped files named one by one; the rest are counted
_EMPTY = "(empty)"
_NONE = "(none)"


@dataclass
class Observation:
    success: bool
    stdout: str = ""
    stderr: str = ""
    error: dict | None = None  # {"name", "value", "traceback"}
    results: list[str] = field(default_factory=list)
    artifacts: list[ArtifactRef] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def failure(cls, name: str, value: str, *, notes: list[str] | None = None) -> Observation:
        """A tool call that failed before running anything (bad arguments, unknown tool)."""
        error = {"name": name, "value": value, "traceback": ""}
        return cls(success=False, error=error, notes=notes or [])

    def render(self, limit: int) -> str:
        results_text = "\n".join(self.results)
        budgets = share_budget([len(self.stdout), len(self.stderr), len(results_text)], limit)
        stdout, stderr, results = (
            truncate(text, budget, label)
            for text, budget, label in zip(
                (self.stdout, self.stderr, results_text),
                budgets,
                ("stdout", "stderr", "results"),
                strict=True,
            )
        )
        return "\n".join(
            [
                f"success: {'true' if self.success else 'false'}",
                "stdout:",
                stdout.rstrip("\n") or _EMPTY,
                "stderr:",
                stderr.rstrip("\n") or _EMPTY,
                "error:",
                self._error_text(),
                "results:",
                results or _NONE,
                "files:",
                self._files_text(),
                "notes:",
                "\n".join(f"- {note}" for note in self.notes) or _NONE,
            ]
        )

    def _error_text(self) -> str:
        if self.error is None:
            return _NONE
        text = f"{self.error['name']}: {self.error['value']}"
        traceback = self.error.get("traceback") or ""
        if traceback:
            tail = traceback[-TRACEBACK_TAIL:]
            if len(tail) < len(traceback):
                tail = "..." + tail[tail.find("\n") :] if "\n" in tail else tail
            text += f"\ntraceback (last lines):\n{tail.rstrip()}"
        return text

    def _files_text(self) -> str:
        lines = [
            f"- {ref.name} ({ref.media_type}, {_size(ref.size)}): {ref.markdown}"
            for ref in self.artifacts
        ]
        shown, rest = self.skipped[:_SKIPPED_SHOWN], self.skipped[_SKIPPED_SHOWN:]
        lines += [f"- {skipped.path}: not saved ({skipped.reason})" for skipped in shown]
        if rest:  # a loop that wrote 10,000 files must not flood the model's context
            lines.append(f"- {len(rest):,} more files: not saved (e.g. {rest[0].reason})")
        return "\n".join(lines) or _NONE


def result_text(result: Result) -> str | None:
    """A compact text view of a displayed value; None for images (they are listed as files)."""
    prefix = "Out: " if result.is_main_result else ""
    if result.markdown is not None:
        return prefix + result.markdown
    if result.json is not None:
        return prefix + json.dumps(result.json, default=str)
    if result.text is not None and not (result.png or result.jpeg or result.svg):
        return prefix + result.text
    if result.html is not None:
        return f"{prefix}(HTML output of {len(result.html):,} characters; print() it for text)"
    if result.png or result.jpeg or result.svg:
        return None
    return f"{prefix}(output in {', '.join(result.formats()) or 'no'} format)"


def share_budget(lengths: list[int], budget: int) -> list[int]:
    """Split `budget` characters between sections: short ones keep everything, the rest share
    what is left evenly."""
    shares = [0] * len(lengths)
    remaining = budget
    pending = sorted(range(len(lengths)), key=lambda index: lengths[index])
    while pending:
        fair = remaining // len(pending)
        index = pending.pop(0)
        shares[index] = min(lengths[index], fair)
        remaining -= shares[index]
    return shares


def truncate(text: str, budget: int, label: str) -> str:
    """`text` if it fits in `budget`, else its head and tail around a marker."""
    if len(text) <= budget:
        return text
    head = budget // 2
    tail = budget - head
    cut = len(text) - head - tail
    marker = (
        f"\n[... {cut:,} of {len(text):,} characters of {label} cut here; print less, or "
        "summarise, to see it all ...]\n"
    )
    return text[:head] + marker + (text[-tail:] if tail else "")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
