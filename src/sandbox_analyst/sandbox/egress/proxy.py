"""The egress proxy: HTTP CONNECT (TLS tunnels) and plain HTTP forwarding, checked against a
session's `EgressPolicy` on every connection.

It resolves names itself, checks every address a name resolves to and connects to the
address it checked (never resolving twice, so a name cannot change between the check and the
connection). A plain HTTP request is forwarded alone, with `Connection: close` both ways: the
next request on a kept-alive connection could be for another host or path, and is never let
through unchecked. Refusals are HTTP answers whose status line names the policy, so urllib,
requests, pandas and pip show the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from sandbox_analyst.sandbox.egress.policy import Address, Decision
from sandbox_analyst.sandbox.egress.session import EgressRecord, EgressSession

HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
DRAIN_TIMEOUT = 1.0
_CHUNK = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is allowed in header values
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_HOST = re.compile(r"[A-Za-z0-9._:-]+")  # names, IPv4, and IPv6 (brackets already removed)
_FRAMING = {"content-length", "transfer-encoding"}
# Hop-by-hop headers (RFC 9110 7.6.1) and the proxy's own: never forwarded.
_HOP_HEADERS = {
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
    "host",
}


class _Refused(Exception):
    def __init__(
        self, status: int, reason: str, *, record: bool = True, limit: bool = False
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.record = record
        self.limit = limit  # refused by the session's limits: recorded sparingly


@dataclass(frozen=True)
class _Request:
    method: str
    host: str
    port: int
    path: str | None  # None for CONNECT
    head: bytes  # what to send upstream (plain HTTP only)
    body: str  # "none", "length", "chunked"
    length: int = 0


async def serve_connection(
    session: EgressSession, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Handle one connection from the sandbox, from its first byte to its close."""
    started, clock = time.time(), time.monotonic()
    record = EgressRecord(session.session_id, "-", "-", 0, None, False, "", started_at=started)
    upstream: asyncio.StreamWriter | None = None
    recorded = True
    dropped = session.over_capacity()
    if dropped is not None:
        writer.close()
        session.record_limited(replace(record, reason=dropped))
        return
    try:
        refusal = session.admit()
        if refusal is not None:
            raise _Refused(429, refusal, limit=True)
        request = await _read_request(reader)
        record = replace(
            record, method=request.method, host=request.host, port=request.port, path=request.path
        )
        address, upstream_reader, upstream = await _open(session, request)
        record = replace(record, address=str(address), allowed=True, reason="allowed")
        if request.method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            await _send(session, upstream, request.head)
            sent = await _forward_body(session, request, reader, upstream)
            record = replace(record, bytes_sent=len(request.head) + sent)
        counts = await _pipe_both(session, reader, writer, upstream_reader, upstream, request)
        record = replace(
            record,
            bytes_sent=record.bytes_sent + counts[0],
            bytes_received=counts[1],
        )
        if counts[2]:
            record = replace(record, reason=counts[2])
    except _Refused as refused:
        record = replace(record, allowed=False, reason=refused.reason)
        await _answer(writer, refused.status, refused.reason)
        await _drain(reader)
        if refused.limit:
            session.record_limited(replace(record, duration_s=round(time.monotonic() - clock, 3)))
        recorded = refused.record and not refused.limit
    except (OSError, asyncio.IncompleteReadError) as exc:
        record = replace(record, reason=f"{record.reason or 'failed'}: connection broke ({exc})")
    finally:
        for stream in (upstream, writer):
            if stream is not None:
                stream.close()
        if recorded:
            session.record(replace(record, duration_s=round(time.monotonic() - clock, 3)))


async def _read_request(reader: asyncio.StreamReader) -> _Request:
    try:
        async with asyncio.timeout(HEAD_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.LimitOverrunError, ValueError) as exc:
        raise _Refused(431, "request head larger than 64 KiB") from exc
    except TimeoutError as exc:
        raise _Refused(408, "no request within 30 s", record=False) from exc
    except asyncio.IncompleteReadError as exc:
        raise _Refused(400, "connection closed before a request", record=False) from exc
    lines = head.decode("latin-1").split("\r\n")
    # A bare CR or LF, or another control character, is a line end to some servers and not
    # to us: a header or request hidden from the check. Refused, never forwarded.
    if any(_CONTROL.search(line) for line in lines):
        raise _Refused(400, "control characters in the request head")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _Refused(400, "not an HTTP/1.x proxy request")
    method, target, version = parts
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise _Refused(400, "malformed header line")
        headers.append((name, value.strip()))
    if method == "CONNECT":
        host, port = _authority(target, default_port=None)
        return _Request(method, host, port, None, b"", "none")
    if not target.lower().startswith("http://"):
        hint = " (https goes through CONNECT)" if target.lower().startswith("https:") else ""
        raise _Refused(400, f"the proxy takes absolute http:// URLs{hint}")
    url = urlsplit(target)
    host, port = _authority(url.netloc, default_port=80)
    path = url.path or "/"
    origin = path + (f"?{url.query}" if url.query else "")
    return _build_forwarded(method, host, port, origin, version, headers)


def _build_forwarded(
    method: str, host: str, port: int, origin: str, version: str, headers: list[tuple[str, str]]
) -> _Request:
    named = {name.lower(): value for name, value in headers}
    framing = [name.lower() for name, _ in headers if name.lower() in _FRAMING]
    if len(framing) != len(set(framing)):
        # Two lengths: the server might frame the body otherwise than we do, and read a
        # second request (to an unchecked path) from what we forwarded as this one's body.
        raise _Refused(400, "repeated Content-Length or Transfer-Encoding")
    listed_by_connection = {
        token.strip().lower() for token in named.get("connection", "").split(",") if token
    }
    if "transfer-encoding" in named:
        if named["transfer-encoding"].lower() != "chunked" or "content-length" in named:
            raise _Refused(400, "only chunked transfer coding, without Content-Length")
        body, length = "chunked", 0
    elif "content-length" in named:
        if not named["content-length"].isdigit():
            raise _Refused(400, "bad Content-Length")
        body, length = "length", int(named["content-length"])
    else:
        body, length = "none", 0
    authority = f"[{host}]" if ":" in host else host
    if port != 80:
        authority += f":{port}"
    out = [f"{method} {origin} {version}", f"Host: {authority}"]
    for name, value in headers:
        lower = name.lower()
        if lower in _HOP_HEADERS or lower in listed_by_connection:
            continue
        out.append(f"{name}: {value}")
    out.append("Connection: close")
    head = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
    return _Request(method, host, port, origin, head, body, length)


def _authority(text: str, *, default_port: int | None) -> tuple[str, int]:
    if "@" in text:
        raise _Refused(400, "credentials in the URL's authority are not passed on")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            host, port_text = text, ""
    if not port_text:
        if default_port is None:
            raise _Refused(400, "CONNECT needs host:port")
        port_text = str(default_port)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _Refused(400, f"bad port {port_text!r}")
    if not host:
        raise _Refused(400, "no host")
    if not host.isascii() or not _HOST.fullmatch(host):
        raise _Refused(400, f"{host!r} is not a host name or address (IDN names: use punycode)")
    return host.lower(), int(port_text)


async def _open(
    session: EgressSession, request: _Request
) -> tuple[Address, asyncio.StreamReader, asyncio.StreamWriter]:
    """Check the request, resolve it, check every address, connect to the first that takes."""
    decision = session.policy.check_request(request.host, request.port, request.path)
    _enforce(decision)
    addresses = await _resolve(request.host, request.port)
    for address in addresses:  # every one: a name must not hide a denied address
        _enforce(session.policy.check_address(request.host, address, request.port))
    failure: Exception | None = None
    for address in addresses:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(str(address), request.port)
        except (OSError, TimeoutError) as exc:
            failure = exc
            continue
        return address, reader, writer
    reason = str(failure) or type(failure).__name__
    raise _Refused(502, f"could not connect to {request.host}:{request.port}: {reason}")


def _enforce(decision: Decision) -> None:
    if not decision.allowed:
        raise _Refused(403, decision.reason)


async def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _Refused(502, f"cannot resolve {host}: {exc}") from exc
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise _Refused(502, f"cannot resolve {host}")
    return found


async def _forward_body(
    session: EgressSession,
    request: _Request,
    reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
) -> int:
    """Send the request's body (and nothing after it) upstream; returns its size."""
    sent = 0

    async def copy(count: int) -> None:
        nonlocal sent
        while count > 0:
            data = await reader.read(min(count, _CHUNK))
            if not data:
                raise asyncio.IncompleteReadError(b"", count)
            count -= len(data)
            await _send(session, upstream, data)
            sent += len(data)

    if request.body == "length":
        await copy(request.length)
    elif request.body == "chunked":
        while True:
            line = await reader.readuntil(b"\r\n")
            size_text = line[:-2].split(b";", 1)[0]
            # Strictly hex digits: int() would also take "0x10", "1_0" or " 10", which the
            # server may read as another size (and so another request).
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise _Refused(400, "bad chunk size")
            size = int(size_text, 16)
            await _send(session, upstream, line)
            if size == 0:
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    await _send(session, upstream, trailer)
                await _send(session, upstream, b"\r\n")
                break
            await copy(size)
            if await reader.readexactly(2) != b"\r\n":
                raise _Refused(400, "a chunk not ended by CRLF")
            await _send(session, upstream, b"\r\n")
    return sent


async def _send(session: EgressSession, stream: asyncio.StreamWriter, data: bytes) -> None:
    if not session.spend(len(data)):
        raise _Refused(429, _budget_spent(session), limit=True)
    stream.write(data)
    await stream.drain()


def _budget_spent(session: EgressSession) -> str:
    return (
        f"the session used its {session.limits.bytes_per_session} bytes of egress "
        "(sandbox.egress.max_bytes_per_session)"
    )


async def _pipe_both(
    session: EgressSession,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
    request: _Request,
) -> tuple[int, int, str | None]:
    """Relay until both directions end (a tunnel) or the response ends (plain HTTP): bytes
    sent, bytes received, and why it was cut short, if it was."""
    counts = [0, 0]
    cut: list[str] = []

    async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, index: int) -> None:
        try:
            while data := await source.read(_CHUNK):
                if not session.spend(len(data)):
                    cut.append(_budget_spent(session))
                    return
                counts[index] += len(data)
                sink.write(data)
                await sink.drain()
            if sink.can_write_eof():
                with contextlib.suppress(OSError):
                    sink.write_eof()
        except OSError:
            return

    downstream = asyncio.ensure_future(pump(upstream_reader, writer, 1))
    if request.method == "CONNECT":
        upward = asyncio.ensure_future(pump(reader, upstream, 0))
        _done, pending = await asyncio.wait(
            {upward, downstream}, return_when=asyncio.FIRST_COMPLETED
        )
        if cut:
            for task in pending:
                task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    else:
        # Whatever the client sends after its request is not forwarded: no second request.
        await downstream
    return counts[0], counts[1], (cut[0] if cut else None)


async def _drain(reader: asyncio.StreamReader) -> None:
    """Read (and drop) what the client still sends, briefly: closing a socket with unread
    data resets the connection, and the client would never see the refusal."""
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(DRAIN_TIMEOUT):
            left = HEAD_LIMIT
            while left > 0 and (data := await reader.read(left)):
                left -= len(data)


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    """An HTTP refusal: the reason in the status line (what clients print) and the body."""
    phrase = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in reason)
    body = f"egress refused: {phrase}\n".encode()
    head = (
        f"HTTP/1.1 {status} Egress refused: {phrase}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError, RuntimeError):
        writer.write(head.encode("latin-1") + body)
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # the client reads the answer, then sees the end
