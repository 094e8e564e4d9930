"""`AnalystClient`: the typed async client of the REST + SSE API.

Payloads are the API's own JSON (dicts shaped like the OpenAPI schemas: `ConversationOut`,
`ConversationDetailOut`, `FileOut`, `AssistantOut`); every failure is an `AnalystAPIError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from sandbox_analyst.client.errors import STREAM_BROKEN, AnalystAPIError
from sandbox_analyst.client.events import TurnEvent, parse_event_stream
from sandbox_analyst.client.uploads import FileUploadBody, Progress

DEFAULT_ASSISTANT_NAME = "Analyst"
# Reads may wait long: a turn's stream sends a keep-alive every few seconds, but a big
# download or a slow upload acknowledgement can take a while on a busy server.
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)


class AnalystClient:
    """`async with AnalystClient("http://127.0.0.1:8000", api_key="sa_...") as client:`.
    Without `api_key` no credentials are sent (a single-user server needs none)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            # A plain-HTTP server (the embedded one of `analyst chat`) has no certificate to
            # check: not loading the CA bundle spares 35-75 ms. Redirects are not followed, so
            # no request of this client can end up on TLS unverified.
            verify=not self.base_url.startswith("http://"),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def me(self) -> dict[str, Any]:
        return await self._json("GET", "/api/me")

    async def list_assistants(self) -> list[dict[str, Any]]:
        return await self._json("GET", "/api/assistants")

    async def default_assistant(self) -> dict[str, Any]:
        """My assistant named "Analyst", created (private, default settings) if I have none."""
        for _ in range(2):
            mine = await self._json(
                "GET", "/api/assistants", params={"mine": "true", "q": DEFAULT_ASSISTANT_NAME}
            )
            found = [a for a in mine if a["name"] == DEFAULT_ASSISTANT_NAME]
            if found:
                return found[0]
            try:
                return await self._json(
                    "POST", "/api/assistants", json={"name": DEFAULT_ASSISTANT_NAME}
                )
            except AnalystAPIError as exc:
                # Another client created it between our look and our create: look again.
                if exc.status != 409:
                    raise
        raise AnalystAPIError(409, "conflict", "could not create the default assistant")

    async def create_conversation(
        self, title: str = "", assistant_id: str | None = None
    ) -> dict[str, Any]:
        """A new conversation with `assistant_id`, or with `default_assistant()`."""
        if assistant_id is None:
            assistant_id = (await self.default_assistant())["id"]
        body = {"assistant_id": assistant_id, "title": title}
        return await self._json("POST", "/api/conversations", json=body)

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        """The conversation with its messages (tool calls, tool results, artifact ids)."""
        return await self._json("GET", f"/api/conversations/{conversation_id}")

    async def upload_file(
        self,
        path: Path,
        conversation_id: str | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Upload `path`, streamed from disk; `progress(sent_bytes, total_bytes)` follows it."""
        body = FileUploadBody(Path(path), progress)
        params = {"conversation_id": conversation_id} if conversation_id else None
        return await self._json(
            "POST", "/api/files", params=params, content=body.chunks(), headers=body.headers
        )

    async def file_info(self, file_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/api/files/{file_id}")

    async def download(self, file_id: str) -> bytes:
        response = await self._send("GET", f"/api/files/{file_id}/content")
        return response.content

    async def ask(
        self, conversation_id: str, content: str, file_ids: Sequence[str] = ()
    ) -> AsyncIterator[TurnEvent]:
        """Run one turn and yield its events as they happen, `message_end` last. Leaving the
        loop early closes the stream, which cancels the turn on the server."""
        request = self._http.build_request(
            "POST",
            f"/api/conversations/{conversation_id}/messages",
            json={"content": content, "file_ids": list(file_ids)},
            headers={"Accept": "text/event-stream"},
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise AnalystAPIError.unreachable(self.base_url, exc) from exc
        try:
            if response.status_code != 200:
                await response.aread()
                raise AnalystAPIError.from_response(response)
            try:
                async for event in parse_event_stream(response.aiter_lines()):
                    yield event
            except httpx.TransportError as exc:
                raise AnalystAPIError(
                    0, STREAM_BROKEN, f"the answer's stream broke off: {exc}"
                ) from exc
        finally:
            await response.aclose()

    async def cancel(self, conversation_id: str) -> None:
        """Stop the conversation's running turn (nothing happens if none runs)."""
        await self._json("POST", f"/api/conversations/{conversation_id}/cancel")

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._send(method, path, **kwargs)).json()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise AnalystAPIError.unreachable(self.base_url, exc) from exc
        if response.is_error:
            raise AnalystAPIError.from_response(response)
        return response
