"""A typed async client of the Sandbox Analyst API, and the whole service embedded in the
caller's event loop for commands that need no separate server.

    async with embedded_server(settings) as server, AnalystClient(server.url) as client:
        conversation = await client.create_conversation("sales")
        upload = await client.upload_file(Path("sales.csv"), conversation["id"])
        async for event in client.ask(conversation["id"], "Plot sales by month"):
            ...
"""

from sandbox_analyst.client.client import DEFAULT_ASSISTANT_NAME, AnalystClient
from sandbox_analyst.client.embedded import EmbeddedServer, embedded_server
from sandbox_analyst.client.errors import STREAM_BROKEN, AnalystAPIError
from sandbox_analyst.client.events import TurnEvent

__all__ = [
    "DEFAULT_ASSISTANT_NAME",
    "STREAM_BROKEN",
    "AnalystAPIError",
    "AnalystClient",
    "EmbeddedServer",
    "TurnEvent",
    "embedded_server",
]
