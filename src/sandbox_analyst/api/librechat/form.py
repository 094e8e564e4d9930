"""Multipart uploads with one or several files, streamed part by part: each file's bytes go to
storage as they arrive, never spooled whole (the form parser of Starlette spools every file
to disk before the endpoint runs).

Text fields (LibreChat sends `entity_id`, `kind`, `id`, `version`, `read_only` and adds more
over time) are collected as they come, limited in size and number, and otherwise ignored.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from sandbox_analyst.api.multipart import PartHeaders, part_name
from sandbox_analyst.service import ValidationError

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 32

_Event = tuple[str, object]


class FormError(ValidationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, field=FILE_FIELD)


class FileForm:
    """`async for name, chunks in form.files()`: each `file` part in turn; consume (or drop)
    one file's chunks before asking for the next. `fields` fills in as the body is read."""

    def __init__(self, request: Request, *, max_files: int) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type", ""))
        if content_type != b"multipart/form-data" or not options.get(b"boundary"):
            raise FormError("send the files as multipart/form-data, in parts named `file`")
        self.max_files = max_files
        self.fields: dict[str, str] = {}
        self._stream = request.stream()
        self._events: deque[_Event] = deque()
        self._finished = False
        self._part_headers = PartHeaders()
        self._part: str | None = None  # "file", a field name, or "" for a part we skip
        self._field_bytes = b""
        self._files = 0
        self._parser = MultipartParser(
            options[b"boundary"],
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

    async def files(self) -> AsyncIterator[tuple[str | None, AsyncIterator[bytes]]]:
        while (event := await self._next()) is not None:
            if event[0] != "start":
                continue
            chunks = self._file_chunks()
            yield event[1], chunks  # type: ignore[misc]
            async for _rest in chunks:  # what the consumer left of this file
                pass
        if self._files == 0:
            raise FormError("no part named `file` in the upload")

    async def _file_chunks(self) -> AsyncIterator[bytes]:
        while (event := await self._next()) is not None and event[0] == "data":
            yield event[1]  # type: ignore[misc]

    async def _next(self) -> _Event | None:
        while not self._events:
            if self._finished:
                return None
            try:
                chunk = await self._stream.__anext__()
            except StopAsyncIteration:
                raise FormError("the upload was cut off before it finished") from None
            except ClientDisconnect:
                raise FormError("the upload was cut off before it finished") from None
            try:
                self._parser.write(chunk)
            except FormParserError as exc:
                raise FormError(f"malformed multipart body: {exc}") from None
        return self._events.popleft()

    # --- parser callbacks ------------------------------------------------------------------

    def _on_headers_finished(self) -> None:
        message = self._part_headers.take_disposition()
        name = part_name(message)
        if name == FILE_FIELD:
            self._files += 1
            if self._files > self.max_files:
                raise FormError(f"at most {self.max_files} file(s) per upload")
            filename = message.get_filename()
            if filename is not None:  # RFC 7578: UTF-8 bytes, which we decoded as latin-1
                with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                    filename = filename.encode("latin-1").decode("utf-8")
            self._part = FILE_FIELD
            self._events.append(("start", filename))
        elif name and len(self.fields) < MAX_FIELDS:
            self._part, self._field_bytes = name, b""
        else:
            self._part = ""

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == FILE_FIELD:
            self._events.append(("data", data[start:end]))
        elif self._part:
            self._field_bytes += data[start:end]
            if len(self._field_bytes) > MAX_FIELD_BYTES:
                raise FormError(f"the field `{self._part}` is over {MAX_FIELD_BYTES} bytes")

    def _on_part_end(self) -> None:
        if self._part == FILE_FIELD:
            self._events.append(("end", None))
        elif self._part:
            self.fields[self._part] = self._field_bytes.decode("utf-8", errors="replace")
        self._part = None

    def _on_end(self) -> None:
        self._finished = True
