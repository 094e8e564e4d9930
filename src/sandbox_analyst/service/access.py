"""Who may do what — the only module that decides.

- Owners may do everything to their own objects.
- Others may read (and chat with) public assistants but never modify them; private
  assistants, other people's conversations, messages, files, artifacts and tasks do not exist for
  them: the answer is NotFound, never Forbidden, so existence does not leak.
- Admins may do everything.
- Publishing an assistant makes the assistant visible, never its owner's conversations.
- Database connections: their owner uses them; a shared one (only an admin may share) is
  usable by everyone, changed only by its owner or an admin. A turn may use the connections
  its *conversation's owner* may use, whoever owns the assistant.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_

from sandbox_analyst.service.errors import Forbidden, NotFound
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.store import Assistant, Conversation, DatabaseConnection, FileRecord, Task


def _owns(principal: Principal, obj: Any) -> bool:
    return principal.is_admin or obj.owner_id == principal.user_id


def can_read_assistant(principal: Principal, assistant: Assistant) -> bool:
    return _owns(principal, assistant) or assistant.visibility == "public"


def ensure_can_read_assistant(principal: Principal, assistant: Assistant | None) -> Assistant:
    if assistant is None or not can_read_assistant(principal, assistant):
        raise NotFound("assistant not found")
    return assistant


def ensure_can_modify_assistant(principal: Principal, assistant: Assistant | None) -> Assistant:
    assistant = ensure_can_read_assistant(principal, assistant)
    if not _owns(principal, assistant):
        raise Forbidden("only the owner of an assistant may change it")
    return assistant


def ensure_owns_conversation(
    principal: Principal, conversation: Conversation | None
) -> Conversation:
    if conversation is None or not _owns(principal, conversation):
        raise NotFound("conversation not found")
    return conversation


def ensure_owns_file(principal: Principal, record: FileRecord | None) -> FileRecord:
    if record is None or not _owns(principal, record):
        raise NotFound("file not found")
    return record


def ensure_owns_task(principal: Principal, task: Task | None) -> Task:
    if task is None or not _owns(principal, task):
        raise NotFound("task not found")
    return task


def visible_assistants(principal: Principal) -> ColumnElement[bool]:
    """Filter for the assistants `principal` may list: their own and public ones (admins
    list the same, so lists stay personal; they may still open any assistant by id)."""
    return or_(Assistant.owner_id == principal.user_id, Assistant.visibility == "public")


def owned_by(
    principal: Principal, model: type[Conversation] | type[FileRecord] | type[Task]
) -> Any:
    """Filter for the conversations/files/tasks `principal` lists: always only their own."""
    return model.owner_id == principal.user_id


def usable_connections(user_id: str) -> ColumnElement[bool]:
    """Filter for the connections a user may use: their own and the shared ones."""
    return or_(DatabaseConnection.owner_id == user_id, DatabaseConnection.shared.is_(True))


def ensure_can_use_connection(
    principal: Principal, connection: DatabaseConnection | None
) -> DatabaseConnection:
    if connection is None or not (_owns(principal, connection) or connection.shared):
        raise NotFound("connection not found")
    return connection


def ensure_can_modify_connection(
    principal: Principal, connection: DatabaseConnection | None
) -> DatabaseConnection:
    connection = ensure_can_use_connection(principal, connection)
    if not _owns(principal, connection):
        raise Forbidden("only the owner of a shared connection (or an admin) may change it")
    return connection


def ensure_can_share_connection(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only an admin may share a connection with everyone", field="shared")


def ensure_can_open_database_files(principal: Principal) -> None:
    """A file database (SQLite, DuckDB) is a file on the server: only an admin may name one,
    or anyone could read any file the server can."""
    if not principal.is_admin:
        raise Forbidden(
            "only an admin may add a connection to a database file on the server (SQLite, "
            "DuckDB); ask one to add it as a shared connection",
            field="url",
        )


def ensure_can_manage_mcp_servers(principal: Principal) -> None:
    """A stdio MCP server is a command run on the server host with the server's rights, and
    an HTTP one is reached from inside its network: only an admin may register either."""
    if not principal.is_admin:
        raise Forbidden("only an admin may register, test or remove MCP servers")
