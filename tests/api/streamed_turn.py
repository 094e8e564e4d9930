"""A chat turn asked over SSE from a thread of its own, against a server in another process
(`tests.conftest.LiveServer`), so that a test can act on the server while the turn runs."""

from __future__ import annotations

import queue
import threading

import httpx

from tests.api.conftest import bearer
from tests.conftest import LiveServer

PATIENCE_S = 60  # waits are bounded by this, never measured


class StreamedTurn:
    """The turn's SSE lines, readable as they come; the stream simply ends if the server
    is killed meanwhile."""

    def __init__(
        self, server: LiveServer, key: str, conversation_id: str, content: str = "Run the long job"
    ) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(
            target=self._stream,
            args=(server.base_url, key, conversation_id, content),
            daemon=True,
        )
        self._thread.start()

    def _stream(self, base_url: str, key: str, conversation_id: str, content: str) -> None:
        try:
            with httpx.stream(
                "POST",
                f"{base_url}/api/conversations/{conversation_id}/messages",
                json={"content": content},
                headers={**bearer(key), "Accept": "text/event-stream"},
                timeout=PATIENCE_S * 10,
            ) as response:
                for line in response.iter_lines():
                    self.lines.put(line)
        except httpx.TransportError:
            pass  # the server went away mid-stream: what a crash test does on purpose
        finally:
            self.lines.put(None)

    def wait_for(self, text: str) -> list[str]:
        """The lines up to the first containing `text`."""
        seen: list[str] = []
        while (line := self.lines.get(timeout=PATIENCE_S)) is not None:
            seen.append(line)
            if text in line:
                return seen
        raise AssertionError(f"the stream ended before {text!r}: {seen}")

    def rest(self) -> list[str]:
        """The lines until the stream ends."""
        seen: list[str] = []
        while (line := self.lines.get(timeout=PATIENCE_S)) is not None:
            seen.append(line)
        self._thread.join(PATIENCE_S)
        return seen
