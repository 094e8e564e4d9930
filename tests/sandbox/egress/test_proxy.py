"""The egress proxy against real sockets on 127.0.0.1: urllib as the client, small servers
as the hosts it may or may not reach, and the session's records as the audit trail."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox.egress import (
    DenyList,
    EgressLimits,
    EgressPolicy,
    EgressRecord,
    EgressSession,
)
from sandbox_analyst.sandbox.egress.proxy import serve_connection
from tests.fixtures.egress import EgressRecorder

pytestmark = pytest.mark.asyncio


@dataclass
class Upstream:
    """An HTTP/1.1 server that answers every request with its own raw bytes, and remembers
    what it received."""

    port: int = 0
    received: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = b""
        try:
            while True:  # everything until the client half-closes or a second passes quiet
                chunk = await asyncio.wait_for(reader.read(65536), 1.0)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"\r\n\r\n") or data.endswith(b"0\r\n\r\n"):
                    if b"Content-Length: " not in data.split(b"\r\n\r\n")[0]:
                        break
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        break
        except TimeoutError:
            pass
        self.received.append(data)
        body = b"seen " + data.split(b"\r\n", 1)[0]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()


@dataclass
class Proxy:
    session: EgressSession
    recorder: EgressRecorder
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def get(self, url: str, data: bytes | None = None) -> tuple[int, bytes]:
        """urllib through the proxy: (status, body), errors included."""
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": self.url, "https": self.url})
        )

        def fetch() -> tuple[int, bytes]:
            try:
                with opener.open(url, data=data, timeout=10) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, f"{error}".encode()
            except OSError as error:  # the connection was cut: no status at all
                return 0, str(error).encode()

        return await asyncio.to_thread(fetch)

    async def raw(self, request: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 10)
        writer.close()
        return answer


ProxyFactory = Callable[..., Awaitable[Proxy]]


@pytest_asyncio.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = Upstream()
    await server.start()
    yield server
    assert server.server is not None
    server.server.close()


@pytest_asyncio.fixture
async def make_proxy() -> AsyncIterator[ProxyFactory]:
    servers: list[asyncio.Server] = []
    sessions: list[EgressSession] = []

    async def make(*entries: str, limits: EgressLimits | None = None, **deny: object) -> Proxy:
        recorder = EgressRecorder()
        policy = EgressPolicy.from_entries(entries, DenyList(**deny))  # type: ignore[arg-type]
        session = EgressSession("session-1", policy, limits, recorder)
        sessions.append(session)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            session.track(task)
            await serve_connection(session, reader, writer)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return Proxy(session, recorder, server.sockets[0].getsockname()[1])

    yield make
    for session in sessions:
        session.close()
    for server in servers:
        server.close()


async def wait_for_records(proxy: Proxy, count: int) -> list[EgressRecord]:
    return await proxy.recorder.wait_for(count)


async def test_a_listed_host_is_fetched_and_recorded(make_proxy, upstream) -> None:
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}")
    status, body = await proxy.get(f"http://127.0.0.1:{upstream.port}/data.csv?x=1")
    assert status == 200
    assert body == b"seen GET /data.csv?x=1 HTTP/1.1"
    head = upstream.received[0].decode()
    assert f"Host: 127.0.0.1:{upstream.port}\r\n" in head
    assert "Connection: close\r\n" in head
    (record,) = await wait_for_records(proxy, 1)
    assert (record.session_id, record.method, record.host, record.port) == (
        "session-1",
        "GET",
        "127.0.0.1",
        upstream.port,
    )
    assert record.path == "/data.csv?x=1"
    assert record.allowed
    assert record.address == "127.0.0.1"
    assert record.bytes_sent == len(upstream.received[0])
    assert record.bytes_received > len(body)


async def test_an_unlisted_host_is_refused_naming_the_policy(make_proxy, upstream) -> None:
    proxy = await make_proxy("127.0.0.1:1")
    status, body = await proxy.get(f"http://127.0.0.1:{upstream.port}/data.csv")
    assert status == 403
    assert body.decode() == (
        f"HTTP Error 403: Egress refused: 127.0.0.1:{upstream.port} is not in the egress "
        "allow-list (sandbox.egress.allow)"
    )
    assert upstream.received == []
    (record,) = await wait_for_records(proxy, 1)
    assert not record.allowed
    assert record.address is None
    assert "not in the egress allow-list" in record.reason


async def test_a_tunnel_to_a_listed_host_carries_bytes_both_ways(make_proxy, upstream) -> None:
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}")
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1\r\n\r\n".encode())
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 200 Connection established\r\n\r\n"
    writer.write(b"TUNNELLED /x HTTP/1.1\r\n\r\n")
    answer = await reader.read()
    assert answer.endswith(b"seen TUNNELLED /x HTTP/1.1")
    writer.close()
    (record,) = await wait_for_records(proxy, 1)
    assert record.method == "CONNECT"
    assert record.allowed
    assert record.path is None
    assert record.bytes_sent == len(b"TUNNELLED /x HTTP/1.1\r\n\r\n")
    assert record.bytes_received == len(answer)


@pytest.mark.parametrize(
    ("entries", "target", "says"),
    [
        (["files.example.com:443"], "203.0.113.7:443", "203.0.113.7:443 is not in the egress"),
        (["{up}"], "127.0.0.1:1", "127.0.0.1:1 is not in the egress allow-list"),
        (["localhost:{port}"], "localhost:{port}", "localhost resolves to 127.0.0.1, a non-pub"),
        (["169.254.169.254:80"], "169.254.169.254:80", "169.254.169.254 is a cloud metadata"),
        (["{up}"], "[::ffff:127.0.0.1]:{port}", "[::ffff:127.0.0.1]:{port} is not in the egress"),
        (["data.example.com:80/public"], "data.example.com:80", "only for plain HTTP paths"),
    ],
)
async def test_refused_tunnels(make_proxy, upstream, entries, target, says) -> None:
    port = upstream.port
    listed = [entry.format(up=f"127.0.0.1:{port}", port=port) for entry in entries]
    proxy = await make_proxy(*listed)
    target = target.format(port=port)
    answer = await proxy.raw(f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
    status_line = answer.split(b"\r\n", 1)[0].decode()
    assert status_line.startswith("HTTP/1.1 403 Egress refused: "), status_line
    assert says.format(port=port) in status_line
    assert upstream.received == []
    (record,) = await wait_for_records(proxy, 1)
    assert not record.allowed
    assert record.method == "CONNECT"


async def test_the_services_own_port_is_refused_even_when_listed(make_proxy, upstream) -> None:
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}", service_ports=(upstream.port,))
    status, body = await proxy.get(f"http://127.0.0.1:{upstream.port}/api/users")
    assert status == 403
    assert f"port {upstream.port} on 127.0.0.1 is the service's own" in body.decode()
    assert upstream.received == []


async def test_bodies_are_forwarded_exactly_and_nothing_after_them(make_proxy, upstream) -> None:
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}")
    status, _ = await proxy.get(f"http://127.0.0.1:{upstream.port}/upload", data=b"a=1&b=2")
    assert status == 200
    assert upstream.received[0].endswith(b"\r\n\r\na=1&b=2")
    chunked = (
        f"POST http://127.0.0.1:{upstream.port}/c HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n"
        # A second request on the same connection, for a path never checked: not forwarded.
        f"GET http://127.0.0.1:{upstream.port}/second HTTP/1.1\r\n\r\n"
    ).encode()
    answer = await proxy.raw(chunked)
    assert answer.endswith(b"seen POST /c HTTP/1.1")
    forwarded = upstream.received[1]
    assert forwarded.endswith(b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert b"keep-alive" not in forwarded
    assert b"/second" not in forwarded
    assert len(upstream.received) == 2


async def test_only_absolute_http_urls_and_connect_are_proxied(make_proxy, upstream) -> None:
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}")
    answer = await proxy.raw(b"GET https://127.0.0.1/ HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Egress refused: the proxy takes absolute http")
    assert b"(https goes through CONNECT)" in answer
    answer = await proxy.raw(b"GET /relative HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_connections_per_minute_are_limited(make_proxy, upstream) -> None:
    proxy = await make_proxy(
        f"127.0.0.1:{upstream.port}", limits=EgressLimits(connections_per_minute=2)
    )
    url = f"http://127.0.0.1:{upstream.port}/"
    assert [(await proxy.get(url))[0] for _ in range(2)] == [200, 200]
    status, body = await proxy.get(url)
    assert status == 429
    assert "sandbox.egress.max_connections_per_minute" in body.decode()
    records = await wait_for_records(proxy, 3)
    assert [record.allowed for record in records] == [True, True, False]


async def test_the_byte_budget_cuts_a_session_off(make_proxy, upstream) -> None:
    proxy = await make_proxy(
        f"127.0.0.1:{upstream.port}", limits=EgressLimits(bytes_per_session=120)
    )
    url = f"http://127.0.0.1:{upstream.port}/"
    status, _ = await proxy.get(url)  # the request head fits, the answer does not
    assert status == 0
    assert proxy.session.bytes_used > 120
    (cut,) = await wait_for_records(proxy, 1)
    assert cut.allowed
    assert "sandbox.egress.max_bytes_per_session" in cut.reason
    status, body = await proxy.get(url)
    assert status == 429
    assert "sandbox.egress.max_bytes_per_session" in body.decode()


async def test_closing_the_session_cuts_its_open_tunnels(make_proxy, upstream) -> None:
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}")
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1\r\n\r\n".encode())
    await reader.readuntil(b"\r\n\r\n")
    proxy.session.close()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    (record,) = await wait_for_records(proxy, 1)
    assert record.allowed
    assert record.method == "CONNECT"
    writer.close()


async def test_a_flood_beyond_the_open_connections_limit_is_dropped_and_not_logged_one_by_one(
    make_proxy, upstream
) -> None:
    proxy = await make_proxy(
        f"127.0.0.1:{upstream.port}", limits=EgressLimits(concurrent_connections=2)
    )
    tunnels = []
    for _ in range(2):
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        tunnels.append(writer)
    for _ in range(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed at once, no answer
        writer.close()
    (first, *_) = await proxy.recorder.wait_for(1)
    assert not first.allowed
    assert "sandbox.egress.max_concurrent_connections" in first.reason
    assert len(proxy.recorder.records) < 20
    for writer in tunnels:
        writer.close()


@pytest.mark.parametrize(
    ("head", "says"),
    [
        (
            "POST {url} HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n",
            "repeated Content-Length or Transfer-Encoding",
        ),
        (
            "POST {url} HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "only chunked transfer coding, without Content-Length",
        ),
        ("GET {url} HTTP/1.1\r\nX-A: a\nContent-Length: 9\r\n\r\n", "control characters"),
        ("GET {url} HTTP/1.1\r\nX-A: a\rb\r\n\r\n", "control characters"),
        ("CONNECT b\u00fccher.example.com:443 HTTP/1.1\r\n\r\n", "use punycode"),
    ],
)
async def test_ambiguous_requests_are_refused_not_forwarded(
    make_proxy, upstream, head: str, says: str
) -> None:
    """What the proxy and the host could frame differently would let a second request, to a
    path or host never checked, ride inside the first."""
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}", "*.example.com:443")
    url = f"http://127.0.0.1:{upstream.port}/public"
    answer = await proxy.raw(head.format(url=url).encode("latin-1"))
    assert answer.startswith(b"HTTP/1.1 400 Egress refused: ")
    assert says in answer.decode("latin-1")
    assert upstream.received == []


@pytest.mark.parametrize("size", ["0x3", "+3", "3 ", "1_0"])
async def test_chunk_sizes_are_read_strictly(make_proxy, upstream, size: str) -> None:
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}")
    request = (
        f"POST http://127.0.0.1:{upstream.port}/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        f"\r\n{size}\r\nabc\r\n0\r\n\r\n"
    )
    answer = await proxy.raw(request.encode())
    # The head went upstream before the body was read; the bad size is never passed on.
    assert b"400 Egress refused: bad chunk size" in answer
    assert all(size.encode() not in received for received in upstream.received)


async def test_a_chunk_must_end_where_its_size_says(make_proxy, upstream) -> None:
    proxy = await make_proxy(f"127.0.0.1:{upstream.port}")
    request = (
        f"POST http://127.0.0.1:{upstream.port}/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        "\r\n3\r\nabcdef\r\n0\r\n\r\n"
    )
    answer = await proxy.raw(request.encode())
    assert b"400 Egress refused: a chunk not ended by CRLF" in answer
    assert all(b"abcdef" not in received for received in upstream.received)
