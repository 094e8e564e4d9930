"""The one error a client call raises: the API's `{"error": {...}}` answer, or a server that
could not be reached at all."""

from __future__ import annotations

import httpx

UNREACHABLE = "unreachable"
STREAM_BROKEN = "stream_broken"  # the answer's event stream ended before `message_end`


class AnalystAPIError(Exception):
    """`status` is the HTTP status (0 when no answer came); `code` the API's stable error code
    (`unauthorized`, `not_found`, `conflict`..., or `unreachable`); `field` the request field
    at fault, when the API named one."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def __str__(self) -> str:
        prefix = f"{self.status} {self.code}" if self.status else self.code
        return f"{prefix}: {self.message}"

    @classmethod
    def from_response(cls, response: httpx.Response) -> AnalystAPIError:
        """Reads our error shape; anything else (a proxy's HTML page) keeps its text."""
        try:
            detail = response.json()["error"]
            return cls(response.status_code, detail["code"], detail["message"], detail.get("field"))
        except (ValueError, KeyError, TypeError):
            text = response.text.strip()[:200] or response.reason_phrase
            return cls(response.status_code, "http_error", text)

    @classmethod
    def unreachable(cls, base_url: str, exc: httpx.TransportError) -> AnalystAPIError:
        reason = str(exc) or type(exc).__name__
        return cls(0, UNREACHABLE, f"cannot reach server at {base_url} ({reason})")
