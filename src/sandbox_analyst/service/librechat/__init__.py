"""LibreChat's Code Interpreter API on our sandboxes: sessions of files owned by their caller,
executions in a fresh or kept sandbox, and the files they return. The wire is `api.librechat`."""

from sandbox_analyst.service.librechat.errors import ProfileMismatch, UnsupportedLanguage
from sandbox_analyst.service.librechat.files import LibreChatFiles, StoredFile, upload_name
from sandbox_analyst.service.librechat.identity import (
    ID_LENGTH,
    LibreChatCaller,
    is_librechat_id,
    new_librechat_id,
)
from sandbox_analyst.service.librechat.service import (
    ExecOutcome,
    ExecRequest,
    InputRef,
    LibreChatService,
)

__all__ = [
    "ID_LENGTH",
    "ExecOutcome",
    "ExecRequest",
    "InputRef",
    "LibreChatCaller",
    "LibreChatFiles",
    "LibreChatService",
    "ProfileMismatch",
    "StoredFile",
    "UnsupportedLanguage",
    "is_librechat_id",
    "new_librechat_id",
    "upload_name",
]
