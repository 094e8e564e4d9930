"""All services, built in one place from the settings: what the API app keeps on
`app.state.services` and the CLI uses directly.

The blob store is built here (`create_blob_store`, chosen by `storage.blobs`), and so is the
sandbox backend (`provider_for`, chosen by `sandbox.backend`) under a `SessionManager`,
started from the event loop on first need or by `sandboxes.start()`;
`stop()` ends it. Pass `provider=` one built (and perhaps started) earlier by `provider_for`,
for these services to own from then on, or a running `SessionManager` as `sessions=` to share
one backend between several `Services` (tests, benchmarks): `stop()` then ends only this one's
sessions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Self

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SandboxProvider, SessionManager, provider_for
from sandbox_analyst.sandbox.templates import TemplateCatalog
from sandbox_analyst.service.assistants import AssistantService
from sandbox_analyst.service.audit_retention import AuditRetention
from sandbox_analyst.service.chat import ChatService
from sandbox_analyst.service.chat.records import StoredSandboxIds
from sandbox_analyst.service.connections import ConnectionService
from sandbox_analyst.service.conversations import ConversationService
from sandbox_analyst.service.e2b import E2BSandboxService, ManagedSessions
from sandbox_analyst.service.egress_audit import EgressAudit
from sandbox_analyst.service.files import FileService
from sandbox_analyst.service.forks import ForkService
from sandbox_analyst.service.kernels import KernelService
from sandbox_analyst.service.librechat import LibreChatService
from sandbox_analyst.service.mcp_servers import McpServerService
from sandbox_analyst.service.notebooks import NotebookService
from sandbox_analyst.service.packages import PackageService
from sandbox_analyst.service.quotas import QuotaService
from sandbox_analyst.service.runners import TurnRunners
from sandbox_analyst.service.sandbox_time import SandboxTimeLog
from sandbox_analyst.service.sandboxes import ConversationSandboxes
from sandbox_analyst.service.secret_cipher import SecretCipher
from sandbox_analyst.service.signing import UrlSigner, load_or_create_secret
from sandbox_analyst.service.tasks import TaskService
from sandbox_analyst.service.usage import UsageService
from sandbox_analyst.service.users import UserService
from sandbox_analyst.store import BlobStore, Database, create_blob_store

logger = logging.getLogger(__name__)


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
    runners: TurnRunners
    e2b: E2BSandboxService
    librechat: LibreChatService
    kernels: KernelService
    templates: TemplateCatalog
    packages: PackageService
    tasks: TaskService
    connections: ConnectionService
    mcp_servers: McpServerService
    notebooks: NotebookService
    forks: ForkService
    usage: UsageService
    egress: EgressAudit
    sandbox_time: SandboxTimeLog
    audit: AuditRetention
    quotas: QuotaService
    extras: dict[str, object] = field(default_factory=dict)
    owns_blobs: bool = True  # made from the settings (closed by `stop`), not handed in

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        blobs: BlobStore | None = None,
        sessions: SessionManager | None = None,
        provider: SandboxProvider | None = None,
    ) -> Self:
        db = Database(settings.effective_database_url)
        owns_blobs = blobs is None
        blobs = blobs or create_blob_store(settings.storage, settings.data_dir)
        secret = load_or_create_secret(settings.data_dir)
        signer = UrlSigner(secret)
        owned = sessions is None
        templates = TemplateCatalog.from_settings(settings)
        egress = EgressAudit(db)
        if sessions is None:
            provider = provider or provider_for(settings, templates=templates)
            provider.record_egress_to(egress.record)
            sessions = SessionManager.from_settings(provider, settings.sandbox)
        runners = TurnRunners(
            db,
            heartbeat_s=settings.server.heartbeat_s,
            turn_timeout_s=settings.agent.turn_timeout,
            url=settings.server.replica_url,
        )
        conversation_sandboxes = ConversationSandboxes(
            sessions,
            code_timeout=settings.sandbox.timeout,
            ids=StoredSandboxIds(db, runner_id=runners.id),
            owns_sessions=owned,
        )
        cipher = SecretCipher.from_settings(settings)
        connections = ConnectionService(db, settings, cipher)
        mcp_servers = McpServerService(db, settings, cipher)
        quotas = QuotaService(db, settings, live_sessions=sessions.count)
        # Every front end's sessions (chat, E2B API, kernels, LibreChat, tasks) count against
        # the owner's own limit, where they have one.
        sessions.owner_limit = quotas.session_limit
        sandbox_time = SandboxTimeLog(db)
        sessions.observer = sandbox_time
        assistants = AssistantService(
            db, templates, connections, cipher=cipher, mcp_tools=mcp_servers
        )
        conversations = ConversationService(db, blobs, conversation_sandboxes)
        files = FileService(
            db,
            blobs,
            signer,
            max_upload_bytes=settings.server.max_upload_mb * 1024 * 1024,
            public_url=settings.server.public_url,
            quotas=quotas,
        )
        packages = PackageService(db, settings)
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
                runner_id=runners.id,
                packages=packages,
                replicas=runners,
                connections=connections,
                mcp_servers=mcp_servers,
                quotas=quotas,
            ),
            runners=runners,
            e2b=E2BSandboxService(db, ManagedSessions(sessions), settings.e2b, secret, templates),
            librechat=LibreChatService(
                db,
                blobs,
                sessions,
                settings.librechat,
                max_file_bytes=settings.server.max_upload_mb * 1024 * 1024,
            ),
            kernels=KernelService(sessions),
            templates=templates,
            packages=packages,
            tasks=TaskService(
                settings,
                db,
                blobs,
                sessions=sessions,
                assistants=assistants,
                templates=templates,
                replicas=runners,
            ),
            connections=connections,
            mcp_servers=mcp_servers,
            notebooks=NotebookService(db, blobs, conversations, templates),
            forks=ForkService(db, blobs, conversation_sandboxes, assistants, quotas),
            usage=UsageService(db),
            egress=egress,
            sandbox_time=sandbox_time,
            audit=AuditRetention(db, settings.audit),
            quotas=quotas,
            owns_blobs=owns_blobs,
        )

    async def start(self) -> None:
        """Migrate the database to the newest schema and connect; register this process as
        one that runs turns, marking those (and the tasks) whose process has ended as
        interrupted."""
        await self.db.open()
        await self.runners.start()
        await self.tasks.sweep()

    async def stop(self) -> None:
        await self.audit.stop()
        await self.tasks.shutdown()
        await self.chat.shutdown()
        await self.e2b.shutdown()
        await self.librechat.shutdown()
        await self.kernels.shutdown()
        try:
            await self.runners.stop()
        except Exception:
            # Its row stays; other processes see it gone (pid, or heartbeat) as after a crash.
            logger.exception("could not remove this server process's entry")
        await self.sandboxes.shutdown()
        sessions = self.sandboxes.sessions
        if sessions.owner_limit == self.quotas.session_limit:  # a shared manager outlives us
            sessions.owner_limit = None
        if sessions.observer is self.sandbox_time:
            sessions.observer = None
        await self.sandbox_time.close()  # the sessions ended above are logged
        await self.egress.flush()  # the sessions' last connections recorded themselves
        self.packages.close()
        await self.db.close()
        if self.owns_blobs:
            await self.blobs.close()

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
