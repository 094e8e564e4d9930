"""File names as people see them: display names are sanitised once at upload, and downloads
carry them in a Content-Disposition header that no name can break out of.

Names are never used as paths on disk (blobs are stored under random keys)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_NAME_LENGTH = 255
FALLBACK_NAME = "file"
# Bidirectional overrides can make `gpj.exe` look like `exe.jpg`.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def safe_display_name(raw: str | None) -> str:
    """The last path component of `raw`, without control characters, bidi overrides or
    leading dots, NFC-normalised, at most 255 characters (keeping the extension)."""
    if not raw:
        return FALLBACK_NAME
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cs"))
    name = _BIDI_CONTROLS.sub("", unicodedata.normalize("NFC", name))
    name = name.strip().lstrip(".").strip()
    if not name:
        return FALLBACK_NAME
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def content_disposition(name: str, *, inline: bool = False) -> str:
    """`attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (RFC 6266)."""
    fallback = (
        "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name)
        or FALLBACK_NAME
    )
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
