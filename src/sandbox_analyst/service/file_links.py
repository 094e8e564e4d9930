"""Links to stored files' content, built and recognised here and nowhere else:
`/api/files/{id}/content`, absolute under `server.public_url` when it is set, and signed
(`...?sig=EXPIRES.MAC`, see `signing`) for clients that cannot send our header.

The agent's answers carry these links (its artifacts' URLs); the OpenAI-compatible front end
finds them in the text to sign them, and the demo report to embed the files they point at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

SIGNATURE_PARAMETER = "sig"

_ID = r"[A-Za-z0-9_-]{1,64}"
# As the agent writes a link: relative or absolute, perhaps already signed.
_LINK_IN_TEXT = re.compile(
    rf"(?:https?://[^\s()<>\"']*?)?/api/files/({_ID})/content"
    rf"(?:\?{SIGNATURE_PARAMETER}=[^\s)\"']*)?"
)
# A URL that ends in a content link, whatever query or fragment it carries.
_CONTENT_URL = re.compile(rf"/api/files/({_ID})/content(?:[?#]\S*)?$")


def content_path(file_id: str) -> str:
    return f"/api/files/{file_id}/content"


def content_url(file_id: str, public_url: str | None = None) -> str:
    """The content URL of a stored file: absolute when `server.public_url` is set."""
    return (public_url or "").rstrip("/") + content_path(file_id)


def signed_content_url(file_id: str, signature: str, public_url: str | None = None) -> str:
    """A content URL that works without credentials (`signature` from `UrlSigner.sign`)."""
    return f"{content_url(file_id, public_url)}?{SIGNATURE_PARAMETER}={signature}"


@dataclass(frozen=True)
class FileLinkMatch:
    """A link to a stored file inside a text; `start:end` spans its signature, if it has one."""

    file_id: str
    start: int
    end: int


def file_links_in(text: str) -> Iterator[FileLinkMatch]:
    """The links to stored files in `text`, in order."""
    for match in _LINK_IN_TEXT.finditer(text):
        yield FileLinkMatch(match.group(1), match.start(), match.end())


def file_id_of(url: str) -> str | None:
    """The id of the stored file `url` points at, or None when it points elsewhere."""
    match = _CONTENT_URL.search(url)
    return match.group(1) if match else None
