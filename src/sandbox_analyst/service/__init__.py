"""The service layer: what people may do with assistants, conversations and files, and the
only place that decides who may do what (`service.access`)."""

from sandbox_analyst.service.assistants import (
    AssistantCreate,
    AssistantService,
    AssistantUpdate,
)
from sandbox_analyst.service.conversations import (
    ConversationDetail,
    ConversationService,
    MessageRole,
    MessageStatus,
    SandboxCloser,
)
from sandbox_analyst.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    StorageFull,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from sandbox_analyst.service.files import FileContent, FileService, SignedLink
from sandbox_analyst.service.packages import InstallOutcome, PackageAsk, PackageService
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.services import Services
from sandbox_analyst.service.signing import UrlSigner
from sandbox_analyst.service.users import CreatedKey, UserService

__all__ = [
    "AssistantCreate",
    "AssistantService",
    "AssistantUpdate",
    "Conflict",
    "ConversationDetail",
    "ConversationService",
    "CreatedKey",
    "FileContent",
    "FileService",
    "Forbidden",
    "InstallOutcome",
    "MessageRole",
    "MessageStatus",
    "NotFound",
    "PackageAsk",
    "PackageService",
    "PayloadTooLarge",
    "Principal",
    "SandboxCloser",
    "ServiceError",
    "Services",
    "SignedLink",
    "StorageFull",
    "Unauthorized",
    "UnsupportedMediaType",
    "UrlSigner",
    "UserService",
    "ValidationError",
]
