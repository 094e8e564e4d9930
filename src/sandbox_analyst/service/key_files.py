"""Secrets the server makes for itself (the URL-signing secret, the key that encrypts stored
credentials), each kept in a 0600 file in the data directory and created on first use."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes; when it does not exist yet, `make()`'s, written into it first.

    Written aside and hard-linked into place: two processes starting at once agree on one
    secret (the second link fails and it reads the first's), and nobody reads a half-written
    file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_bytes()
