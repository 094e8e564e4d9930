"""Single-user mode (no authentication) is for loopback addresses only. Checked before the
server binds its port, so this module imports nothing heavy."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox_analyst.config import Settings


class SingleUserRefused(RuntimeError):
    """Single-user mode (no authentication) was asked for on a non-loopback address."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_single_user(settings: Settings) -> None:
    host = settings.server.host
    if settings.server.single_user and not is_loopback(host):
        raise SingleUserRefused(
            f"single-user mode turns authentication off, so it is only allowed on a loopback "
            f"address (127.0.0.1, ::1, localhost), not on {host!r}. Bind to 127.0.0.1, or "
            f"turn single-user mode off and create API keys with `analyst users create`."
        )
