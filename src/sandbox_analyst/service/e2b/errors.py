"""Errors of the E2B sandbox bookkeeping. Each sets `code` (stable, machine-readable) and
`http_status`; the E2B front end turns them into E2B's `{code, message}` bodies."""

from __future__ import annotations

from sandbox_analyst.service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationError,
)


class SandboxNotRunning(NotFound):
    """No running sandbox of this id is the caller's: it ended (killed, timed out, lost), it
    is someone else's, or it never existed. The three are not told apart on purpose."""

    code = "sandbox_not_found"
    http_status = 404

    def __init__(self, sandbox_id: str) -> None:
        super().__init__(f"sandbox {sandbox_id!r} doesn't exist or you don't have access to it")
        self.sandbox_id = sandbox_id


class TemplateNotFound(NotFound):
    code = "template_not_found"
    http_status = 404

    def __init__(self, template_id: str, known: list[str]) -> None:
        super().__init__(
            f"template {template_id!r} not found; this server offers: {', '.join(known)}"
        )
        self.template_id = template_id


class InvalidTimeout(ValidationError):
    code = "invalid_timeout"
    http_status = 400


class InvalidAccessToken(Unauthorized):
    """A request to a running sandbox without its access token (the one `create` and
    `connect` hand out to its owner)."""

    code = "invalid_access_token"
    http_status = 401


class ContextNotFound(NotFound):
    code = "context_not_found"
    http_status = 404

    def __init__(self, context_id: str) -> None:
        super().__init__(f"context {context_id!r} not found")


class UnsupportedLanguage(ValidationError):
    code = "unsupported_language"
    http_status = 400


class ProcessNotFound(NotFound):
    code = "process_not_found"
    http_status = 404

    def __init__(self, pid: int) -> None:
        super().__init__(f"process with pid {pid} not found")


class DefaultContextProtected(Forbidden):
    code = "default_context"
    http_status = 400


class SandboxLimitReached(Conflict):
    """A sandbox already holds as many code contexts or running commands as it may."""

    code = "sandbox_limit_reached"
    http_status = 429


class ContextSetupFailed(ValidationError):
    code = "context_setup_failed"
    http_status = 400
