"""The file parts of an envd upload (`POST /files`, multipart/form-data), streamed one after
another without buffering the request: each part's bytes go on to the sandbox's files as they
arrive, so the sandbox's disk quota is the only limit that applies."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from sandbox_analyst.api.multipart import PartHeaders
from sandbox_analyst.service import ValidationError

_END = object()


class UploadError(ValidationError):
    code = "bad_upload"
    http_status = 400


@dataclass
class FilePart:
    filename: str | None
    chunks: AsyncIterator[bytes]


def is_multipart(request: Request) -> bool:
    content_type, _ = parse_options_header(request.headers.get("content-type", ""))
    return content_type == b"multipart/form-data"


async def file_parts(request: Request) -> AsyncIterator[FilePart]:
    """Each `file` part in order. A part's `chunks` must be read to the end before the next
    part is asked for."""
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise UploadError("multipart upload without a boundary")
    reader = _Reader(request, boundary)
    async for part in reader.parts():
        yield part


class _Reader:
    def __init__(self, request: Request, boundary: bytes) -> None:
        self._request = request
        self._part_headers = PartHeaders()
        self._events: list[object] = []  # ("start", filename) | bytes | _END per part
        self._current_is_file = False
        self._finished = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_header_field": self._part_headers.on_header_field,
                "on_header_value": self._part_headers.on_header_value,
                "on_header_end": self._part_headers.on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    def _on_headers_finished(self) -> None:
        message = self._part_headers.take_disposition()
        self._current_is_file = message.get_param("name", header="content-disposition") == "file"
        if self._current_is_file:
            filename = message.get_filename()
            if filename is not None:  # RFC 7578: UTF-8 sent raw, decoded as latin-1 above
                with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                    filename = filename.encode("latin-1").decode("utf-8")
            self._events.append(("start", filename))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_is_file:
            self._events.append(bytes(data[start:end]))

    def _on_part_end(self) -> None:
        if self._current_is_file:
            self._events.append(_END)
        self._current_is_file = False

    def _on_end(self) -> None:
        self._finished = True

    async def _events_from_body(self) -> AsyncIterator[object]:
        try:
            async for chunk in self._request.stream():
                self._parser.write(chunk)
                events, self._events = self._events, []
                for event in events:
                    yield event
        except FormParserError as exc:
            raise UploadError(f"malformed multipart body: {exc}") from None
        except ClientDisconnect:
            raise UploadError("the upload was cut off before it finished") from None
        if not self._finished:
            raise UploadError("the upload was cut off before it finished")

    async def parts(self) -> AsyncIterator[FilePart]:
        events = self._events_from_body()
        async for event in events:
            if isinstance(event, tuple):
                # The part's chunks come from the same body: it is read to its end before
                # the next part starts (whatever the consumer left unread is skipped).
                part = FilePart(event[1], _part_chunks(events))
                yield part
                async for _ in part.chunks:
                    pass


async def _part_chunks(events: AsyncIterator[object]) -> AsyncIterator[bytes]:
    async for event in events:
        if event is _END:
            return
        if isinstance(event, bytes) and event:
            yield event
