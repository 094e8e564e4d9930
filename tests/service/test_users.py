"""Users and API keys: hashed at rest, shown once, revocable, last use recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sandbox_analyst.service import Conflict, NotFound, Services, Unauthorized, ValidationError
from sandbox_analyst.store import ApiKey


async def test_a_key_authenticates_its_user_and_is_stored_only_hashed(services: Services) -> None:
    user = await services.users.create_user("carol", admin=True)
    created = await services.users.create_key("carol", name="laptop")
    principal = await services.users.authenticate(created.secret)
    assert (principal.user_id, principal.name, principal.is_admin) == (user.id, "carol", True)
    async with services.db.session() as session:
        stored = (await session.scalars(select(ApiKey))).one()
    assert created.secret not in (stored.key_hash, stored.prefix, stored.name)
    assert created.secret.startswith(stored.prefix)
    assert stored.last_used_at is not None


async def test_revoked_and_unknown_keys_are_refused(services: Services) -> None:
    await services.users.create_user("dave")
    created = await services.users.create_key("dave")
    await services.users.revoke_key(created.record.id)
    with pytest.raises(Unauthorized, match="revoked"):
        await services.users.authenticate(created.secret)
    with pytest.raises(Unauthorized):
        await services.users.authenticate(created.secret[:-1] + "x")
    with pytest.raises(Unauthorized):
        await services.users.authenticate("not-even-our-format")
    with pytest.raises(NotFound):
        await services.users.revoke_key("no-such-key")


async def test_user_names_are_unique_and_clean(services: Services) -> None:
    await services.users.create_user("erin")
    with pytest.raises(Conflict):
        await services.users.create_user("erin")
    with pytest.raises(ValidationError):
        await services.users.create_user("bad\nname")
    with pytest.raises(ValidationError):
        await services.users.create_user("   ")


async def test_the_local_admin_is_created_once(services: Services) -> None:
    first = await services.users.ensure_local_admin()
    second = await services.users.ensure_local_admin()
    assert first == second
    assert first.is_admin
    assert await services.users.count_users() == 1
