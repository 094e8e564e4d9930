"""All services, built in one place from the settings: what the API app keeps on
`app.state.services` and the CLI uses directly.

The sandboxes (`ConversationSandboxes`: pool, zygote, sessions) are created here and started
from the event loop on first need or by `sandboxes.start()`; `stop()` ends them. Pass a
running `ConversationSandboxes` as `sandboxes=` to share one between several `Services`
(tests, benchmarks): it is then left running on `stop()`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Self

from sandbox_analyst.config import Settings
from sandbox_analyst.service.assistants import AssistantService
from sandbox_analyst.service.chat import ChatService
from sandbox_analyst.service.conversations import ConversationService, SandboxCloser
from sandbox_analyst.service.e2b import E2BSandboxService, ManagedSessions
from sandbox_analyst.service.files import FileService
from sandbox_analyst.service.sandboxes import ConversationSandboxes
from sandbox_analyst.service.signing import UrlSigner, load_or_create_secret
from sandbox_analyst.service.users import UserService
from sandbox_analyst.store import BlobStore, Database, LocalBlobStore


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    users: UserService
    assistants: AssistantService
    conversations: ConversationService
    files: FileService
    sandboxes: ConversationSandboxes
    chat: ChatService
    e2b: E2BSandboxService
    extras: dict[str, object] = field(default_factory=dict)
    owns_sandboxes: bool = True

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        blobs: BlobStore | None = None,
        sandboxes: SandboxCloser | None = None,
    ) -> Self:
        db = Database(settings.effective_database_url)
        blobs = blobs or LocalBlobStore(settings.data_dir / "blobs")
        secret = load_or_create_secret(settings.data_dir)
        signer = UrlSigner(secret)
        shared = sandboxes if isinstance(sandboxes, ConversationSandboxes) else None
        conversation_sandboxes = shared or ConversationSandboxes(
            settings.sandbox, settings.data_dir / "sandboxes"
        )
        assistants = AssistantService(db)
        conversations = ConversationService(db, blobs, sandboxes or conversation_sandboxes)
        files = FileService(
            db,
            blobs,
            signer,
            max_upload_bytes=settings.server.max_upload_mb * 1024 * 1024,
            public_url=settings.server.public_url,
        )
        return cls(
            settings=settings,
            db=db,
            blobs=blobs,
            users=UserService(db),
            assistants=assistants,
            conversations=conversations,
            files=files,
            sandboxes=conversation_sandboxes,
            chat=ChatService(
                settings,
                db,
                blobs,
                assistants=assistants,
                conversations=conversations,
                files=files,
                sandboxes=conversation_sandboxes,
            ),
            e2b=E2BSandboxService(
                db, ManagedSessions(conversation_sandboxes), settings.e2b, secret
            ),
            owns_sandboxes=shared is None,
        )

    async def start(self) -> None:
        """Migrate the database to the newest schema and connect."""
        await self.db.open()

    async def stop(self) -> None:
        await self.chat.shutdown()
        await self.e2b.shutdown()
        if self.owns_sandboxes:
            await self.sandboxes.shutdown()
        await self.db.close()

    @classmethod
    @asynccontextmanager
    async def running(cls, settings: Settings) -> AsyncIterator[Self]:
        """Started services for a one-off job (the CLI), stopped afterwards."""
        services = cls.from_settings(settings)
        await services.start()
        try:
            yield services
        finally:
            await services.stop()
