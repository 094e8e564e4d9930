"""`GET /v1/models` and `POST /v1/chat/completions`: the analyst as an OpenAI model, for chat
front ends (LibreChat, Open WebUI) and OpenAI's SDKs.

Each assistant is a model; asking one runs a turn of the same `ChatService` the REST chat
uses, in the conversation `continuity` picks, and writes its steps into the answer text
(`answer`). Streaming follows OpenAI: `chat.completion.chunk` events, then `data: [DONE]`;
`tool_calls` are never sent, since our tools already ran."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from sandbox_analyst.api.auth import ServicesDep
from sandbox_analyst.api.openai_compat.answer import AnswerWriter, Signer
from sandbox_analyst.api.openai_compat.attachments import Attachment, attachments
from sandbox_analyst.api.openai_compat.catalog import Catalog
from sandbox_analyst.api.openai_compat.continuity import (
    conversation_key,
    conversation_title,
    new_turn,
)
from sandbox_analyst.api.openai_compat.errors import OpenAIError, OpenAIRoute, model_not_found
from sandbox_analyst.api.openai_compat.plain import PlainReply
from sandbox_analyst.api.openai_compat.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    ModelCard,
    ModelList,
    Usage,
)
from sandbox_analyst.service import NotFound, Principal, Services, Unauthorized
from sandbox_analyst.service.chat import ChatTurn
from sandbox_analyst.store import Assistant, as_stream

router = APIRouter(prefix="/v1", tags=["openai-compatible"], route_class=OpenAIRoute)

KEEPALIVE_S = 5.0
_LISTED_ASSISTANTS = 1000
_bearer = HTTPBearer(auto_error=False, description="An API key: `analyst keys create USER`.")


async def v1_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller. Single-user mode takes any key or none: front ends insist on sending one."""
    local: Principal | None = request.app.state.local_principal
    if local is not None:
        return local
    if credentials is None:
        raise Unauthorized("send your API key as `Authorization: Bearer <API key>`")
    return await request.app.state.services.users.authenticate(credentials.credentials)


V1Principal = Annotated[Principal, Depends(v1_principal)]


async def _catalog(services: Services, principal: Principal) -> Catalog:
    assistants = await services.assistants.list(principal, limit=_LISTED_ASSISTANTS)
    return Catalog.of(assistants, reserved=services.settings.openai_compat.plain_model)


async def _assistant(services: Services, principal: Principal, model: str) -> Assistant:
    """The assistant `model` names: a listed model id, or any assistant id the caller may
    open (an admin may open every assistant, though their list holds only their own)."""
    assistant = (await _catalog(services, principal)).resolve(model)
    if assistant is not None:
        return assistant
    try:
        return await services.assistants.get(principal, model)
    except NotFound:
        raise model_not_found(model) from None


@router.get("/models", response_model=ModelList)
async def list_models(principal: V1Principal, services: ServicesDep) -> ModelList:
    """The assistants you may use, and the plain model (no tools) for titles and tags."""
    catalog = await _catalog(services, principal)
    owners: dict[str, str] = {}
    cards = []
    for model_id, assistant in catalog.by_model_id.items():
        if assistant.owner_id not in owners:
            owners[assistant.owner_id] = (await services.users.get_user(assistant.owner_id)).name
        created = int(assistant.created_at.timestamp())
        cards.append(ModelCard(id=model_id, created=created, owned_by=owners[assistant.owner_id]))
    plain = ModelCard(
        id=services.settings.openai_compat.plain_model, created=0, owned_by="sandbox-analyst"
    )
    return ModelList(data=[*cards, plain])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, principal: V1Principal, services: ServicesDep
) -> Any:
    """Ask an assistant (its code runs in the conversation's sandbox), or the plain model.
    `stream: true` answers with server-sent `chat.completion.chunk` events."""
    if body.model == services.settings.openai_compat.plain_model:
        reply = await PlainReply.start(services.settings, body.messages)
        return await _respond(body, f"chatcmpl-plain-{time.time_ns()}", reply.pieces(), reply)
    assistant = await _assistant(services, principal, body.model)
    turn = await _start_turn(body, request, principal, services, assistant)
    settings = services.settings.openai_compat
    writer = AnswerWriter(
        settings.tool_style,
        _signer(request, principal, services),
        output_chars=settings.output_chars,
    )
    pieces = _answer_pieces(turn, writer, request, keepalive=body.stream)
    try:
        return await _respond(
            body,
            f"chatcmpl-{turn.message_id}",
            pieces,
            writer,
            on_close=lambda: turn.cancel("the client disconnected"),
        )
    finally:
        if not body.stream:
            turn.cancel("the request ended")  # a no-op once the turn is over


async def _start_turn(
    body: ChatCompletionRequest,
    request: Request,
    principal: Principal,
    services: Services,
    assistant: Assistant,
) -> ChatTurn:
    index, message = new_turn(body.messages)
    files = attachments(message, index=index)
    content = message.text.strip() or _uploaded(files)
    key = conversation_key(
        request.headers,
        user_id=principal.user_id,
        assistant_id=assistant.id,
        messages=body.messages,
    )
    first_user_text = next(m.text for m in body.messages if m.role == "user")
    conversation = await services.conversations.for_external_key(
        principal,
        assistant.id,
        key.value,
        title=conversation_title(first_user_text or content),
        start_new=key.start_new,
    )
    # Stored unattached, then attached by the turn: a turn that cannot start (one is already
    # running) leaves nothing in the conversation, and the files are removed again.
    file_ids = []
    try:
        for file in files:
            record = await services.files.upload(
                principal, as_stream(file.data), filename=file.filename
            )
            file_ids.append(record.id)
        return await services.chat.start_turn(
            principal, conversation.id, content, file_ids=file_ids
        )
    except BaseException:
        for file_id in file_ids:
            await services.files.delete(principal, file_id)
        raise


def _uploaded(files: list[Attachment]) -> str:
    if not files:
        raise OpenAIError(400, "the last user message is empty", param="messages")
    return "I uploaded " + ", ".join(file.filename for file in files) + "."


def _signer(request: Request, principal: Principal, services: Services) -> Signer:
    base_url = str(request.base_url)
    ttl_s = services.settings.openai_compat.link_days * 24 * 3600
    signed: dict[str, str | None] = {}

    async def sign(file_id: str) -> str | None:
        if file_id not in signed:
            try:
                link = await services.files.signed_url(
                    principal, file_id, ttl_s=ttl_s, base_url=base_url
                )
                signed[file_id] = link.url
            except NotFound:
                signed[file_id] = None
        return signed[file_id]

    return sign


async def _answer_pieces(
    turn: ChatTurn, writer: AnswerWriter, request: Request, *, keepalive: bool
) -> AsyncIterator[str | None]:
    """The answer's markdown as the turn runs; None now and then while nothing happens (a
    streaming client is sent a keep-alive, which also tells us whether it is still there)."""
    while True:
        try:
            event = await turn.next_event(KEEPALIVE_S if keepalive else None)
        except TimeoutError:
            if await request.is_disconnected():
                return
            yield None
            continue
        if event is None:
            break
        if text := await writer.write(event):
            yield text
    if text := await writer.close():
        yield text


async def _respond(
    body: ChatCompletionRequest,
    completion_id: str,
    pieces: AsyncIterator[str | None],
    source: AnswerWriter | PlainReply,
    *,
    on_close: Callable[[], object] = lambda: None,
) -> Any:
    """The answer as one `chat.completion`, or streamed as chunks."""
    created = int(time.time())
    if body.stream:
        return CompletionStream(_chunks(body, completion_id, created, pieces, source), on_close)
    text = "".join([piece async for piece in pieces if piece])
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=text))],
        usage=Usage.from_turn(source.usage),
    )


async def _chunks(
    body: ChatCompletionRequest,
    completion_id: str,
    created: int,
    pieces: AsyncIterator[str | None],
    source: AnswerWriter | PlainReply,
) -> AsyncIterator[bytes]:
    def chunk(delta: Delta, finish_reason: str | None = None) -> bytes:
        return _event(
            ChatCompletionChunk(
                id=completion_id,
                created=created,
                model=body.model,
                choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)],
            )
        )

    yield chunk(Delta(role="assistant", content=""))
    async for piece in pieces:
        yield b": keepalive\n\n" if piece is None else chunk(Delta(content=piece))
    yield chunk(Delta(), finish_reason="stop")
    if body.include_usage:
        usage = Usage.from_turn(source.usage)
        yield _event(
            ChatCompletionChunk(
                id=completion_id, created=created, model=body.model, choices=[], usage=usage
            )
        )
    yield b"data: [DONE]\n\n"


def _event(chunk: ChatCompletionChunk) -> bytes:
    data = json.dumps(chunk.model_dump(exclude_none=True), ensure_ascii=False)
    return f"data: {data}\n\n".encode()


class CompletionStream(StreamingResponse):
    """Server-sent chunks. However the response ends, `on_close` runs (a turn still running
    is cancelled: its client has gone)."""

    def __init__(self, chunks: AsyncIterator[bytes], on_close: Callable[[], object]) -> None:
        self.on_close = on_close
        super().__init__(
            chunks,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


@router.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown_endpoint(path: str, request: Request) -> None:
    raise OpenAIError(
        404,
        f"no endpoint {request.method} /v1/{path}; this server offers GET /v1/models and "
        "POST /v1/chat/completions",
        code="unknown_url",
    )
