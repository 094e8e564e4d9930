"""Charts and files the code produces, saved through the chat service's `ArtifactSink`.

Figures arrive as base64 images inside results; files are whatever the code wrote into the
workdir, found by comparing listings taken before and after each run. Either way the model and
the user get the stored URL, so a final answer links to files that exist, with no rewriting.
"""

from __future__ import annotations

import base64
import binascii
import logging
import mimetypes
import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sandbox_analyst.agent.artifact_limits import ArtifactBudget, ArtifactUsage
from sandbox_analyst.agent.figures import FigureNamer
from sandbox_analyst.sandbox import FileAccessError, Result, Sandbox

log = logging.getLogger(__name__)

# Formats `mimetypes` does not know everywhere.
_MEDIA_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".jsonl": "application/jsonl",
    ".md": "text/markdown",
}
# Result fields holding an image, in the order we prefer them, with their media type.
_IMAGE_FORMATS = (("png", "image/png"), ("jpeg", "image/jpeg"), ("svg", "image/svg+xml"))


@dataclass(frozen=True)
class ArtifactRef:
    file_id: str
    name: str
    url: str
    media_type: str
    size: int

    @property
    def markdown(self) -> str:
        """What the model pastes into its answer: an image embed, or a download link."""
        if self.media_type.startswith("image/"):
            return f"![{self.name}]({self.url})"
        return f"[{self.name}]({self.url})"


class ArtifactNotSaved(Exception):
    """The sink could not keep an artifact (e.g. the server's storage is full); the message
    says why, for the model."""


class ArtifactSink(Protocol):
    """Where artifacts go; the chat service stores them and answers with a stable URL.
    `save` raises ArtifactNotSaved when it cannot keep one."""

    async def save(self, name: str, data: bytes, media_type: str) -> ArtifactRef: ...

    async def saved_names(self) -> list[str]:
        """Names of the artifacts saved so far (earlier turns of the conversation included):
        a turn's charts are numbered on from them."""
        ...

    async def saved_usage(self) -> ArtifactUsage:
        """How many artifacts the conversation has saved so far, and their bytes: what its
        artifact limits count against."""
        ...


def media_type_for(path: str) -> str:
    extension = posixpath.splitext(path)[1].lower()
    if extension in _MEDIA_TYPES:
        return _MEDIA_TYPES[extension]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


class InvalidImage(ValueError):
    """A result claims an image format but its data cannot be that image."""


def result_image(result: Result) -> tuple[bytes, str] | None:
    """The image a result carries (bytes and media type), if it carries one. Raises
    `InvalidImage` when the image field is not valid data: results come from user code, and
    not every backend validates them."""
    for name, media_type in _IMAGE_FORMATS:
        value = getattr(result, name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidImage(f"its {media_type} is {type(value).__name__}, not text")
        if name == "svg":
            return value.encode(), media_type
        try:
            return base64.b64decode(value, validate=True), media_type
        except (binascii.Error, ValueError) as exc:
            raise InvalidImage(f"its {media_type} is not valid base64") from exc
    return None


def has_image(result: Result) -> bool:
    return any(getattr(result, name) is not None for name, _ in _IMAGE_FORMATS)


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


class CallArtifacts:
    """The charts and files of one `execute_code` call, saved within the budget; `notes` says
    what was left out and why (for the model)."""

    def __init__(self, sink: ArtifactSink, namer: FigureNamer, budget: ArtifactBudget) -> None:
        self.sink = sink
        self.namer = namer
        self.budget = budget
        self.notes: list[str] = []
        self._dropped_figures: dict[str, int] = {}
        budget.start_call()

    async def save_figure(self, result: Result) -> ArtifactRef | None:
        """Save the image `result` carries; None when it was left out (see `notes`)."""
        try:
            image = result_image(result)
        except InvalidImage as exc:
            self.notes.append(f"A displayed image was dropped: {exc}.")
            return None
        if image is None:
            return None
        data, media_type = image
        refused = self.budget.refusal("figure", len(data))
        if refused is not None:
            self._dropped_figures[refused] = self._dropped_figures.get(refused, 0) + 1
            return None
        name = self.namer.next_name(media_type)
        try:
            ref = await self.sink.save(name, data, media_type)
        except Exception as exc:
            # Raised inside `run_code` it would abandon the execution mid-stream; the model is
            # told instead, and the code's other outputs still come back.
            log.exception("could not save %s", name)
            self.notes.append(f"{name} could not be saved: {exc}")
            return None
        self.budget.record("figure", len(data))
        return ref

    async def save_files(
        self, sandbox: Sandbox, before: WorkdirSnapshot, after: WorkdirSnapshot
    ) -> tuple[list[ArtifactRef], list[SkippedFile]]:
        """Save the files the call wrote (new or changed between the snapshots)."""
        saved: list[ArtifactRef] = []
        skipped: list[SkippedFile] = []
        for path in after.changed_since(before):
            size = after.files[path][0]
            refused = self.budget.refusal("file", size)
            if refused is not None:
                skipped.append(SkippedFile(path, refused))
                continue
            try:
                data = await _read_at_most(sandbox, path, size)
            except FileAccessError as exc:  # removed, replaced, or not a regular file
                skipped.append(SkippedFile(path, str(exc)))
                continue
            try:
                ref = await self.sink.save(posixpath.basename(path), data, media_type_for(path))
            except ArtifactNotSaved as exc:  # e.g. the server's storage is full
                skipped.append(SkippedFile(path, str(exc)))
                continue
            saved.append(ref)
            self.budget.record("file", len(data))
        for snapshot in {before.truncated, after.truncated} - {None}:
            self.notes.append(
                f"The listing of the working directory was cut ({snapshot}): files beyond it "
                "were not checked, so some files this code wrote may not be listed here."
            )
        return saved, skipped

    def finish(self) -> list[str]:
        """The notes, with one line per reason figures were dropped."""
        for reason, count in self._dropped_figures.items():
            charts = "chart was" if count == 1 else f"{count} charts were"
            self.notes.append(f"{charts.capitalize()} not saved: {reason}.")
        self._dropped_figures.clear()
        return self.notes


async def _read_at_most(sandbox: Sandbox, path: str, size: int) -> bytes:
    """The file's bytes; refused if it grew past `size` since the listing (code still writing
    to it in the background must not make us read without end)."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in sandbox.files.read(path):
        total += len(chunk)
        if total > size:
            raise FileAccessError(f"{path!r} is still growing; not saved")
        chunks.append(chunk)
    return b"".join(chunks)


# Bounds of the before/after listings of every call: cheap even in a workdir of 150k files.
SNAPSHOT_MAX_ENTRIES = 10_000
SNAPSHOT_MAX_DEPTH = 32
SNAPSHOT_TIME_LIMIT = 2.0


@dataclass(frozen=True)
class WorkdirSnapshot:
    """Size and modification time of every visible file in the workdir (within bounds)."""

    files: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    truncated: str | None = None
    """Why the listing was cut; then files past it are unknown."""
    taken: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    async def take(cls, sandbox: Sandbox) -> WorkdirSnapshot:
        taken = datetime.now(UTC)
        listing = await sandbox.files.walk(
            max_entries=SNAPSHOT_MAX_ENTRIES,
            max_depth=SNAPSHOT_MAX_DEPTH,
            time_limit=SNAPSHOT_TIME_LIMIT,
        )
        return cls(
            {
                entry.path: (entry.size, entry.modified)
                for entry in listing.entries
                if not entry.is_dir and not _hidden(entry.path)
            },
            listing.truncated,
            taken,
        )

    def changed_since(self, before: WorkdirSnapshot) -> list[str]:
        """Files that are new, or whose size or mtime changed, in listing order. Uploaded inputs
        are left out this way unless the code rewrote them. When `before` was cut, a path
        missing from it counts as new only if it was modified after `before` was taken."""
        changed = []
        for path, stamp in self.files.items():
            earlier = before.files.get(path)
            if earlier is None and before.truncated is not None:
                if stamp[1] >= before.taken - _CLOCK_SLACK:
                    changed.append(path)
            elif earlier != stamp:
                changed.append(path)
        return changed


_CLOCK_SLACK = timedelta(seconds=1)  # mtimes have coarse granularity on some filesystems


def _hidden(path: str) -> bool:
    # Dot files and dot directories are tooling (.ipynb_checkpoints, .cache), not results.
    return any(part.startswith(".") for part in path.split("/"))
