"""`analyst users ...` and `analyst keys ...`: keys printed once, listed without secrets,
revocable."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services, Unauthorized


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ANALYST_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANALYST_DATABASE_URL", settings.effective_database_url)
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args))

    return invoke


def authenticate(settings: Settings, secret: str):  # type: ignore[no-untyped-def]
    async def check():  # type: ignore[no-untyped-def]
        async with Services.running(settings) as services:
            return await services.users.authenticate(secret)

    return asyncio.run(check())


def test_creating_a_user_prints_a_working_key_once(run, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    result = run("users", "create", "alice", "--admin")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    principal = authenticate(settings, secret)
    assert (principal.name, principal.is_admin) == ("alice", True)

    listed = run("keys", "list", "alice")
    assert listed.exit_code == 0
    assert secret not in listed.output
    assert secret[:10] in listed.output

    users = run("users", "list")
    assert "alice" in users.output
    assert "admin" in users.output


def test_duplicate_users_are_refused(run) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "create", "bob").exit_code == 0
    again = run("users", "create", "bob")
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_keys_can_be_added_and_revoked(run, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    run("users", "create", "carol")
    created = run("keys", "create", "carol", "--name", "laptop")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert authenticate(settings, secret).name == "carol"

    key_id = created.output.split("created key ")[1].split()[0]
    revoked = run("keys", "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(Unauthorized):
        authenticate(settings, secret)
    assert "revoked" in run("keys", "list", "carol").output


def test_unknown_users_and_keys_are_clear_errors(run) -> None:  # type: ignore[no-untyped-def]
    missing_user = run("keys", "create", "nobody")
    assert missing_user.exit_code == 1
    assert "no user 'nobody'" in missing_user.output
    missing_key = run("keys", "revoke", "nokey")
    assert missing_key.exit_code == 1
