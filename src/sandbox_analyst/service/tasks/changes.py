"""What a task changed in its workdir: the files it created, modified or deleted, against the
workdir as it was when the agent started (the template's files and the inputs), each with its
size and sha256, and a unified diff for a changed text input.

    baseline = await Baseline.take(sandbox, inputs)
    ...                                  # the agent works
    changes = await collect_changes(sandbox, baseline, max_file_bytes=...)
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass

from sandbox_analyst.agent.artifacts import media_type_for
from sandbox_analyst.sandbox import Sandbox
from sandbox_analyst.service.tasks.requests import TaskInput

MAX_CHANGED_FILES = 200
MAX_DIFF_CHARS = 200_000
_DIFFABLE_BYTES = 2 * 1024 * 1024
# What running code leaves behind, not what the task made.
_IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".ipython", ".cache", ".mypy_cache"})


@dataclass(frozen=True)
class FileChange:
    path: str
    change: str  # created | modified | deleted
    size: int
    sha256: str | None  # None for a deleted file
    media_type: str
    data: bytes | None  # the bytes now (None: deleted, or over the size limit)
    diff: str | None = None  # of a modified text input
    note: str | None = None  # why the bytes or the diff are missing


@dataclass(frozen=True)
class ChangeSet:
    files: list[FileChange]
    truncated: str | None = None  # why the list is incomplete


@dataclass(frozen=True)
class Baseline:
    """The workdir when the agent starts: (size, modified time) by path, and the inputs'
    bytes (to diff against)."""

    stamps: dict[str, tuple[int, float]]
    inputs: dict[str, bytes]

    @classmethod
    async def take(cls, sandbox: Sandbox, inputs: list[TaskInput]) -> Baseline:
        listing = await sandbox.files.walk(".")
        stamps = {
            entry.path: (entry.size, entry.modified.timestamp())
            for entry in listing.entries
            if not entry.is_dir
        }
        return cls(stamps, {item.path: item.data for item in inputs})


def _kept(path: str) -> bool:
    return not any(part in _IGNORED_PARTS for part in path.split("/"))


async def collect_changes(
    sandbox: Sandbox, baseline: Baseline, *, max_file_bytes: int
) -> ChangeSet:
    listing = await sandbox.files.walk(".")
    now = {entry.path: entry for entry in listing.entries if not entry.is_dir and _kept(entry.path)}
    changes: list[FileChange] = []
    truncated = listing.truncated
    for path in sorted(now):
        entry = now[path]
        before = baseline.stamps.get(path)
        if before == (entry.size, entry.modified.timestamp()):
            continue
        if len(changes) >= MAX_CHANGED_FILES:
            truncated = f"more than {MAX_CHANGED_FILES} files changed; the rest are not listed"
            break
        media_type = media_type_for(path)
        if entry.size > max_file_bytes:
            note = f"{entry.size:,} bytes, over the {max_file_bytes:,}-byte limit: not kept"
            kind = "created" if before is None else "modified"
            changes.append(FileChange(path, kind, entry.size, None, media_type, None, note=note))
            continue
        data = await sandbox.files.read_bytes(path)
        original = baseline.inputs.get(path)
        if before is not None and original is not None and original == data:
            continue  # touched, not changed
        kind = "created" if before is None else "modified"
        diff = _diff(path, original, data) if kind == "modified" else None
        digest = hashlib.sha256(data).hexdigest()
        changes.append(FileChange(path, kind, len(data), digest, media_type, data, diff))
    for path in sorted(set(baseline.stamps) - set(now)):
        if _kept(path) and len(changes) < MAX_CHANGED_FILES:
            changes.append(FileChange(path, "deleted", 0, None, media_type_for(path), None))
    return ChangeSet(changes, truncated)


def _diff(path: str, before: bytes | None, after: bytes) -> str | None:
    """A unified diff of a text input; None for a file that was not an input or is binary."""
    if before is None or max(len(before), len(after)) > _DIFFABLE_BYTES:
        return None
    try:
        old, new = before.decode(), after.decode()
    except UnicodeDecodeError:
        return None
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS] + f"\n[... diff cut at {MAX_DIFF_CHARS:,} characters ...]\n"
    return text
