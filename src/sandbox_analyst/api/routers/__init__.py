"""The REST API's routers, one per resource."""

from sandbox_analyst.api.routers import assistants, chat, conversations, files, system

ROUTERS = [system.router, assistants.router, conversations.router, chat.router, files.router]

__all__ = ["ROUTERS"]
