"""Errors of LibreChat's Code API that the rest of the service does not have."""

from __future__ import annotations

from sandbox_analyst.service.errors import ServiceError


class UnsupportedLanguage(ServiceError):
    """LibreChat's tool offers many languages; these sandboxes run Python, bash, SQL and (where
    R is installed) R."""

    code = "unsupported_language"
    http_status = 400


class ProfileMismatch(ServiceError):
    """The client asked for an execution profile this server does not provide (`stateful`
    while `librechat.stateful_keep_s` is 0, or a name it does not know). LibreChat's tool
    reads the code `execution_profile_mismatch` as permanent: it does not retry."""

    code = "execution_profile_mismatch"
    http_status = 400
