"""Streams the `file` part of a multipart upload without buffering the request.

Starlette's form parser spools the whole upload to a temporary file before the endpoint
runs, so a 10 GB upload would fill the disk before any limit applied. Here the request body
is fed to python-multipart chunk by chunk, and the bytes of the `file` part are passed on to
the blob store as they arrive.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from email.message import Message

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from sandbox_analyst.service import ValidationError

FILE_FIELD = "file"


class MultipartError(ValidationError):
    """The request is not a well-formed multipart upload with a `file` part."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field=FILE_FIELD)


class UploadStream:
    """Iterate to receive the bytes of the `file` part; `filename` is known after the first
    chunk (or once iteration finishes, for an empty file)."""

    def __init__(self, request: Request) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type", ""))
        if content_type != b"multipart/form-data" or not options.get(b"boundary"):
            raise MultipartError("send the file as multipart/form-data in a part named `file`")
        self._request = request
        self._boundary = options[b"boundary"]
        self.filename: str | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._field = b""
        self._value = b""
        self._in_file = False
        self._seen_file = False
        self._finished = False
        self._pending: list[bytes] = []

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers.append((self._field.lower(), self._value))
        self._field = self._value = b""

    def _on_headers_finished(self) -> None:
        disposition = dict(self._headers).get(b"content-disposition", b"")
        self._headers = []
        message = Message()
        message["content-disposition"] = disposition.decode("latin-1")
        name = message.get_param("name", header="content-disposition")
        is_file = name == FILE_FIELD and not self._seen_file
        self._in_file = is_file
        if is_file:
            self._seen_file = True
            filename = message.get_filename()
            # RFC 7578: names are UTF-8 sent as raw bytes; we decoded them as latin-1 above.
            if filename is not None:
                with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                    filename = filename.encode("latin-1").decode("utf-8")
            self.filename = filename

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(data[start:end])

    def _on_part_end(self) -> None:
        self._in_file = False

    def _on_end(self) -> None:
        self._finished = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            parser = MultipartParser(
                self._boundary,
                {
                    "on_header_field": self._on_header_field,
                    "on_header_value": self._on_header_value,
                    "on_header_end": self._on_header_end,
                    "on_headers_finished": self._on_headers_finished,
                    "on_part_data": self._on_part_data,
                    "on_part_end": self._on_part_end,
                    "on_end": self._on_end,
                },
            )
            async for chunk in self._request.stream():
                parser.write(chunk)
                if self._pending:
                    data, self._pending = b"".join(self._pending), []
                    yield data
        except FormParserError as exc:
            raise MultipartError(f"malformed multipart body: {exc}") from None
        except ClientDisconnect:
            raise MultipartError("the upload was cut off before it finished") from None
        if not self._finished:
            raise MultipartError("the upload was cut off before it finished")
        if not self._seen_file:
            raise MultipartError("no part named `file` in the upload")
