"""
title: Sandbox Analyst
author: Sandbox Analyst
version: 0.1.0
license: MIT
description: Sandbox Analyst's assistants as models; attached files reach the sandbox.
"""

# An Open WebUI Function of type Pipe: paste this file under Admin Panel > Functions > New
# Function (or import it), enable it, then set its valves (the gear icon): SERVER_URL and
# API_KEY at least. Each assistant of that key appears as a model (a "manifold"), or only the
# one named in ASSISTANT. It needs nothing beyond what Open WebUI ships (pydantic, httpx).
#
# Per request: the chat's conversation is found or made on our server under the key
# `open-webui:<assistant>:<chat id>` (POST /api/conversations with external_key); files
# attached to the message are uploaded to it (once: same name and content are not sent
# again); the question runs as a turn (POST /api/conversations/{id}/messages, server-sent
# events), written out as it streams. Open WebUI's own side requests (titles, tags,
# follow-ups: `__task__`) go to the plain model on /v1 and start no turn.

import asyncio
import base64
import binascii
import hashlib
import inspect
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from pydantic import BaseModel, Field

Emitter = Callable[[dict[str, Any]], Awaitable[None]]

_FILE_LINK = re.compile(
    r"(?:https?://[^\s()<>\"']*?)?/api/files/([A-Za-z0-9_-]{1,64})/content(?:\?sig=[^\s)\"']*)?"
)
_WORD_END = re.compile(r"\s")
# Open WebUI's retrieval template wraps the user's words when a file is attached; the file
# itself is uploaded here, so only the words are sent.
_RAG_TASK = re.compile(
    r"^\s*### Task:\s*Respond to the user query using the provided context", re.I
)
_RAG_ENDS = ("</context>", "</attached_files>")
_OUTPUT_CHARS = 1500
_TITLE_CHARS = 80


class AnalystError(Exception):
    """Something to tell the chat's user, in their words."""


class Pipe:
    class Valves(BaseModel):
        SERVER_URL: str = Field(
            "http://localhost:8000",
            description="Sandbox Analyst as Open WebUI's server reaches it.",
        )
        API_KEY: str = Field("", description="A Sandbox Analyst API key (analyst keys create).")
        ASSISTANT: str = Field(
            "", description="Offer only this assistant (its id or name); empty: all of them."
        )
        PUBLIC_URL: str = Field(
            "",
            description="Sandbox Analyst as users' browsers reach it, for chart links; "
            "empty: SERVER_URL.",
        )
        TASK_MODEL: str = Field(
            "analyst-plain",
            description="The /v1 model for Open WebUI's titles, tags and follow-ups.",
        )
        BUSY_WAIT_S: float = Field(
            120, description="Seconds to wait for this chat's previous answer to finish."
        )
        TIMEOUT_S: float = Field(900, description="Longest silence from the server, seconds.")
        LINK_DAYS: int = Field(7, ge=1, le=30, description="Days chart links keep working.")

    class UserValves(BaseModel):
        API_KEY: str = Field("", description="Your own Sandbox Analyst API key (optional).")

    def __init__(self) -> None:
        self.name = "Sandbox Analyst: "
        self.valves = self.Valves()

    async def pipes(self) -> list[dict[str, str]]:
        """One model per assistant the key may use (Open WebUI calls this for its list)."""
        try:
            async with self._client(None) as http:
                return [{"id": a["id"], "name": a["name"]} for a in await self._assistants(http)]
        except httpx.HTTPError as exc:
            return [
                {
                    "id": "unavailable",
                    "name": f"unavailable ({_unreachable(exc, self.valves.SERVER_URL)})",
                }
            ]
        except AnalystError as exc:
            return [{"id": "unavailable", "name": f"unavailable ({exc})"}]

    async def pipe(
        self,
        body: dict[str, Any],
        __user__: dict[str, Any] | None = None,
        __chat_id__: str | None = None,
        __files__: list[dict[str, Any]] | None = None,
        __event_emitter__: Emitter | None = None,
        __task__: str | None = None,
        __metadata__: dict[str, Any] | None = None,
    ) -> str | AsyncIterator[str]:
        user_key = _user_key(__user__)
        if __task__:
            return await self._task(body, user_key)
        chat_id = __chat_id__ or (__metadata__ or {}).get("chat_id")
        files = __files__ if __files__ is not None else (__metadata__ or {}).get("files") or []
        emit = __event_emitter__ or _no_events
        return self._answer(body, user_key, chat_id, files, emit)

    # --- Open WebUI's side requests -------------------------------------------------------

    async def _task(self, body: dict[str, Any], user_key: str | None) -> str:
        request = {
            "model": self.valves.TASK_MODEL,
            "messages": body.get("messages", []),
            "stream": False,
        }
        if body.get("max_tokens"):
            request["max_tokens"] = body["max_tokens"]
        try:
            async with self._client(user_key) as http:
                response = await _checked(await http.post("/v1/chat/completions", json=request))
        except (AnalystError, httpx.HTTPError):
            return ""  # a chat without a generated title is no reason to show an error
        return response.json()["choices"][0]["message"]["content"] or ""

    # --- A question -----------------------------------------------------------------------

    async def _answer(
        self,
        body: dict[str, Any],
        user_key: str | None,
        chat_id: str | None,
        files: list[dict[str, Any]],
        emit: Emitter,
    ) -> AsyncIterator[str]:
        text, images = _last_user_message(body.get("messages", []))
        try:
            async with self._client(user_key) as http:
                assistant_id = await self._assistant_id(http, body.get("model", ""))
                uploads = [*await _open_webui_files(files), *images]
                content = text or _uploaded(uploads)
                conversation_id = await self._conversation(http, assistant_id, chat_id, content)
                file_ids = await self._upload(http, conversation_id, uploads, emit)
                writer = _AnswerWriter(self._signer(http), emit)
                events = self._turn(http, conversation_id, content, file_ids, emit)
                async for event, data in events:
                    yield await writer.write(event, data)
                yield await writer.close()
        except (AnalystError, httpx.HTTPError) as exc:
            message = (
                _unreachable(exc, self.valves.SERVER_URL)
                if isinstance(exc, httpx.HTTPError)
                else str(exc)
            )
            await emit(_status(f"Sandbox Analyst: {message}", done=True))
            yield f"\n\n**Sandbox Analyst:** {message}\n"

    def _client(self, user_key: str | None) -> httpx.AsyncClient:
        key = user_key or self.valves.API_KEY
        return httpx.AsyncClient(
            base_url=self.valves.SERVER_URL.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=httpx.Timeout(self.valves.TIMEOUT_S, connect=10),
        )

    async def _assistants(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        assistants = (await _checked(await http.get("/api/assistants"))).json()
        wanted = self.valves.ASSISTANT.strip()
        if not wanted:
            return assistants
        chosen = [a for a in assistants if wanted in (a["id"], a["name"])] or [
            a for a in assistants if a["name"].lower() == wanted.lower()
        ]
        if not chosen:
            raise AnalystError(f"no assistant named {wanted!r} for this API key")
        return chosen[:1]

    async def _assistant_id(self, http: httpx.AsyncClient, model: str) -> str:
        """The assistant a manifold model id (`<function id>.<assistant id>`) names."""
        _, _, wanted = model.partition(".")
        assistants = await self._assistants(http)
        for assistant in assistants:
            if assistant["id"] == wanted:
                return assistant["id"]
        if not assistants:
            raise AnalystError("this API key has no assistant; create one in Sandbox Analyst")
        if self.valves.ASSISTANT.strip() or not wanted:
            return assistants[0]["id"]
        raise AnalystError("this model's assistant is gone; pick another model")

    async def _conversation(
        self, http: httpx.AsyncClient, assistant_id: str, chat_id: str | None, content: str
    ) -> str:
        request: dict[str, Any] = {"assistant_id": assistant_id, "title": _title(content)}
        if chat_id:
            request["external_key"] = f"open-webui:{assistant_id}:{chat_id}"
        response = await _checked(await http.post("/api/conversations", json=request))
        return response.json()["id"]

    async def _upload(
        self,
        http: httpx.AsyncClient,
        conversation_id: str,
        uploads: "list[_Upload]",
        emit: Emitter,
    ) -> list[str]:
        """Uploads the files the conversation does not hold yet; their ids, to attach."""
        if not uploads:
            return []
        params = {"conversation_id": conversation_id}
        held = await _checked(await http.get("/api/files", params=params))
        present = {(f["name"], f["sha256"]) for f in held.json()}
        file_ids = []
        for upload in uploads:
            data = upload.read()
            if (upload.name, hashlib.sha256(data).hexdigest()) in present:
                continue
            await emit(_status(f"Uploading {upload.name}…"))
            response = await http.post(
                "/api/files", files={"file": (upload.name, data, upload.media_type)}
            )
            file_ids.append((await _checked(response)).json()["id"])
        return file_ids

    async def _turn(
        self,
        http: httpx.AsyncClient,
        conversation_id: str,
        content: str,
        file_ids: list[str],
        emit: Emitter,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The turn's server-sent events; waits while this chat's previous answer runs."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.valves.BUSY_WAIT_S
        path = f"/api/conversations/{conversation_id}/messages"
        request = {"content": content, "file_ids": file_ids}
        while True:
            async with http.stream(
                "POST", path, json=request, headers={"Accept": "text/event-stream"}
            ) as response:
                if response.status_code == 409 and loop.time() < deadline:
                    await response.aread()
                    await emit(_status("Waiting for the previous answer in this chat…"))
                    await asyncio.sleep(1)
                    continue
                if response.status_code >= 400:
                    await response.aread()
                    for file_id in file_ids:  # uploaded for a turn that did not start
                        await http.delete(f"/api/files/{file_id}")
                    await _checked(response)
                async for item in _server_sent_events(response):
                    yield item
                return

    def _signer(self, http: httpx.AsyncClient) -> Callable[[str], Awaitable[str | None]]:
        public = (self.valves.PUBLIC_URL or self.valves.SERVER_URL).rstrip("/") + "/"
        ttl_s = self.valves.LINK_DAYS * 24 * 3600
        signed: dict[str, str | None] = {}

        async def sign(file_id: str) -> str | None:
            if file_id not in signed:
                response = await http.post(f"/api/files/{file_id}/link", params={"ttl_s": ttl_s})
                signed[file_id] = (
                    urljoin(public, response.json()["url"]) if response.is_success else None
                )
            return signed[file_id]

        return sign


@dataclass
class _Upload:
    name: str
    media_type: str
    read: Callable[[], bytes]


@dataclass
class _Step:
    number: int
    tool: str
    code: str | None
    output: list[str] = field(default_factory=list)


class _AnswerWriter:
    """The turn's events as the answer's markdown, with status events for each step."""

    def __init__(self, sign: Callable[[str], Awaitable[str | None]], emit: Emitter) -> None:
        self._sign = sign
        self._emit = emit
        self._held = ""  # the model's unfinished word (a link is never cut in two)
        self._steps: dict[str, _Step] = {}
        self._count = 0
        self._made: dict[str, tuple[str, str, str]] = {}  # file id -> name, url, media type
        self._linked: set[str] = set()

    async def write(self, event: str, data: dict[str, Any]) -> str:
        if event == "token":
            self._held += data.get("text", "")
            cut = max((m.end() for m in _WORD_END.finditer(self._held)), default=0)
            ready, self._held = self._held[:cut], self._held[cut:]
            return await self._linked_text(ready)
        if event == "tool_call":
            self._count += 1
            step = _Step(self._count, data.get("tool", ""), data.get("code"))
            self._steps[data.get("call_id", "")] = step
            doing = "Running code" if step.code is not None else f"Using {step.tool}"
            await self._emit(_status(f"{doing} (step {step.number})…"))
            return ""
        if event in ("stdout", "stderr") or (event == "result" and data.get("text")):
            step = self._steps.get(data.get("call_id", ""))
            if step is not None:
                step.output.append(data.get("text") or "")
            return ""
        if event == "artifact":
            url = await self._sign(data["id"])
            if url is not None:
                self._made[data["id"]] = (data.get("name", "file"), url, data.get("media_type", ""))
            return ""
        if event == "tool_result":
            return await self._step_done(data)
        if event == "error":
            return await self._block(f"**Error:** {data.get('message', 'the turn failed')}")
        if event == "sandbox_restored":
            note = f"The sandbox was restarted ({data.get('reason', 'it was lost')})."
            return await self._block(f"*{note}*")
        if event == "message_end":
            await self._emit(_status("Done", done=True))
        return ""

    async def close(self) -> str:
        """The held-back word, then the files the model did not show itself."""
        text = await self._linked_text(self._held)
        self._held = ""
        for file_id, (name, url, media_type) in self._made.items():
            if file_id not in self._linked:
                shown = (
                    f"![{name}]({url})" if media_type.startswith("image/") else f"[{name}]({url})"
                )
                text += f"\n\n{shown}"
        return text

    async def _step_done(self, data: dict[str, Any]) -> str:
        step = self._steps.pop(data.get("call_id", ""), None) or _Step(
            0, data.get("tool", ""), None
        )
        success = bool(data.get("success"))
        seconds = float(data.get("duration") or 0)
        verdict = "finished" if success else "failed"
        await self._emit(_status(f"Step {step.number} {verdict} ({seconds:.1f} s)"))
        output = "".join(step.output) if step.code is not None else data.get("observation", "")
        error = data.get("error")
        if error:
            output += "\n" + (
                error.get("traceback") or f"{error.get('name')}: {error.get('value')}"
            )
        what = "Python" if step.code is not None else step.tool
        mark = "" if success else " ✗"
        parts = [
            f"<details>\n<summary>Step {step.number}: {what}{mark} ({seconds:.1f} s)</summary>\n"
        ]
        if step.code is not None:
            parts.append(f"```python\n{step.code.rstrip()}\n```")
        if output.strip():
            parts.append(f"```text\n{_shortened(output.strip())}\n```")
        parts.append("</details>")
        return await self._block("\n".join(parts))

    async def _block(self, markdown: str) -> str:
        before = await self._linked_text(self._held)
        self._held = ""
        return f"{before}\n\n{markdown}\n\n"

    async def _linked_text(self, text: str) -> str:
        """`text` with each link to one of our files replaced by a signed, absolute one."""
        pieces, position = [], 0
        for match in _FILE_LINK.finditer(text):
            url = await self._sign(match.group(1))
            if url is None:
                continue
            self._linked.add(match.group(1))
            pieces += [text[position : match.start()], url]
            position = match.end()
        pieces.append(text[position:])
        return "".join(pieces)


async def _server_sent_events(
    response: httpx.Response,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    event, data = "", []
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].lstrip())
        elif not line and event:
            yield event, json.loads("\n".join(data) or "{}")
            event, data = "", []


def _last_user_message(messages: list[dict[str, Any]]) -> tuple[str, list[_Upload]]:
    """The user's words in the newest user message, and the images pasted into it."""
    message = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    content = message.get("content") or ""
    texts, images = [], []
    for part in content if isinstance(content, list) else [{"type": "text", "text": content}]:
        if part.get("type") == "text":
            texts.append(part.get("text", ""))
        elif part.get("type") == "image_url":
            image = _data_url_image(part.get("image_url", {}).get("url", ""), len(images) + 1)
            if image is not None:
                images.append(image)
    return _user_words("\n".join(texts)).strip(), images


def _user_words(text: str) -> str:
    if not _RAG_TASK.match(text):
        return text
    end = max((text.rfind(tag) + len(tag) for tag in _RAG_ENDS if tag in text), default=0)
    return text[end:].strip() or text


def _data_url_image(url: str, number: int) -> _Upload | None:
    header, _, payload = url.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        return None  # a link Open WebUI would have to fetch: left to the model's text
    media_type = header[len("data:") :].split(";")[0]
    try:
        data = base64.b64decode(payload, validate=True)
    except binascii.Error:
        return None
    extension = media_type.split("/")[1].split("+")[0]
    return _Upload(f"image-{number}.{extension}", media_type, lambda: data)


async def _open_webui_files(files: list[dict[str, Any]]) -> list[_Upload]:
    """The chat's attached files, read from Open WebUI's own storage."""
    uploads = []
    for item in files:
        if item.get("type", "file") != "file":
            continue  # knowledge collections, web pages: Open WebUI's retrieval handles those
        file_id = item.get("id") or (item.get("file") or {}).get("id")
        if file_id:
            uploads.append(await _stored_file(file_id, item.get("name")))
    return uploads


async def _stored_file(file_id: str, name: str | None) -> _Upload:
    # Open WebUI's own modules, there when this runs inside Open WebUI.
    from open_webui.models.files import Files
    from open_webui.storage.provider import Storage

    record = Files.get_file_by_id(file_id)
    if inspect.isawaitable(record):  # async in Open WebUI 0.12.4, sync in older releases
        record = await record
    if record is None or not record.path:
        raise AnalystError(f"the attached file {name or file_id} is no longer in Open WebUI")
    meta = record.meta or {}
    filename = Path(record.filename or name or file_id).name
    media_type = meta.get("content_type") or "application/octet-stream"
    # Storage may fetch the file from S3/GCS/Azure first: off the event loop.
    local = await asyncio.to_thread(Storage.get_file, record.path)
    return _Upload(filename, media_type, lambda: Path(local).read_bytes())


def _uploaded(uploads: list[_Upload]) -> str:
    if not uploads:
        raise AnalystError("the message is empty")
    return "I uploaded " + ", ".join(upload.name for upload in uploads) + "."


def _title(content: str) -> str:
    line = next((line.strip() for line in content.splitlines() if line.strip()), "")
    line = "".join(ch for ch in line if ch.isprintable())
    return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1].rstrip() + "…"


def _shortened(text: str) -> str:
    if len(text) <= _OUTPUT_CHARS:
        return text
    half = _OUTPUT_CHARS // 2
    return f"{text[:half]}\n… ({len(text) - 2 * half} characters left out) …\n{text[-half:]}"


def _user_key(user: dict[str, Any] | None) -> str | None:
    """The user's own key (`UserValves`), which Open WebUI passes in `__user__`."""
    valves = (user or {}).get("valves")
    if valves is None:
        return None
    key = valves.get("API_KEY") if isinstance(valves, dict) else getattr(valves, "API_KEY", "")
    return key or None


def _status(description: str, *, done: bool = False) -> dict[str, Any]:
    return {"type": "status", "data": {"description": description, "done": done}}


async def _no_events(_event: dict[str, Any]) -> None:
    return None


def _unreachable(exc: httpx.HTTPError, server_url: str) -> str:
    return (
        f"the server cannot be reached at {server_url} ({type(exc).__name__}: {exc}); "
        "check the function's SERVER_URL valve"
    )


async def _checked(response: httpx.Response) -> httpx.Response:
    """`response` when it succeeded; else its error message, for the chat's user."""
    if response.is_success:
        return response
    try:
        error = response.json().get("error", {})
        message = error.get("message") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        message = None
    if response.status_code == 401:
        message = "the API key was refused; check the function's API_KEY valve"
    if response.status_code == 409:
        message = (
            "the previous message in this chat is still being answered; wait until it has "
            "finished, or stop it, then send your message again"
        )
    raise AnalystError(message or f"the server answered {response.status_code}")
