"""The Connect protocol as envd speaks it to the SDKs, JSON codec only.

Unary calls: a JSON request body, a JSON response, errors as an HTTP status with
`{"code": "<connect code>", "message": "..."}`. Server streams (`application/connect+json`):
the request and every response message in an envelope (1 flag byte, 4-byte big-endian length,
the JSON), ending with an end-of-stream envelope (flag 0x02) holding `{}` or `{"error": ...}`.
Messages use protobuf's JSON mapping: lowerCamelCase names, 64-bit integers as strings, bytes
in base64, enums by name.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox_analyst.api.e2b.errors import message_of, status_of
from sandbox_analyst.sandbox import SandboxError
from sandbox_analyst.service import ServiceError

STREAM_MEDIA_TYPE = "application/connect+json"
_END_STREAM = 0x02
_MAX_REQUEST = 1 << 20

_STATUS = {
    "canceled": 499,
    "unknown": 500,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "unauthenticated": 401,
}
_CODE_BY_STATUS = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    409: "already_exists",
    413: "resource_exhausted",
    429: "resource_exhausted",
    501: "unimplemented",
    503: "unavailable",
}


class ConnectError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def code_for_status(status: int) -> str:
    return _CODE_BY_STATUS.get(status, "internal" if status >= 500 else "unknown")


def as_connect_error(exc: Exception) -> ConnectError | None:
    """The Connect error for a failure of ours; None for anything else (a bug: re-raise)."""
    if isinstance(exc, ConnectError):
        return exc
    if isinstance(exc, ServiceError | SandboxError):
        return ConnectError(code_for_status(status_of(exc)), message_of(exc))
    return None


def error_response(code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=_STATUS.get(code, 500))


async def unary_request(request: Request) -> dict[str, Any]:
    return _as_object(await _read(request))


async def stream_request(request: Request) -> dict[str, Any]:
    """The one message of a server-streaming call."""
    body = await _read(request)
    if len(body) < 5:
        raise ConnectError("invalid_argument", "a streaming request holds one enveloped message")
    flags, length = struct.unpack(">BI", body[:5])
    if flags & 0x01:
        raise ConnectError("unimplemented", "compressed messages are not supported")
    return _as_object(body[5 : 5 + length])


def envelope(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":")).encode()
    return struct.pack(">BI", 0, len(data)) + data


def end_of_stream(error: ConnectError | None = None) -> bytes:
    payload: dict[str, Any] = {}
    if error is not None:
        payload["error"] = {"code": error.code, "message": error.message}
    data = json.dumps(payload).encode()
    return struct.pack(">BI", _END_STREAM, len(data)) + data


async def _read(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_REQUEST:
            raise ConnectError("resource_exhausted", "request message too large")
    return bytes(body)


def _as_object(data: bytes) -> dict[str, Any]:
    try:
        message = json.loads(data or b"{}")
    except ValueError:
        raise ConnectError("invalid_argument", "the request is not valid JSON") from None
    if not isinstance(message, dict):
        raise ConnectError("invalid_argument", "the request must be a JSON object")
    return message
