"""`GET /v1/models` and `POST /v1/chat/completions`: the analyst as an OpenAI model, for chat
front ends (LibreChat, Open WebUI) and OpenAI's SDKs.

Each assistant is a model; asking one runs a turn of the same `ChatService` the REST chat
uses, in the conversation `continuity` picks, and writes its steps into the answer text
(`answer`). Streaming follows OpenAI: `chat.completion.chunk` events, then `data: [DONE]`;
`tool_calls` are never sent, since our tools already ran.

A front end's side requests sent to an assistant (`tasks`: titles, tags...) are answered by
the assistant's model alone, like the plain model's. A question that arrives while the
conversation's last answer still runs waits for it (`openai_compat.busy_wait_s`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sandbox_analyst.api.auth import ServicesDep
from sandbox_analyst.api.body_limit import BodyKind, body_kind
from sandbox_analyst.api.openai_compat.answer import AnswerWriter, Signer
from sandbox_analyst.api.openai_compat.attachments import Attachment, attachments
from sandbox_analyst.api.openai_compat.catalog import Catalog
from sandbox_analyst.api.openai_compat.chunks import AnswerChunks, CompletionChunks
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
    ChatCompletionRequest,
    Choice,
    ModelCard,
    ModelList,
    Usage,
)
from sandbox_analyst.api.openai_compat.tasks import is_task_request, user_words
from sandbox_analyst.api.streaming import EventStreamResponse, TurnEventStream
from sandbox_analyst.service import (
    ChatTurn,
    NotFound,
    Principal,
    Services,
    TurnAlreadyRunning,
    Unauthorized,
)
from sandbox_analyst.store import Assistant, as_stream

router = APIRouter(prefix="/v1", tags=["openai-compatible"], route_class=OpenAIRoute)

_LISTED_ASSISTANTS = 1000
_STARTED = int(time.time())  # the plain model's `created`: it is as old as this server
_BUSY_POLL_S = 1.0  # how often a waiting request checks that its client is still there
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
    return ModelList(data=[*cards, _plain_card(services)])


def _plain_card(services: Services) -> ModelCard:
    plain = services.settings.openai_compat.plain_model
    return ModelCard(id=plain, created=_STARTED, owned_by="sandbox-analyst")


@router.get("/models/{model_id}", response_model=ModelCard)
async def get_model(model_id: str, principal: V1Principal, services: ServicesDep) -> ModelCard:
    """One model of `GET /v1/models`: an assistant, by its model id or its assistant id."""
    if model_id == services.settings.openai_compat.plain_model:
        return _plain_card(services)
    assistant = await _assistant(services, principal, model_id)
    owner = await services.users.get_user(assistant.owner_id)
    created = int(assistant.created_at.timestamp())
    return ModelCard(id=model_id, created=created, owned_by=owner.name)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
@body_kind(BodyKind.INLINE_FILES)  # files come inside the messages, base64-encoded
async def chat_completions(
    body: ChatCompletionRequest, request: Request, principal: V1Principal, services: ServicesDep
) -> Any:
    """Ask an assistant (its code runs in the conversation's sandbox), or the plain model.
    `stream: true` answers with server-sent `chat.completion.chunk` events."""
    created = int(time.time())
    settings = services.settings.openai_compat
    if body.n is not None and body.n != 1:
        raise OpenAIError(
            400, f"n={body.n}: only one choice per request is offered; send n=1", param="n"
        )
    if body.model == settings.plain_model:
        reply = await PlainReply.start(
            services.settings, body.messages, max_tokens=body.token_limit
        )
        return await _plain_answer(body, reply, created)
    assistant = await _assistant(services, principal, body.model)
    if settings.task_requests and is_task_request(body):
        # A title, tags, follow-ups...: the assistant's model answers, with no turn.
        reply = await PlainReply.start(
            services.settings,
            body.messages,
            provider=assistant.provider,
            model=assistant.model,
            max_tokens=body.token_limit,
        )
        return await _plain_answer(body, reply, created)
    turn = await _start_turn(body, request, principal, services, assistant)
    writer = AnswerWriter(
        settings.tool_style,
        _signer(request, principal, services),
        output_chars=settings.output_chars,
    )
    completion_id = f"chatcmpl-{turn.message_id}"
    if body.stream:
        chunks = CompletionChunks(body, completion_id, created)
        return TurnEventStream(turn, request, AnswerChunks(chunks, writer))
    try:
        parts = [await writer.write(event) async for event in turn]
        parts.append(await writer.close())
    finally:
        turn.cancel("the request ended")  # a no-op once the turn is over
    return _completion(body, completion_id, created, "".join(parts), writer.usage)


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
    first_user_text = user_words(next(m.text for m in body.messages if m.role == "user"))
    conversation = await services.conversations.for_external_key(
        principal,
        assistant.id,
        key.value,
        title=conversation_title(first_user_text or user_words(content)),
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
        return await _start_when_free(
            request, principal, services, conversation.id, content, file_ids
        )
    except BaseException:
        for file_id in file_ids:
            await services.files.delete(principal, file_id)
        raise


async def _start_when_free(
    request: Request,
    principal: Principal,
    services: Services,
    conversation_id: str,
    content: str,
    file_ids: list[str],
) -> ChatTurn:
    """The turn, started once the conversation's running turn (if any) has ended: a chat
    front end may send the next message before the last answer ended (Open WebUI, when a user
    sends again while the answer still streams). Waits `busy_wait_s` at most, and no longer
    than the client does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + services.settings.openai_compat.busy_wait_s
    while True:
        try:
            return await services.chat.start_turn(
                principal, conversation_id, content, file_ids=file_ids
            )
        except TurnAlreadyRunning:
            left = deadline - loop.time()
            if left <= 0 or await request.is_disconnected():
                raise _busy() from None
            await services.chat.wait_for_turn(conversation_id, timeout_s=min(left, _BUSY_POLL_S))


def _busy() -> OpenAIError:
    # Shown to the chat's user as it is (Open WebUI shows the message in the chat).
    return OpenAIError(
        409,
        "The previous message in this chat is still being answered. Wait until that answer "
        "has finished, or stop it, then send your message again.",
        code="conversation_busy",
        # OpenAI's SDKs retry 409 on their own; the running turn may take minutes more.
        headers={"x-should-retry": "false"},
    )


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


async def _plain_answer(body: ChatCompletionRequest, reply: PlainReply, created: int) -> Any:
    completion_id = f"chatcmpl-plain-{time.time_ns()}"
    if body.stream:
        chunks = CompletionChunks(body, completion_id, created)
        return EventStreamResponse(_plain_chunks(chunks, reply))
    text = "".join([piece async for piece in reply.pieces()])
    return _completion(body, completion_id, created, text, reply.usage)


async def _plain_chunks(chunks: CompletionChunks, reply: PlainReply) -> AsyncIterator[bytes]:
    yield chunks.opening()
    async for piece in reply.pieces():
        yield chunks.piece(piece)
    yield chunks.closing(reply.usage)


def _completion(
    body: ChatCompletionRequest,
    completion_id: str,
    created: int,
    text: str,
    usage: dict[str, Any],
) -> ChatCompletion:
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=text))],
        usage=Usage.from_turn(usage),
    )


@router.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown_endpoint(path: str, request: Request) -> None:
    raise OpenAIError(
        404,
        f"no endpoint {request.method} /v1/{path}; this server offers GET /v1/models, "
        "GET /v1/models/{model} and POST /v1/chat/completions",
        code="unknown_url",
    )
