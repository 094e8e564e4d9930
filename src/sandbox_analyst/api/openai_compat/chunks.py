"""A streamed `chat.completion` as OpenAI sends one: a first chunk with the role, a chunk per
piece of the answer, a last one with `finish_reason: "stop"`, the usage chunk when the request
asked for it (`stream_options.include_usage`), then `data: [DONE]`."""

from __future__ import annotations

import json
from typing import Any

from sandbox_analyst.api.openai_compat.answer import AnswerWriter
from sandbox_analyst.api.openai_compat.schemas import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    Delta,
    Usage,
)
from sandbox_analyst.service import ChatEvent


class CompletionChunks:
    def __init__(self, body: ChatCompletionRequest, completion_id: str, created: int) -> None:
        self._body = body
        self._id = completion_id
        self._created = created

    def opening(self) -> bytes:
        return self._chunk(Delta(role="assistant", content=""))

    def piece(self, text: str) -> bytes:
        return self._chunk(Delta(content=text)) if text else b""

    def closing(self, usage: dict[str, Any]) -> bytes:
        frames = [self._chunk(Delta(), finish_reason="stop")]
        if self._body.include_usage:
            frames.append(
                _event(
                    ChatCompletionChunk(
                        id=self._id,
                        created=self._created,
                        model=self._body.model,
                        choices=[],
                        usage=Usage.from_turn(usage),
                    )
                )
            )
        frames.append(b"data: [DONE]\n\n")
        return b"".join(frames)

    def _chunk(self, delta: Delta, finish_reason: str | None = None) -> bytes:
        return _event(
            ChatCompletionChunk(
                id=self._id,
                created=self._created,
                model=self._body.model,
                choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)],
            )
        )


class AnswerChunks:
    """`TurnFrames` for `/v1`: the turn's answer (`AnswerWriter`) as completion chunks."""

    def __init__(self, chunks: CompletionChunks, writer: AnswerWriter) -> None:
        self._chunks = chunks
        self._writer = writer

    def opening(self) -> bytes:
        return self._chunks.opening()

    async def frame(self, event: ChatEvent) -> bytes:
        return self._chunks.piece(await self._writer.write(event))

    async def closing(self) -> bytes:
        rest = self._chunks.piece(await self._writer.close())
        return rest + self._chunks.closing(self._writer.usage)


def _event(chunk: ChatCompletionChunk) -> bytes:
    data = chunk.model_dump(exclude_none=True)
    for choice in data["choices"]:
        # OpenAI sends `finish_reason: null` on every chunk but the last; some clients
        # read the key without a default.
        choice.setdefault("finish_reason", None)
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
