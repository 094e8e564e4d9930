"""The service layer: what people may do with assistants, conversations, files and chat turns,
and the only place that decides who may do what (`service.access`).

Front ends (`api`, `cli`) use what this package exports and nothing deeper: the services, a
chat turn and the events it streams (the agent's own event types are re-exported here), the
errors with the code and HTTP status each declares (`public_error`), and links to stored files.
"""

from sandbox_analyst.service.assistants import (
    AssistantCreate,
    AssistantService,
    AssistantUpdate,
    Visibility,
)
from sandbox_analyst.service.chat import (
    HANDOFF_PREFIX,
    ArtifactEvent,
    ArtifactRef,
    ChatEvent,
    ChatService,
    ChatTurn,
    ErrorCode,
    ErrorEvent,
    HandoffEvent,
    MessageEndEvent,
    MessageStartEvent,
    ResultEvent,
    SandboxRestoredEvent,
    StderrEvent,
    StdoutEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
    TurnOutcome,
)
from sandbox_analyst.service.conversations import (
    ConversationDetail,
    ConversationService,
    MessageRole,
    MessageStatus,
    SandboxCloser,
)
from sandbox_analyst.service.errors import (
    PUBLIC_ERROR_TYPES,
    Conflict,
    Forbidden,
    NotFound,
    OnAnotherReplica,
    PayloadTooLarge,
    PublicError,
    ServiceError,
    StorageFull,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
    public_error,
)
from sandbox_analyst.service.file_links import (
    FileLinkMatch,
    content_path,
    content_url,
    file_id_of,
    file_links_in,
    signed_content_url,
)
from sandbox_analyst.service.filenames import content_disposition
from sandbox_analyst.service.files import FileContent, FileKind, FileService, SignedLink
from sandbox_analyst.service.notebooks import ExportedFile, NotebookService
from sandbox_analyst.service.packages import InstallOutcome, PackageAsk, PackageService
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.services import Services
from sandbox_analyst.service.signing import UrlSigner
from sandbox_analyst.service.team_config import (
    Mode,
    RoleConfig,
    TeamConfig,
    default_team_config,
)
from sandbox_analyst.service.text import Title
from sandbox_analyst.service.usage import UsageService, UserUsage
from sandbox_analyst.service.users import CreatedKey, UserService

__all__ = [
    "HANDOFF_PREFIX",
    "PUBLIC_ERROR_TYPES",
    "ArtifactEvent",
    "ArtifactRef",
    "AssistantCreate",
    "AssistantService",
    "AssistantUpdate",
    "ChatEvent",
    "ChatService",
    "ChatTurn",
    "Conflict",
    "ConversationDetail",
    "ConversationService",
    "CreatedKey",
    "ErrorCode",
    "ErrorEvent",
    "ExportedFile",
    "FileContent",
    "FileKind",
    "FileLinkMatch",
    "FileService",
    "Forbidden",
    "HandoffEvent",
    "InstallOutcome",
    "MessageEndEvent",
    "MessageRole",
    "MessageStartEvent",
    "MessageStatus",
    "Mode",
    "NotFound",
    "NotebookService",
    "OnAnotherReplica",
    "PackageAsk",
    "PackageService",
    "PayloadTooLarge",
    "Principal",
    "PublicError",
    "ResultEvent",
    "RoleConfig",
    "SandboxCloser",
    "SandboxRestoredEvent",
    "ServiceError",
    "Services",
    "SignedLink",
    "StderrEvent",
    "StdoutEvent",
    "StorageFull",
    "TeamConfig",
    "Title",
    "TokenEvent",
    "ToolCallEvent",
    "ToolResultEvent",
    "TurnOutcome",
    "Unauthorized",
    "UnsupportedMediaType",
    "UrlSigner",
    "UsageService",
    "UserService",
    "UserUsage",
    "ValidationError",
    "Visibility",
    "content_disposition",
    "content_path",
    "content_url",
    "default_team_config",
    "file_id_of",
    "file_links_in",
    "public_error",
    "signed_content_url",
]
