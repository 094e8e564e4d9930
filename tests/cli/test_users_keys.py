"""`analyst users ...` and `analyst keys ...`: keys printed once, listed without secrets,
revocable."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services, Unauthorized
from sandbox_analyst.service.users import hash_key
from sandbox_analyst.store import ApiKey, User


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


# Ids made before ids stopped starting with `-` are still stored; a person types them after
# `--`, which ends the options, as in any other command.
LEGACY_USER_ID = "-LegacyUser0000000000a"
LEGACY_KEY_ID = "-LegacyKey00000000000a"


def _store_legacy_user_and_key(settings: Settings) -> str:
    async def store() -> str:
        async with Services.running(settings) as services:
            async with services.db.session() as session:
                session.add(User(id=LEGACY_USER_ID, name="dash"))
            secret = "sa_" + "legacy" * 6
            async with services.db.session() as session:
                session.add(
                    ApiKey(
                        id=LEGACY_KEY_ID,
                        user_id=LEGACY_USER_ID,
                        prefix=secret[:10],
                        key_hash=hash_key(secret),
                    )
                )
            return secret

    return asyncio.run(store())


def test_every_id_argument_is_accepted_after_a_double_dash(run, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    secret = _store_legacy_user_and_key(settings)
    assert authenticate(settings, secret).name == "dash"

    listed = run("keys", "list", "--", LEGACY_USER_ID)
    assert listed.exit_code == 0, listed.output
    assert LEGACY_KEY_ID in listed.output

    created = run("keys", "create", "--name", "second", "--", LEGACY_USER_ID)
    assert created.exit_code == 0, created.output
    assert authenticate(settings, created.stdout.strip().splitlines()[-1]).name == "dash"

    revoked = run("keys", "revoke", "--", LEGACY_KEY_ID)
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(Unauthorized):
        authenticate(settings, secret)


def test_new_key_ids_can_be_typed_without_a_double_dash(run) -> None:  # type: ignore[no-untyped-def]
    run("users", "create", "dave")
    for n in range(20):  # a key id starting with `-` (1 in 64 before) failed here
        created = run("keys", "create", "dave", "--name", f"key {n}")
        key_id = created.output.split("created key ")[1].split()[0]
        revoked = run("keys", "revoke", key_id)
        assert revoked.exit_code == 0, revoked.output
