"""The REST API's routers, one per resource."""

from sandbox_analyst.api.routers import (
    admin,
    assistants,
    chat,
    connections,
    conversations,
    egress,
    exports,
    files,
    mcp_servers,
    system,
    tasks,
    templates,
    ui_support,
)

ROUTERS = [
    system.router,
    assistants.router,
    conversations.router,
    exports.router,
    chat.router,
    files.router,
    tasks.router,
    templates.router,
    connections.router,
    mcp_servers.router,
    ui_support.router,
    admin.router,
    egress.router,
]

__all__ = ["ROUTERS"]
