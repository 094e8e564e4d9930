"""Per-user quotas as the service keeps them: a default for all users from the settings, a
user's own limits (a number or no limit) set by an admin, today's use read from what is
stored, and each daily quota tripping and resetting at the next 00:00 UTC (a clock moved on,
never a sleep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox_analyst.service import (
    AssistantCreate,
    Forbidden,
    NotFound,
    Principal,
    QuotaExceeded,
    QuotaService,
    Services,
    ValidationError,
    public_error,
)
from sandbox_analyst.store import Execution, FileRecord

NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 3, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOON)


@pytest.fixture
def quotas(services: Services, clock: Clock) -> QuotaService:
    return QuotaService(services.db, services.settings, clock=clock)


async def turn_at(
    services: Services, principal: Principal, when: datetime, *, tokens: tuple[int, int] = (0, 0)
) -> None:
    """A finished turn of `principal`'s, started at `when`, that used `tokens` (in, out)."""
    name = f"analyst {when.isoformat()} {tokens}"
    assistant = await services.assistants.create(principal, AssistantCreate(name=name))
    conversation = await services.conversations.create(principal, assistant.id)
    message = await services.conversations.append_message(
        conversation.id,
        "assistant",
        "done",
        usage={"input_tokens": tokens[0], "output_tokens": tokens[1]},
    )
    async with services.db.session() as session:
        stored = await session.get(type(message), message.id)
        assert stored is not None
        stored.created_at = when
        await session.flush()


async def code_run_at(
    services: Services, principal: Principal, when: datetime, seconds: float
) -> None:
    async with services.db.session() as session:
        session.add(
            Execution(
                conversation_id="c",
                owner_id=principal.user_id,
                code="work()",
                status="ok",
                duration_s=seconds,
                created_at=when,
            )
        )
        await session.flush()


async def test_limits_are_the_defaults_unless_the_user_has_their_own(
    services: Services, alice: Principal, bob: Principal, root: Principal
) -> None:
    settings = services.settings.model_copy(
        update={"quotas": services.settings.quotas.model_copy(update={"turns_per_day": 50})}
    )
    quotas = QuotaService(services.db, settings)

    await quotas.set_limits(root, "alice", {"turns_per_day": 3, "tokens_per_day": None})

    mine = await quotas.limits(alice.user_id)
    assert (mine["turns_per_day"], mine["tokens_per_day"]) == (3, None)  # None: no limit
    assert mine["sessions"] == settings.sandbox.max_sessions_per_user
    theirs = await quotas.limits(bob.user_id)
    assert (theirs["turns_per_day"], theirs["tokens_per_day"]) == (50, None)
    shown = await quotas.show(alice, "alice")
    assert (shown["turns_per_day"].own, shown["storage_bytes"].own) == (True, False)


async def test_setting_merges_clearing_goes_back_to_the_defaults(
    quotas: QuotaService, alice: Principal, root: Principal
) -> None:
    await quotas.set_limits(root, "alice", {"turns_per_day": 3})
    await quotas.set_limits(root, "alice", {"storage_bytes": 1000})
    assert await quotas.own_limits(alice.user_id) == {"turns_per_day": 3, "storage_bytes": 1000}

    await quotas.set_limits(root, "alice", {}, defaults=["turns_per_day"])
    assert await quotas.own_limits(alice.user_id) == {"storage_bytes": 1000}

    await quotas.set_limits(root, "alice", {"sessions": 2}, replace=True)
    assert await quotas.own_limits(alice.user_id) == {"sessions": 2}
    assert await quotas.session_limit(alice.user_id) == 2


async def test_only_admins_set_quotas_and_users_see_only_their_own(
    quotas: QuotaService, alice: Principal, bob: Principal, root: Principal
) -> None:
    with pytest.raises(Forbidden):
        await quotas.set_limits(alice, "alice", {"turns_per_day": 1000})
    with pytest.raises(Forbidden):
        await quotas.show(alice, "bob")
    assert (await quotas.show(alice, "alice")).name == "alice"
    assert (await quotas.show(root, "bob")).name == "bob"
    with pytest.raises(NotFound, match="nobody"):
        await quotas.show(root, "nobody")


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"turns_per_day": -1}, "turns_per_day"),
        ({"storage_bytes": 1.5}, "storage_bytes"),
        ({"sessions": 0}, "sessions"),
        ({"gpus": 1}, "gpus"),
    ],
)
async def test_bad_limits_are_refused_by_name(
    quotas: QuotaService, alice: Principal, root: Principal, limits: dict, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await quotas.set_limits(root, "alice", limits)
    assert refused.value.field == field
    assert await quotas.own_limits(alice.user_id) == {}


async def test_turns_per_day_trips_and_resets_at_midnight_utc(
    services: Services, quotas: QuotaService, clock: Clock, alice: Principal, root: Principal
) -> None:
    await quotas.set_limits(root, "alice", {"turns_per_day": 2})
    await turn_at(services, alice, NOON - timedelta(days=1))  # yesterday's: not counted
    await turn_at(services, alice, NOON - timedelta(hours=1))
    await quotas.check_turn(alice.user_id)
    await turn_at(services, alice, NOON)

    with pytest.raises(QuotaExceeded) as refused:
        await quotas.check_turn(alice.user_id)
    error = refused.value
    assert (error.quota, error.limit, error.used, error.resets_at) == (
        "turns_per_day",
        2,
        2,
        MIDNIGHT,
    )
    assert "turns_per_day" in error.message
    assert "2026-12-03T00:00:00Z" in error.message

    clock.now = MIDNIGHT + timedelta(seconds=1)
    await quotas.check_turn(alice.user_id)
    assert (await quotas.show(alice, "alice"))["turns_per_day"].used == 0


async def test_tokens_per_day_trips_before_a_turn_and_during_one(
    services: Services, quotas: QuotaService, clock: Clock, alice: Principal, root: Principal
) -> None:
    await quotas.set_limits(root, "alice", {"tokens_per_day": 1000})
    await turn_at(services, alice, NOON, tokens=(600, 100))
    await quotas.check_turn(alice.user_id)  # 700 of 1000: a turn may start

    assert await quotas.check_running_turn(alice.user_id, 299) is None
    during = await quotas.check_running_turn(alice.user_id, 300)
    assert during is not None
    assert (during.quota, during.used) == ("tokens_per_day", 1000)

    await turn_at(services, alice, NOON, tokens=(250, 50))
    with pytest.raises(QuotaExceeded, match="tokens_per_day"):
        await quotas.check_turn(alice.user_id)
    clock.now = NOON + timedelta(days=1)
    await quotas.check_turn(alice.user_id)


async def test_the_limits_a_turn_started_with_hold_until_it_ends(
    services: Services, quotas: QuotaService, alice: Principal, root: Principal
) -> None:
    """Read once as the turn starts (a user without daily quotas then costs no read at each
    step); a quota set while the turn runs counts from the next one."""
    limits = await quotas.check_turn(alice.user_id)
    await quotas.set_limits(root, "alice", {"tokens_per_day": 10})
    assert await quotas.check_running_turn(alice.user_id, 1000, limits=limits) is None

    limits = await quotas.check_turn(alice.user_id)
    during = await quotas.check_running_turn(alice.user_id, 1000, limits=limits)
    assert during is not None
    assert during.quota == "tokens_per_day"


async def test_cpu_seconds_per_day_trips_and_resets(
    services: Services, quotas: QuotaService, clock: Clock, alice: Principal, root: Principal
) -> None:
    await quotas.set_limits(root, "alice", {"cpu_seconds_per_day": 10.5})
    await code_run_at(services, alice, NOON, 10.0)
    assert await quotas.check_running_turn(alice.user_id, 0) is None
    await code_run_at(services, alice, NOON, 0.5)

    during = await quotas.check_running_turn(alice.user_id, 0)
    assert during is not None
    assert (during.quota, during.used, during.limit) == ("cpu_seconds_per_day", 10.5, 10.5)
    with pytest.raises(QuotaExceeded, match="cpu_seconds_per_day"):
        await quotas.check_turn(alice.user_id)

    clock.now = MIDNIGHT
    await quotas.check_turn(alice.user_id)


async def test_storage_bytes_count_what_is_kept_and_have_no_reset_time(
    services: Services, quotas: QuotaService, alice: Principal, root: Principal
) -> None:
    await quotas.set_limits(root, "alice", {"storage_bytes": 100})
    async with services.db.session() as session:
        for size in (40, 50):
            session.add(
                FileRecord(
                    owner_id=alice.user_id,
                    name="f.csv",
                    size=size,
                    sha256="0" * 64,
                    media_type="text/csv",
                    kind="upload",
                    storage_key=f"key-{size}",
                )
            )
        await session.flush()
    await quotas.check_storage(alice.user_id, 10)

    with pytest.raises(QuotaExceeded) as refused:
        await quotas.check_storage(alice.user_id, 11)
    error = refused.value
    assert (error.quota, error.used, error.resets_at) == ("storage_bytes", 90, None)
    assert "delete files" in error.message
    public = public_error(error)
    assert public is not None
    assert (public.code, public.http_status) == ("quota_exceeded", 429)
    assert public.details["resets_at"] is None
    assert public.details["frees_when"] == "delete files"
    assert public.details["asked"] == 11
    assert public.retry_after() == {}


async def test_a_daily_quota_error_says_when_to_retry(alice: Principal) -> None:
    error = QuotaExceeded("turns_per_day", limit=5, used=5, resets_at=MIDNIGHT)
    public = public_error(error)
    assert public is not None
    assert public.details == {
        "quota": "turns_per_day",
        "limit": 5,
        "used": 5,
        "resets_at": "2026-12-03T00:00:00Z",
    }
    assert public.retry_after(now=MIDNIGHT - timedelta(hours=1)) == {"Retry-After": "3600"}
    # Never 0 (or negative) for a reset that has just passed.
    assert public.retry_after(now=MIDNIGHT + timedelta(seconds=5)) == {"Retry-After": "1"}


async def test_without_limits_nothing_is_refused(quotas: QuotaService, alice: Principal) -> None:
    await quotas.check_turn(alice.user_id)
    assert await quotas.check_running_turn(alice.user_id, 10**12) is None
    await quotas.check_storage(alice.user_id, 10**15)
