"""Identifiers for everything stored.

Ids are random and unguessable on purpose: file and artifact URLs are handed to third-party
chat front ends and `<img>` tags, so an id must not be enumerable. 16 random bytes give
128 bits of entropy, written url-safe (22 characters, `[A-Za-z0-9_-]`).
"""

from __future__ import annotations

import re
import secrets

_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_id() -> str:
    return secrets.token_urlsafe(16)


def looks_like_id(value: str) -> bool:
    """Whether `value` could be one of our ids; anything else cannot exist, so callers answer
    "not found" without asking the database (and never pass control characters to it)."""
    return bool(_ID_PATTERN.match(value))
