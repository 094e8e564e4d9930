"""`analyst serve`: single-user mode only on loopback, first-start hint, a working server."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from sandbox_analyst.api import is_loopback
from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from tests.conftest import LiveServer


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_single_user_mode_is_refused_off_loopback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--single-user"])
    assert result.exit_code == 2
    assert "only allowed on a loopback address" in " ".join(result.output.split())


def test_single_user_mode_acts_as_a_local_admin(settings: Settings) -> None:
    server = LiveServer(settings, extra_args=["--single-user"])
    server.start()
    try:
        me = httpx.get(f"{server.base_url}/api/me", timeout=30)
        assert me.status_code == 200
        assert me.json()["role"] == "admin"
        created = httpx.post(
            f"{server.base_url}/api/assistants", json={"name": "local"}, timeout=30
        )
        assert created.status_code == 201
    finally:
        server.stop()


def test_first_start_explains_how_to_create_a_key(live_server: LiveServer) -> None:
    live_server.start()
    assert httpx.get(f"{live_server.base_url}/api/me", timeout=30).status_code == 401
    live_server.stop()
    assert live_server.log is not None
    assert "analyst users create NAME --admin" in live_server.log.read_text()
