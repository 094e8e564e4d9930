"""The relational model: users, API keys, assistants, conversations, messages, files, the
append-only execution log, and the server processes running turns.

Timestamps are timezone-aware UTC everywhere (SQLite stores them naive; `UTCDateTime` puts the
zone back on the way out). JSON columns hold small structured values (tool calls, usage).
"""

from sandbox_analyst.store.models.base import Base, UTCDateTime, utcnow
from sandbox_analyst.store.models.conversations import (
    Assistant,
    Conversation,
    Execution,
    FileRecord,
    Message,
    ServerProcess,
)
from sandbox_analyst.store.models.people import ApiKey, User, UserQuota
from sandbox_analyst.store.models.protocols import E2BSandbox, LibreChatFile, LibreChatSession
from sandbox_analyst.store.models.sandboxes import (
    EgressConnection,
    PackageInstall,
    PackageRequest,
    SandboxSession,
)
from sandbox_analyst.store.models.tasks import Task, TaskFile, TaskStep
from sandbox_analyst.store.models.tools import (
    DatabaseConnection,
    DatabaseQuery,
    McpServer,
    McpToolCall,
)

__all__ = [
    "ApiKey",
    "Assistant",
    "Base",
    "Conversation",
    "DatabaseConnection",
    "DatabaseQuery",
    "E2BSandbox",
    "EgressConnection",
    "Execution",
    "FileRecord",
    "LibreChatFile",
    "LibreChatSession",
    "McpServer",
    "McpToolCall",
    "Message",
    "PackageInstall",
    "PackageRequest",
    "SandboxSession",
    "ServerProcess",
    "Task",
    "TaskFile",
    "TaskStep",
    "UTCDateTime",
    "User",
    "UserQuota",
    "utcnow",
]
