"""The REST API's routers, one per resource."""

from sandbox_analyst.api.routers import (
    assistants,
    chat,
    connections,
    conversations,
    files,
    system,
    tasks,
    templates,
    ui_support,
)

ROUTERS = [
    system.router,
    assistants.router,
    conversations.router,
    chat.router,
    files.router,
    tasks.router,
    templates.router,
    connections.router,
    ui_support.router,
]

__all__ = ["ROUTERS"]
