"""Where a manager's sandbox lives, from its arguments and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.sandbox import SandboxUsageError
from sandbox_analyst.sdk import resolve_location


@pytest.fixture(autouse=True)
def no_server_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANALYST_E2B_URL", "ANALYST_API_KEY", "E2B_API_KEY", "ANALYST_SANDBOX__BACKEND"):
        monkeypatch.delenv(name, raising=False)


def test_the_default_is_the_local_pool_with_the_effective_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANALYST_SANDBOX__TIMEOUT", "7")
    location = resolve_location()
    assert location.backend == "local"
    assert location.settings.data_dir == tmp_path
    assert location.sandbox.backend == "local"
    assert location.sandbox.timeout == 7


def test_an_e2b_key_in_the_environment_does_not_move_sandboxes_off_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("E2B_API_KEY", "e2b_from_the_environment")
    assert resolve_location().backend == "local"


def test_explicit_settings_replace_the_environment(tmp_path: Path) -> None:
    location = resolve_location(settings=Settings(data_dir=tmp_path / "explicit"))
    assert location.settings.data_dir == tmp_path / "explicit"


def test_a_server_needs_an_http_url_and_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SandboxUsageError, match="ANALYST_E2B_URL"):
        resolve_location(backend="server")
    with pytest.raises(SandboxUsageError, match="ANALYST_API_KEY"):
        resolve_location(server_url="http://127.0.0.1:49999")
    monkeypatch.setenv("ANALYST_E2B_URL", "127.0.0.1:49999")
    with pytest.raises(SandboxUsageError, match="http://"):
        resolve_location(api_key="sa_key")


def test_server_arguments_do_not_apply_to_the_local_pool() -> None:
    with pytest.raises(SandboxUsageError, match="server_url= and api_key="):
        resolve_location(backend="local", api_key="sa_key")
    with pytest.raises(SandboxUsageError, match="unknown backend"):
        resolve_location(backend="cloud")


def test_a_server_is_the_e2b_backend_on_the_server_s_one_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    location = resolve_location(server_url="http://127.0.0.1:49999/", api_key="sa_key")
    assert location.backend == "server"
    e2b = location.sandbox.e2b
    assert location.sandbox.backend == "e2b"
    assert e2b.api_url == e2b.sandbox_url == "http://127.0.0.1:49999"
    assert e2b.api_key is not None
    assert e2b.api_key.get_secret_value() == "sa_key"
    monkeypatch.setenv("ANALYST_E2B_URL", "https://analyst.internal:49999")
    monkeypatch.setenv("ANALYST_API_KEY", "sa_from_env")
    from_env = resolve_location()
    assert from_env.backend == "server"
    assert from_env.sandbox.e2b.api_url == "https://analyst.internal:49999"
    assert from_env.sandbox.e2b.api_key.get_secret_value() == "sa_from_env"


def test_e2b_takes_its_key_from_the_argument_or_e2b_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    explicit = resolve_location(backend="e2b", api_key="e2b_explicit")
    assert explicit.sandbox.backend == "e2b"
    assert explicit.sandbox.e2b.api_key.get_secret_value() == "e2b_explicit"
    assert explicit.sandbox.e2b.api_url is None  # E2B's own URLs
    monkeypatch.setenv("E2B_API_KEY", "e2b_from_env")
    assert resolve_location(backend="e2b").sandbox.e2b.api_key.get_secret_value() == (
        "e2b_from_env"
    )
