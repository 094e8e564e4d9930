"""Streams the `file` part of a multipart upload without buffering the request.

Starlette's form parser spools the whole upload to a temporary file before the endpoint
runs, so a 10 GB upload would fill the disk before any limit applied. Here the request body
is fed to python-multipart chunk by chunk, and the bytes of the `file` part are passed on to
the blob store as they arrive.

Besides `file`, an upload may carry small text fields (`UploadStream(request, fields=...)`,
e.g. `conversation_id`); any other part is refused by name rather than silently dropped, and
so is a second `file`: one upload, one file.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from email.message import Message
from email.utils import collapse_rfc2231_value

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from sandbox_analyst.service import ValidationError

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024  # a text field is an id or a short value, never data


class MultipartError(ValidationError):
    """The request is not a well-formed multipart upload with a `file` part."""

    def __init__(self, message: str, *, field: str = FILE_FIELD) -> None:
        super().__init__(message, field=field)


class PartHeaders:
    """The headers of the part being read, collected from python-multipart's header callbacks
    (every streaming form reader here uses one)."""

    def __init__(self) -> None:
        self._headers: list[tuple[bytes, bytes]] = []
        self._field = b""
        self._value = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers.append((self._field.lower(), self._value))
        self._field = self._value = b""

    def take_disposition(self) -> Message:
        """The part's Content-Disposition (read with `get_param`, `get_filename`); the next
        part's headers are collected afresh."""
        disposition = dict(self._headers).get(b"content-disposition", b"")
        self._headers = []
        message = Message()
        message["content-disposition"] = disposition.decode("latin-1")
        return message


def part_name(disposition: Message) -> str:
    """The part's form field name (RFC 2231 encoded names decoded), "" if it has none."""
    raw = disposition.get_param("name", header="content-disposition")
    return collapse_rfc2231_value(raw) if raw is not None else ""


class UploadStream:
    """Iterate to receive the bytes of the `file` part; `filename` is known after the first
    chunk (or once iteration finishes, for an empty file). The text fields named in `fields`
    are in `field_values` once iteration finishes (a client may send them after the file)."""

    def __init__(self, request: Request, *, fields: frozenset[str] = frozenset()) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type", ""))
        if content_type != b"multipart/form-data" or not options.get(b"boundary"):
            raise MultipartError("send the file as multipart/form-data in a part named `file`")
        self._request = request
        self._boundary = options[b"boundary"]
        self._fields = fields
        self.filename: str | None = None
        self.field_values: dict[str, str] = {}
        self._unknown: list[str] = []
        self._field_name: str | None = None  # the text field being read
        self._field_bytes = b""
        self._part_headers = PartHeaders()
        self._in_file = False
        self._seen_file = False
        self._finished = False
        self._pending: list[bytes] = []

    def _on_headers_finished(self) -> None:
        message = self._part_headers.take_disposition()
        name = part_name(message)
        self._in_file = name == FILE_FIELD
        if name == FILE_FIELD and self._seen_file:
            raise MultipartError("more than one part named `file`: upload one file per request")
        if name in self._fields:
            if name in self.field_values or name == self._field_name:
                raise MultipartError(f"the field `{name}` is given twice", field=name)
            self._field_name, self._field_bytes = name, b""
        elif name != FILE_FIELD:
            self._unknown.append(name)
        if self._in_file:
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
        elif self._field_name is not None:
            self._field_bytes += data[start:end]
            if len(self._field_bytes) > MAX_FIELD_BYTES:
                raise MultipartError(
                    f"the field `{self._field_name}` is longer than {MAX_FIELD_BYTES} bytes",
                    field=self._field_name,
                )

    def _on_part_end(self) -> None:
        self._in_file = False
        if self._field_name is not None:
            try:
                self.field_values[self._field_name] = self._field_bytes.decode("utf-8")
            except UnicodeDecodeError:
                raise MultipartError(
                    f"the field `{self._field_name}` is not UTF-8 text", field=self._field_name
                ) from None
            self._field_name = None

    def _check_unknown(self) -> None:
        if self._unknown:
            names = ", ".join(
                f"`{name}`" if name else "(a part without a name)" for name in self._unknown
            )
            accepted = ", ".join(f"`{name}`" for name in (FILE_FIELD, *sorted(self._fields)))
            raise MultipartError(
                f"unknown form field{'s' if len(self._unknown) > 1 else ''} {names}: "
                f"an upload takes {accepted}",
                field=self._unknown[0] or FILE_FIELD,
            )

    def _on_end(self) -> None:
        self._finished = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            parser = MultipartParser(
                self._boundary,
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
            async for chunk in self._request.stream():
                parser.write(chunk)
                if self._seen_file:
                    # Refused before any of the file is kept (when sent ahead of it, as
                    # clients do), every unknown field named at once.
                    self._check_unknown()
                if self._pending:
                    data, self._pending = b"".join(self._pending), []
                    yield data
        except FormParserError as exc:
            raise MultipartError(f"malformed multipart body: {exc}") from None
        except ClientDisconnect:
            raise MultipartError("the upload was cut off before it finished") from None
        if not self._finished:
            raise MultipartError("the upload was cut off before it finished")
        self._check_unknown()
        if not self._seen_file:
            raise MultipartError("no part named `file` in the upload")
