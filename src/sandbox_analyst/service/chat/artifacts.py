"""Where the agent's artifacts go: files of kind "artifact" in the conversation, each with a
stable URL the final answer can link to."""

from __future__ import annotations

from sandbox_analyst.agent import ArtifactRef
from sandbox_analyst.service.file_links import content_url
from sandbox_analyst.service.files import FileService


class FileArtifactSink:
    """Implements the agent's `ArtifactSink` on the `FileService`."""

    def __init__(
        self,
        files: FileService,
        *,
        owner_id: str,
        conversation_id: str,
        public_url: str | None = None,
    ) -> None:
        self._files = files
        self._owner_id = owner_id
        self._conversation_id = conversation_id
        self._public_url = public_url

    async def save(self, name: str, data: bytes, media_type: str) -> ArtifactRef:
        record = await self._files.create_artifact(
            self._owner_id, self._conversation_id, name, data, media_type
        )
        return ArtifactRef(
            file_id=record.id,
            name=record.name,
            url=content_url(record.id, self._public_url),
            media_type=record.media_type,
            size=record.size,
        )

    async def saved_names(self) -> list[str]:
        return await self._files.artifact_names(self._owner_id, self._conversation_id)
