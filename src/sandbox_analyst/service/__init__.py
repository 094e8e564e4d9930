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
    PUBLIC_ERROR_TYPES,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PublicError,
    ServiceError,
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
from sandbox_analyst.service.files import FileContent, FileService, SignedLink
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.services import Services
from sandbox_analyst.service.signing import UrlSigner
from sandbox_analyst.service.users import CreatedKey, UserService

__all__ = [
    "PUBLIC_ERROR_TYPES",
    "AssistantCreate",
    "AssistantService",
    "AssistantUpdate",
    "Conflict",
    "ConversationDetail",
    "ConversationService",
    "CreatedKey",
    "FileContent",
    "FileLinkMatch",
    "FileService",
    "Forbidden",
    "MessageRole",
    "MessageStatus",
    "NotFound",
    "PayloadTooLarge",
    "Principal",
    "PublicError",
    "SandboxCloser",
    "ServiceError",
    "Services",
    "SignedLink",
    "Unauthorized",
    "UnsupportedMediaType",
    "UrlSigner",
    "UserService",
    "ValidationError",
    "content_path",
    "content_url",
    "file_id_of",
    "file_links_in",
    "public_error",
    "signed_content_url",
]
