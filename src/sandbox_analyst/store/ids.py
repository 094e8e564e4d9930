"""Identifiers for everything stored.

Ids are random and unguessable on purpose: file and artifact URLs are handed to third-party
chat front ends and `<img>` tags, so an id must not be enumerable. A new id is 22 url-safe
characters (`[A-Za-z0-9_-]`) whose first one is a letter or digit: people type and paste ids
into shells, and an id starting with `-` would be taken for an option (`analyst keys revoke
-x...`). That first character carries log2(62) bits and the 21 others 6 bits each, about 132
bits in all (more than the 128 of the 16 random bytes ids used to be made of).

Ids made before this rule (`secrets.token_urlsafe(16)`, which may start with `-` or `_`) stay
valid: `looks_like_id` accepts any url-safe string up to 64 characters, as it always did, so
other id shapes (e.g. a foreign protocol's 21-character ids) fit too.
"""

from __future__ import annotations

import re
import secrets
import string

ID_LENGTH = 22
_FIRST_ALPHABET = string.ascii_letters + string.digits
_ALPHABET = _FIRST_ALPHABET + "-_"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_id(length: int = ID_LENGTH) -> str:
    """A new random id of `length` characters (a foreign protocol may fix another length:
    LibreChat's are 21)."""
    first = secrets.choice(_FIRST_ALPHABET)
    return first + "".join(secrets.choice(_ALPHABET) for _ in range(length - 1))


def looks_like_id(value: str) -> bool:
    """Whether `value` could be one of our ids; anything else cannot exist, so callers answer
    "not found" without asking the database (and never pass control characters to it)."""
    return bool(_ID_PATTERN.match(value))
