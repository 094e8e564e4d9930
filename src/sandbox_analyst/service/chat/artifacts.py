"""Where the agent's artifacts go: files of kind "artifact" in the conversation, each with a
stable URL the final answer can link to.

An artifact that cannot be stored (the server's storage is full, or its blob store cannot be
reached) is not an error of the turn: the model is told (`ArtifactNotSaved`, in its
observation) and so is the user (`on_not_saved`, which the chat service turns into an error
event of the turn), and the turn goes on.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox_analyst.agent import ArtifactNotSaved, ArtifactRef, ArtifactUsage
from sandbox_analyst.service.errors import StorageFull
from sandbox_analyst.service.file_links import content_url
from sandbox_analyst.service.files import FileService
from sandbox_analyst.store import BlobStoreUnavailable


class FileArtifactSink:
    """Implements the agent's `ArtifactSink` on the `FileService`."""

    def __init__(
        self,
        files: FileService,
        *,
        owner_id: str,
        conversation_id: str,
        public_url: str | None = None,
        on_not_saved: Callable[[str], None] | None = None,
    ) -> None:
        self._files = files
        self._on_not_saved = on_not_saved
        self._owner_id = owner_id
        self._conversation_id = conversation_id
        self._public_url = public_url
        # What `saved_names` and `saved_usage` report, read once (a turn asks for both at
        # its start) and read again after a save.
        self._saved: tuple[list[str], ArtifactUsage] | None = None

    async def save(self, name: str, data: bytes, media_type: str) -> ArtifactRef:
        self._saved = None
        try:
            record = await self._files.create_artifact(
                self._owner_id, self._conversation_id, name, data, media_type
            )
        except (StorageFull, BlobStoreUnavailable) as exc:
            message = exc.message if isinstance(exc, StorageFull) else str(exc)
            if self._on_not_saved is not None:
                self._on_not_saved(message)
            raise ArtifactNotSaved(message) from None
        return ArtifactRef(
            file_id=record.id,
            name=record.name,
            url=content_url(record.id, self._public_url),
            media_type=record.media_type,
            size=record.size,
        )

    async def saved_names(self) -> list[str]:
        names, _usage = await self._saved_artifacts()
        return list(names)

    async def saved_usage(self) -> ArtifactUsage:
        _names, usage = await self._saved_artifacts()
        return usage

    async def _saved_artifacts(self) -> tuple[list[str], ArtifactUsage]:
        if self._saved is None:
            self._saved = await self._files.saved_artifacts(self._owner_id, self._conversation_id)
        return self._saved
