"""Charts and files the code produces, saved through the chat service's `ArtifactSink`.

Figures arrive as base64 images inside results; files are whatever the code wrote into the
workdir, found by comparing listings taken before and after each run. Either way the model and
the user get the stored URL, so a final answer links to files that exist, with no rewriting.
"""

from __future__ import annotations

import base64
import mimetypes
import posixpath
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sandbox_analyst.sandbox import FileAccessError, Result, Sandbox

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


class ArtifactSink(Protocol):
    """Where artifacts go; the chat service stores them and answers with a stable URL."""

    async def save(self, name: str, data: bytes, media_type: str) -> ArtifactRef: ...

    async def saved_names(self) -> list[str]:
        """Names of the artifacts saved so far (earlier turns of the conversation included):
        a turn's charts are numbered on from them."""
        ...


def media_type_for(path: str) -> str:
    extension = posixpath.splitext(path)[1].lower()
    if extension in _MEDIA_TYPES:
        return _MEDIA_TYPES[extension]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


def result_image(result: Result) -> tuple[bytes, str] | None:
    """The image a result carries (bytes and media type), if it carries one."""
    for name, media_type in _IMAGE_FORMATS:
        value = getattr(result, name)
        if value is None:
            continue
        if name == "svg":
            return str(value).encode(), media_type
        return base64.b64decode(value), media_type
    return None


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class WorkdirSnapshot:
    """Size and modification time of every visible file in the workdir."""

    files: dict[str, tuple[int, datetime]] = field(default_factory=dict)

    @classmethod
    async def take(cls, sandbox: Sandbox) -> WorkdirSnapshot:
        entries = await sandbox.files.list(recursive=True)
        return cls(
            {
                entry.path: (entry.size, entry.modified)
                for entry in entries
                if not entry.is_dir and not _hidden(entry.path)
            }
        )

    def changed_since(self, before: WorkdirSnapshot) -> list[str]:
        """Files that are new, or whose size or mtime changed, in listing order. Uploaded inputs
        are left out this way unless the code rewrote them."""
        return [path for path, stamp in self.files.items() if before.files.get(path) != stamp]


def _hidden(path: str) -> bool:
    # Dot files and dot directories are tooling (.ipynb_checkpoints, .cache), not results.
    return any(part.startswith(".") for part in path.split("/"))


async def save_written_files(
    sandbox: Sandbox,
    sink: ArtifactSink,
    paths: list[str],
    snapshot: WorkdirSnapshot,
    *,
    max_bytes: int,
    max_count: int,
) -> tuple[list[ArtifactRef], list[SkippedFile]]:
    """Save the files at `paths` (sizes from `snapshot`); too large or too many are skipped."""
    saved: list[ArtifactRef] = []
    skipped: list[SkippedFile] = []
    for path in paths:
        size = snapshot.files[path][0]
        if size > max_bytes:
            reason = f"{size:,} bytes is over the {max_bytes:,} byte limit for saved files"
            skipped.append(SkippedFile(path, reason))
        elif len(saved) >= max_count:
            skipped.append(SkippedFile(path, f"only {max_count} files are saved per run"))
        else:
            try:
                data = await sandbox.files.read_bytes(path)
            except FileAccessError as exc:  # removed or replaced by a link since the listing
                skipped.append(SkippedFile(path, str(exc)))
                continue
            name = posixpath.basename(path)
            saved.append(await sink.save(name, data, media_type_for(path)))
    return saved, skipped
