"""Against a real `analyst serve`, over raw sockets: JSON bodies over their limit are refused
with a 413 before they are read (declared length) or as soon as they pass it (chunked), the
connection closed; uploads keep their own limit; and a client that never finishes its request
headers is cut off after `server.header_timeout_s`, however it trickles."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from tests.api.conftest import CSV_BYTES, bearer
from tests.conftest import LiveServer, fresh_database

MAX_JSON_KB = 4
MAX_V1_MB = 1
HEADER_TIMEOUT_S = 1
# Waits are bounded by this, never measured: every wait ends much sooner when all is well.
PATIENCE_S = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    directory = tmp_path_factory.mktemp("limits")
    with fresh_database(directory) as url, pytest.MonkeyPatch.context() as env:
        settings = Settings(
            data_dir=directory / "data", database_url=url, server={"max_upload_mb": 1}
        )

        async def seed() -> str:
            async with Services.running(settings) as services:
                user = await services.users.create_user("limits")
                return (await services.users.create_key(user.id)).secret

        key = asyncio.run(seed())
        env.setenv("ANALYST_SERVER__MAX_JSON_KB", str(MAX_JSON_KB))
        env.setenv("ANALYST_OPENAI_COMPAT__MAX_REQUEST_MB", str(MAX_V1_MB))
        env.setenv("ANALYST_SERVER__HEADER_TIMEOUT_S", str(HEADER_TIMEOUT_S))
        live = LiveServer(settings)
        live.start()
        try:
            yield live, key
        finally:
            live.stop()


def connect(live: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=PATIENCE_S)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def request_head(key: str, path: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {key}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    server: tuple[LiveServer, str],
) -> None:
    live, key = server
    with connect(live) as sock:
        # Only the headers: the answer must come without the server waiting for 10 MB.
        sock.sendall(
            request_head(
                key, "/api/assistants", Content_Type="application/json", Content_Length="10000000"
            )
        )
        status, headers, body = parse(read_until_closed(sock))
    assert status == 413
    assert headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["code"] == "payload_too_large"
    assert f"{MAX_JSON_KB} KiB" in error["message"]
    assert "server.max_json_kb" in error["message"]


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(
    server: tuple[LiveServer, str],
) -> None:
    live, key = server
    chunk = b"a" * 1024
    sent = 0
    with connect(live) as sock:
        sock.sendall(
            request_head(
                key, "/api/assistants", Content_Type="application/json", Transfer_Encoding="chunked"
            )
        )
        opening = b'{"name": "x", "instructions": "'
        sock.sendall(b"%x\r\n%s\r\n" % (len(opening), opening))
        try:
            while sent < 50 * 1024 * 1024:  # the server stops us long before this
                sock.sendall(b"400\r\n" + chunk + b"\r\n")
                sent += len(chunk)
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = read_until_closed(sock)
    status, _headers, body = parse(response)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert sent < 10 * 1024 * 1024  # cut off, not read to the end


def test_bodies_within_their_limits_are_taken(server: tuple[LiveServer, str]) -> None:
    live, key = server
    with httpx.Client(base_url=live.base_url, headers=bearer(key), timeout=PATIENCE_S) as http:
        small = http.post("/api/assistants", json={"name": "small", "instructions": "x" * 1000})
        assert small.status_code == 201, small.text
        # An upload is not JSON: it streams to storage under `server.max_upload_mb` (1 MiB).
        upload = CSV_BYTES + b"Rome,1\n" * 20_000  # 140 KB, well over the JSON limit
        uploaded = http.post("/api/files", files={"file": ("big.csv", upload)})
        assert uploaded.status_code == 201, uploaded.text
        # /v1 carries files inline: it has a limit of its own, above the JSON one.
        inline = http.post(
            "/v1/chat/completions",
            json={"model": "nobody", "messages": [{"role": "user", "content": "x" * 100_000}]},
        )
        assert inline.status_code == 404  # past the body limit, to the unknown model


def test_v1_answers_an_oversized_body_in_openai_shape(server: tuple[LiveServer, str]) -> None:
    live, key = server
    response = httpx.post(
        f"{live.base_url}/v1/chat/completions",
        headers=bearer(key),
        json={"model": "x", "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}]},
        timeout=PATIENCE_S,
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["type"] == "invalid_request_error"
    assert "openai_compat.max_request_mb" in error["message"]


def test_half_a_request_line_is_answered_408_and_closed(server: tuple[LiveServer, str]) -> None:
    live, _key = server
    with connect(live) as sock:
        sock.sendall(b"GET /api/hea")
        status, _headers, body = parse(read_until_closed(sock))
    assert status == 408
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_trickling_header_bytes_does_not_keep_a_connection_open(
    server: tuple[LiveServer, str],
) -> None:
    live, _key = server
    trickle = b"GET /api/health HTTP/1.1\r\nX-Slow: " + b"a" * 10_000
    with connect(live) as sock:
        closed = False
        for byte in trickle:  # a byte every 50 ms: about 500 s if never cut off
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sock.settimeout(0.05)
            try:
                if sock.recv(65536) is not None:
                    closed = True  # the 408, or the end of the connection
                    break
            except TimeoutError:
                continue
    assert closed


def test_a_connection_that_sends_nothing_is_closed(server: tuple[LiveServer, str]) -> None:
    live, _key = server
    with connect(live) as sock:
        assert read_until_closed(sock) == b""


def test_the_deadline_covers_headers_only_and_each_request_of_a_connection(
    server: tuple[LiveServer, str],
) -> None:
    live, key = server
    boundary = "slowbody"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="slow.csv"\r\n\r\n'
        ).encode()
        + CSV_BYTES
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = request_head(
        key,
        "/api/files",
        Content_Type=f"multipart/form-data; boundary={boundary}",
        Content_Length=str(len(body)),
    )
    with connect(live) as sock:
        for _request in range(2):  # the same keep-alive connection, twice
            sock.sendall(head)
            for start in range(0, len(body), 8):  # the body may take longer than the headers
                sock.sendall(body[start : start + 8])
                time.sleep(HEADER_TIMEOUT_S * 1.5 / (len(body) / 8))
            response = b""
            while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
                response += sock.recv(65536)
            status, headers, _body = parse(response)
            assert status == 201, response
            assert headers.get("connection") != "close"
