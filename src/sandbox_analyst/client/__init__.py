"""A typed async client of the Sandbox Analyst API: plain HTTP, nothing of the server inside
(the server embedded in a command's own event loop is `sandbox_analyst.api.embedded_server`).

    async with AnalystClient(url, api_key) as client:
        conversation = await client.create_conversation("sales")
        upload = await client.upload_file(Path("sales.csv"), conversation["id"])
        async for event in client.ask(conversation["id"], "Plot sales by month"):
            ...
"""

from sandbox_analyst.client.client import DEFAULT_ASSISTANT_NAME, AnalystClient
from sandbox_analyst.client.errors import STREAM_BROKEN, AnalystAPIError
from sandbox_analyst.client.events import TurnEvent

__all__ = [
    "DEFAULT_ASSISTANT_NAME",
    "STREAM_BROKEN",
    "AnalystAPIError",
    "AnalystClient",
    "TurnEvent",
]
