"""Controlled egress on a live pool: code in the sandbox reaches the listed hosts through the
standard proxy variables (urllib, pandas, the Anthropic SDK in a subprocess), everything
else is refused with a message naming the policy, every connection lands in the records, and
the sandbox itself still has no network: inet sockets other than TCP to the relay stay
refused.

All hosts are on 127.0.0.1, which the pool's allow-list lists *by address* (non-public
addresses are refused otherwise)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from sandbox_analyst.sandbox.egress import EgressRecord
from sandbox_analyst.sandbox.errors import IsolationError
from sandbox_analyst.sandbox.local import LocalSandbox, SandboxPool
from sandbox_analyst.sandbox.local import pool as pool_module
from sandbox_analyst.sandbox.local.isolation import (
    IsolationReport,
    IsolationSettings,
    Layer,
    LayerName,
    LayerStatus,
)
from sandbox_analyst.testing import FakeLLMServer, Turn
from sandbox_analyst.testing.package_index import LocalPackageIndex
from tests.fixtures.egress import AGENT_SCRIPT, EgressRecorder
from tests.fixtures.sandboxes import sandbox_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV = b"city,sales\nLyon,3\nOslo,4\n"


class _Files(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = CSV if self.path.startswith("/data.csv") else b"not found"
        self.send_response(200 if body is CSV else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def file_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key="in-sandbox-key") as fake:
        yield fake


@pytest.fixture(scope="module")
def service_port() -> Iterator[int]:
    """Stands for the service's own API port: listed below, refused anyway."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture(scope="module")
def records() -> EgressRecorder:
    return EgressRecorder()


@pytest.fixture(scope="module")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A package index on 127.0.0.1, listed in the pool's egress: its simple URL."""
    index = LocalPackageIndex(tmp_path_factory.mktemp("egress-index"))
    index.add_wheel("egress-probe", "1.0", {"egress_probe/__init__.py": "VALUE = 'fetched'\n"})
    with index.serving() as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def egress_pool(
    tmp_path_factory: pytest.TempPathFactory,
    file_server: int,
    fake_model: FakeLLMServer,
    service_port: int,
    records: EgressRecorder,
    package_index: str,
) -> AsyncIterator[SandboxPool]:
    model_port = int(fake_model.url.rsplit(":", 1)[1])
    index_port = int(package_index.rsplit(":", 1)[1].split("/")[0])
    allow = [
        f"127.0.0.1:{index_port}",
        f"127.0.0.1:{file_server}",
        f"127.0.0.1:{model_port}",
        f"127.0.0.1:{service_port}",
        # A listed name resolving to an address that is not listed (with this port).
        f"localhost:{file_server + 1}",
        "169.254.169.254:80",
    ]
    settings = sandbox_settings(
        pool_size=1,
        preload=["pandas"],
        egress={"allow": allow, "service_ports": [service_port]},
        package_index=package_index,
    )
    data_dir = tmp_path_factory.mktemp("egress")
    pool = SandboxPool(settings, data_dir / "sandboxes", egress_sink=records)
    async with pool:
        report = pool.isolation_report
        if report is None or not report.layer(LayerName.NETWORK).active:
            pytest.skip("controlled egress needs the network namespace layer")
        yield pool


async def records_of(
    sandbox: LocalSandbox, records: EgressRecorder, count: int
) -> list[EgressRecord]:
    return await records.wait_for(count, sandbox.sandbox_id)


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox(egress_pool: SandboxPool) -> AsyncIterator[LocalSandbox]:
    sandbox = await egress_pool.acquire()
    yield sandbox
    await sandbox.close()


async def test_urllib_and_pandas_read_a_listed_host(
    sandbox: LocalSandbox, file_server: int, records: EgressRecorder
) -> None:
    url = f"http://127.0.0.1:{file_server}/data.csv"
    fetched = await sandbox.run_code(
        f"import urllib.request\nurllib.request.urlopen({url!r}).read()"
    )
    assert fetched.error is None, fetched.error
    assert fetched.text == repr(CSV)
    frame = await sandbox.run_code(f"import pandas as pd\nint(pd.read_csv({url!r}).sales.sum())")
    assert frame.error is None, frame.error
    assert frame.text == "7"
    mine = await records_of(sandbox, records, 2)
    assert [(r.method, r.host, r.port, r.path, r.allowed) for r in mine] == [
        ("GET", "127.0.0.1", file_server, "/data.csv", True)
    ] * 2


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:{other}/data.csv", "127.0.0.1:{other} is not in the egress allow-list"),
        ("http://localhost:{other}/data.csv", "localhost resolves to 127.0.0.1, a non-public"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata addr"),
        ("http://127.0.0.1:{service}/api/users", "port {service} on 127.0.0.1 is the service's"),
        ("https://203.0.113.9/", "203.0.113.9:443 is not in the egress allow-list"),
        ("http://example.com/data.csv", "example.com:80 is not in the egress allow-list"),
    ],
)
async def test_refusals_name_the_policy_and_are_recorded(
    sandbox: LocalSandbox,
    file_server: int,
    service_port: int,
    records: EgressRecorder,
    url: str,
    says: str,
) -> None:
    ports = {"files": file_server, "other": file_server + 1, "service": service_port}
    url, says = url.format(**ports), says.format(**ports)
    execution = await sandbox.run_code(f"import pandas as pd\npd.read_csv({url!r})")
    assert execution.error is not None
    assert says in execution.error.value
    assert "sandbox.egress" in execution.error.value
    (record,) = await records_of(sandbox, records, 1)
    assert not record.allowed
    assert says in record.reason


async def test_the_sandbox_still_has_no_network_of_its_own(
    sandbox: LocalSandbox, file_server: int
) -> None:
    execution = await sandbox.run_code(
        "import socket\n"
        "outcomes = {}\n"
        "def attempt(name, action):\n"
        "    try:\n"
        "        action()\n"
        "        outcomes[name] = 'reached'\n"
        "    except OSError as exc:\n"
        "        outcomes[name] = type(exc).__name__\n"
        f"attempt('host tcp', lambda: socket.create_connection(('127.0.0.1', {file_server}), 2))\n"
        "attempt('outside tcp', lambda: socket.create_connection(('1.1.1.1', 443), 2))\n"
        "attempt('dns', lambda: socket.getaddrinfo('example.com', 443))\n"
        "attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))\n"
        "attempt('ipv6', lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM))\n"
        "attempt('raw', lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1))\n"
        "attempt('listen', lambda: socket.create_server(('127.0.0.1', 0)))\n"
        "outcomes"
    )
    outcomes = eval(execution.text)
    assert "reached" not in outcomes.values(), outcomes
    for name in ("udp", "ipv6", "raw"):
        assert outcomes[name] == "PermissionError", outcomes  # seccomp


async def test_the_proxy_variables_are_set_and_only_the_relay_answers(
    sandbox: LocalSandbox,
) -> None:
    execution = await sandbox.run_code(
        "import os, urllib.request\n"
        "(os.environ['HTTP_PROXY'], os.environ['https_proxy'], os.environ['NO_PROXY'],"
        " urllib.request.getproxies()['http'])"
    )
    assert execution.text == repr(("http://127.0.0.1:3128",) * 2 + ("", "http://127.0.0.1:3128"))


async def test_an_agent_sdk_in_the_sandbox_talks_to_its_model_through_the_proxy(
    sandbox: LocalSandbox, fake_model: FakeLLMServer, records: EgressRecorder
) -> None:
    arguments = {"path": "summary.md", "content": "# Sales\nLyon 3, Oslo 4\n"}
    fake_model.add_turns(Turn(tool_calls=[("write_file", arguments)]), Turn(text="Done."))
    await sandbox.files.write("agent.py", AGENT_SCRIPT.encode())
    result = await sandbox.run_command(
        "python agent.py",
        env_vars={"ANTHROPIC_BASE_URL": fake_model.url, "ANTHROPIC_API_KEY": "in-sandbox-key"},
        timeout=60,
    )
    assert result.exit_code == 0, result.stderr
    assert "FINAL: Done." in result.stdout
    assert await sandbox.files.read_bytes("summary.md") == arguments["content"].encode()
    posts = fake_model.model_requests[-2:]
    assert [request.path for request in posts] == ["/v1/messages"] * 2
    assert posts[1].json is not None
    assert json.dumps(posts[1].json).count("tool_result") == 1
    mine = await records_of(sandbox, records, 2)
    assert all(r.allowed and r.path == "/v1/messages" for r in mine)


async def test_pip_installs_from_the_listed_index_through_the_proxy(
    sandbox: LocalSandbox, records: EgressRecorder
) -> None:
    installed = await sandbox.run_code("%pip install egress-probe")
    assert installed.error is None, installed.error
    assert "Successfully installed egress-probe-1.0" in "".join(installed.logs.stdout)
    imported = await sandbox.run_code("import egress_probe\negress_probe.VALUE")
    assert imported.text == "'fetched'"
    child = await sandbox.run_code(
        "python3 -c 'import egress_probe; print(egress_probe.VALUE)'", language="bash"
    )
    assert child.logs.stdout == ["fetched\n"]
    # In a hidden directory: not among the files the code made.
    assert [entry.name for entry in await sandbox.files.list()] == [".pip-packages"]
    mine = await records_of(sandbox, records, 2)
    assert all(record.allowed for record in mine)


async def test_pip_from_an_index_the_policy_does_not_list_is_refused(
    sandbox: LocalSandbox, service_port: int
) -> None:
    refused = await sandbox.run_code(
        f"%pip install --index-url http://127.0.0.1:{service_port + 1}/simple egress-probe"
    )
    assert refused.error is not None
    assert refused.error.name == "PackageInstallFailed"
    assert f"127.0.0.1:{service_port + 1} is not in the egress allow-list" in refused.error.value


async def test_without_a_network_namespace_an_egress_pool_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker allowed inet sockets outside its own namespace would have the host's whole
    network: the pool says why it cannot start instead (the layer is reported missing here
    the way a host without user namespaces reports it)."""
    real_detect = pool_module.detect

    def without_network(settings: IsolationSettings) -> IsolationReport:
        report = real_detect(settings)
        missing = Layer(LayerName.NETWORK, LayerStatus.UNAVAILABLE, "user namespaces are off")
        return IsolationReport(
            tuple(missing if layer.name == LayerName.NETWORK else layer for layer in report.layers)
        )

    monkeypatch.setattr(pool_module, "detect", without_network)
    settings = sandbox_settings(pool_size=0, preload=[], egress={"allow": ["127.0.0.1:9"]})
    with pytest.raises(IsolationError) as raised:
        async with SandboxPool(settings, tmp_path / "sandboxes"):
            pass
    assert "sandbox.egress.allow is set" in str(raised.value)
    assert "network namespace layer" in str(raised.value)
    assert "user namespaces are off" in str(raised.value)
