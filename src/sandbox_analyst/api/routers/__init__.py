"""The REST API's routers, one per resource."""

from sandbox_analyst.api.routers import (
    admin,
    assistants,
    chat,
    conversations,
    exports,
    files,
    system,
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
    templates.router,
    ui_support.router,
    admin.router,
]

__all__ = ["ROUTERS"]
