"""Who calls LibreChat's Code API, and the ids it hands out.

LibreChat refuses session and file ids that are not exactly 21 characters of `[A-Za-z0-9_-]`
(its `isValidID`, the shape of a nanoid); ours also never start with `-`, so that they can be
pasted into a shell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox_analyst.service.principal import Principal
from sandbox_analyst.store import new_id

ID_LENGTH = 21
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{20}$")


def new_librechat_id() -> str:
    return new_id(ID_LENGTH)


def is_librechat_id(value: str) -> bool:
    """Whether `value` could be one of our session or file ids (anything else names none)."""
    return bool(_ID.match(value))


@dataclass(frozen=True)
class LibreChatCaller:
    """A request's caller: one of our users, and, when LibreChat vouched for one of its own
    users with a JWT, that user's `sub` (several LibreChat users may act through one account
    of ours; each sees only their own sessions)."""

    principal: Principal
    subject: str = ""

    @property
    def owner(self) -> str:
        """Whose sandbox quota the caller's sessions count against."""
        if not self.subject:
            return self.principal.user_id
        return f"{self.principal.user_id}/librechat:{self.subject}"
