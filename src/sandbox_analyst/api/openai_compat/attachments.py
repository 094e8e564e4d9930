"""Files sent inside a chat message, as OpenAI content parts:
`{"type": "file", "file": {"filename", "file_data": "data:...;base64,..."}}` and
`{"type": "image_url", "image_url": {"url": "data:..."}}`.

Only data URLs are taken: fetching a URL a client names would let it make this server reach
any address. What the bytes are is then checked by the files service, like any upload."""

from __future__ import annotations

import base64
import binascii
import mimetypes
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from sandbox_analyst.api.openai_compat.errors import OpenAIError
from sandbox_analyst.api.openai_compat.schemas import FilePart, ImagePart, IncomingMessage


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes


def decode_data_url(url: str, *, param: str) -> tuple[str, bytes]:
    """The media type and bytes of `data:[MEDIA][;base64],DATA`; 400 when it is not one."""
    if not url.startswith("data:") or "," not in url:
        raise OpenAIError(400, "only data: URLs are accepted (data:MEDIA;base64,...)", param=param)
    header, _, payload = url[5:].partition(",")
    fields = header.split(";")
    media_type = fields[0].strip().lower() or "text/plain"
    try:
        if "base64" in fields[1:]:
            data = base64.b64decode(payload, validate=True)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise OpenAIError(400, "the data URL's base64 content is invalid", param=param) from None
    return media_type, data


def attachments(message: IncomingMessage, *, index: int) -> list[Attachment]:
    """The files in `message` (the `index`-th of the request), in order."""
    if not isinstance(message.content, list):
        return []
    found: list[Attachment] = []
    for number, part in enumerate(message.content):
        param = f"messages.{index}.content.{number}"
        if isinstance(part, FilePart):
            if part.file.file_data is None:
                raise OpenAIError(
                    400, "file parts need file_data (file_id is not supported)", param=param
                )
            media_type, data = decode_data_url(part.file.file_data, param=param)
            name = part.file.filename or _name_for(media_type, len(found) + 1, "file")
            found.append(Attachment(name, data))
        elif isinstance(part, ImagePart):
            media_type, data = decode_data_url(part.image_url.url, param=param)
            found.append(Attachment(_name_for(media_type, len(found) + 1, "image"), data))
    return found


def _name_for(media_type: str, number: int, stem: str) -> str:
    extension = mimetypes.guess_extension(media_type, strict=False) or ""
    return f"{stem}-{number}{extension}"
