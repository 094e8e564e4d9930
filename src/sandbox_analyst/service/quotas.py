"""Per-user quotas: how much one user may use. Each has a default for all users (the `quotas`
settings; live sessions: `sandbox.max_sessions_per_user`), and an admin may give a user their
own (`analyst users quota`, `PUT /api/admin/users/{name}/quota`), a number or "no limit".

    sessions             live sandbox sessions at once (frees when a session ends)
    turns_per_day        chat turns started since 00:00 UTC
    tokens_per_day       tokens the user's turns read and wrote since 00:00 UTC
    cpu_seconds_per_day  CPU seconds the user's code used since 00:00 UTC (the execution
                         log's; a run whose backend cannot tell, E2B, counts its wall-clock
                         seconds)
    storage_bytes        bytes of uploads and artifacts kept (frees when files are deleted)

Use is read from what is stored anyway (`usage.py`'s queries), so it holds across replicas
and restarts. Exceeding one raises `QuotaExceeded` (429): a turn is refused before anything is
stored, a running turn stops after the model call or code run that used the quota up (its
partial reply is kept), and an upload past the storage quota is not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from sandbox_analyst.config import Settings
from sandbox_analyst.service.errors import Forbidden, NotFound, QuotaExceeded, ValidationError
from sandbox_analyst.service.principal import Principal
from sandbox_analyst.service.usage import code_runs, stored_files, turn_usage
from sandbox_analyst.store import Database, User, UserQuota
from sandbox_analyst.store.database import AsyncSession

SESSIONS = "sessions"
TURNS_PER_DAY = "turns_per_day"
TOKENS_PER_DAY = "tokens_per_day"
CPU_SECONDS_PER_DAY = "cpu_seconds_per_day"
STORAGE_BYTES = "storage_bytes"

QUOTA_NAMES = (SESSIONS, TURNS_PER_DAY, TOKENS_PER_DAY, CPU_SECONDS_PER_DAY, STORAGE_BYTES)
DAILY = frozenset({TURNS_PER_DAY, TOKENS_PER_DAY, CPU_SECONDS_PER_DAY})
# The quotas a turn can run out of while it runs (turns are counted as they start).
RUNNING_TURN = frozenset({TOKENS_PER_DAY, CPU_SECONDS_PER_DAY})
_FREES_WHEN = {SESSIONS: "end a session", STORAGE_BYTES: "delete files"}

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def day_start(now: datetime) -> datetime:
    """00:00 UTC of `now`'s day: where daily quotas count from."""
    return datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)


@dataclass(frozen=True)
class Quota:
    """One quota as it stands for a user: its limit (None: none), whether it is the user's
    own or the default, what is used now and when it resets (None: it frees up instead)."""

    name: str
    limit: float | None
    own: bool
    used: float | None  # None: not known here (live sessions are counted by the server)
    resets_at: datetime | None
    frees_when: str | None

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used is not None and self.used >= self.limit

    def exceeded(self, *, asked: float | None = None) -> QuotaExceeded:
        assert self.limit is not None
        return QuotaExceeded(
            self.name,
            limit=self.limit,
            used=self.used or 0,
            resets_at=self.resets_at,
            frees_when=self.frees_when,
            asked=asked,
        )


@dataclass(frozen=True)
class UserQuotas:
    user_id: str
    name: str
    quotas: list[Quota]

    def __getitem__(self, name: str) -> Quota:
        return next(quota for quota in self.quotas if quota.name == name)


def _checked(name: str, value: float | None) -> float | None:
    if name not in QUOTA_NAMES:
        raise ValidationError(
            f"unknown quota {name!r}; the quotas are {', '.join(QUOTA_NAMES)}", field=name
        )
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValidationError(f"{name} must be a number >= 0, or null for no limit", field=name)
    if name == SESSIONS and value < 1:
        raise ValidationError("sessions must be at least 1, or null for no limit", field=name)
    if name != CPU_SECONDS_PER_DAY:
        if not float(value).is_integer():
            raise ValidationError(f"{name} must be a whole number", field=name)
        return int(value)
    return float(value)


def _any_limited(limits: Mapping[str, float | None], names: Iterable[str]) -> bool:
    return any(limits.get(name) is not None for name in names)


def _limits_a_running_turn(limits: Mapping[str, float | None]) -> bool:
    """Whether these limits (`check_turn`'s) can stop a turn midway: a daily quota of tokens
    or code seconds."""
    return _any_limited(limits, RUNNING_TURN)


class QuotaService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        live_sessions: Callable[[str], int] | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        """`live_sessions`: how many live sandbox sessions a user holds in this process;
        `clock`: what time it is (tests move it to the next day)."""
        self._db = db
        self._settings = settings
        self._live_sessions = live_sessions
        self._clock = clock

    def defaults(self) -> dict[str, float | None]:
        """Every user's limits, unless they have their own."""
        quotas = self._settings.quotas
        return {
            SESSIONS: self._settings.sandbox.max_sessions_per_user,
            TURNS_PER_DAY: quotas.turns_per_day,
            TOKENS_PER_DAY: quotas.tokens_per_day,
            CPU_SECONDS_PER_DAY: quotas.cpu_seconds_per_day,
            STORAGE_BYTES: quotas.storage_bytes,
        }

    async def own_limits(self, user_id: str) -> dict[str, float | None]:
        """The limits the user has of their own (a name missing: the default)."""
        async with self._db.session() as session:
            row = await session.get(UserQuota, user_id)
            return dict(row.limits) if row is not None else {}

    async def session_limit(self, user_id: str) -> int | None:
        """The user's own limit of live sessions; None: the server's default per user. A user
        whose own quota is "no limit" is bounded by the server's `max_sessions` only."""
        own = await self.own_limits(user_id)
        if SESSIONS not in own:
            return None
        limit = own[SESSIONS]
        return self._settings.sandbox.max_sessions if limit is None else int(limit)

    async def of(self, user_id: str) -> UserQuotas:
        """The user's quotas with what they use now."""
        async with self._db.session() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise NotFound(f"no user {user_id!r}")
            return await self._quotas(session, user)

    async def show(self, principal: Principal, name: str) -> UserQuotas:
        """The quotas of the user named `name`: an admin's, or the caller's own."""
        async with self._db.session() as session:
            user = await self._user(session, principal, name)
            return await self._quotas(session, user)

    async def set_limits(
        self,
        principal: Principal,
        name: str,
        limits: Mapping[str, float | None],
        *,
        defaults: Iterable[str] = (),
        replace: bool = False,
    ) -> UserQuotas:
        """Give the user named `name` their own `limits` (None: no limit); the quotas named
        in `defaults` go back to the default. `replace`: every quota not in `limits` goes
        back to the default too. Admins only."""
        if not principal.is_admin:
            raise Forbidden("only an admin may set quotas")
        changes = {quota: _checked(quota, value) for quota, value in limits.items()}
        back = set(defaults)
        for quota in back:
            _checked(quota, None)
        async with self._db.session() as session:
            user = await self._user(session, principal, name)
            row = await session.get(UserQuota, user.id)
            own = {} if row is None or replace else dict(row.limits)
            own.update(changes)
            for quota in back:
                own.pop(quota, None)
            if row is None:
                session.add(UserQuota(user_id=user.id, limits=own))
            else:
                row.limits = own
            await session.flush()
            return await self._quotas(session, user)

    async def limits(self, user_id: str) -> dict[str, float | None]:
        """The user's limits: their own, else the defaults (None: no limit)."""
        return {**self.defaults(), **await self.own_limits(user_id)}

    async def _limited(self, user_id: str, names: Iterable[str]) -> bool:
        """Whether any of these quotas has a limit for the user (else use is not read)."""
        return _any_limited(await self.limits(user_id), names)

    async def check_turn(self, user_id: str) -> dict[str, float | None]:
        """Before a turn starts: `QuotaExceeded` if any daily quota is used up. Returns the
        user's limits, which hold for the whole turn (`check_running_turn(limits=...)`)."""
        limits = await self.limits(user_id)
        if not _any_limited(limits, DAILY):
            return limits
        quotas = await self.of(user_id)
        for name in (TURNS_PER_DAY, TOKENS_PER_DAY, CPU_SECONDS_PER_DAY):
            if quotas[name].exhausted:
                raise quotas[name].exceeded()
        return limits

    async def check_running_turn(
        self, user_id: str, turn_tokens: int, *, limits: Mapping[str, float | None] | None = None
    ) -> QuotaExceeded | None:
        """During a turn, after a model call or a code run: the quota its tokens (not stored
        until it ends) or the day's code seconds have used up, if one is. `limits`: those
        `check_turn` returned (a user without these quotas then costs no database read)."""
        if limits is None:
            limits = await self.limits(user_id)
        if not _limits_a_running_turn(limits):
            return None
        quotas = await self.of(user_id)
        tokens = quotas[TOKENS_PER_DAY]
        if tokens.limit is not None and (tokens.used or 0) + turn_tokens >= tokens.limit:
            return QuotaExceeded(
                TOKENS_PER_DAY,
                limit=tokens.limit,
                used=(tokens.used or 0) + turn_tokens,
                resets_at=tokens.resets_at,
            )
        if quotas[CPU_SECONDS_PER_DAY].exhausted:
            return quotas[CPU_SECONDS_PER_DAY].exceeded()
        return None

    async def check_storage(self, user_id: str, adding: int) -> None:
        """Before keeping `adding` more bytes of the user's: `QuotaExceeded` past their
        storage quota."""
        if not await self._limited(user_id, (STORAGE_BYTES,)):
            return
        quota = (await self.of(user_id))[STORAGE_BYTES]
        if quota.limit is not None and (quota.used or 0) + adding > quota.limit:
            raise quota.exceeded(asked=adding)

    async def _user(self, session: AsyncSession, principal: Principal, name: str) -> User:
        user = await session.scalar(select(User).where(User.name == name))
        if user is None or (not principal.is_admin and user.id != principal.user_id):
            if not principal.is_admin:
                raise Forbidden("only an admin may see another user's quotas")
            raise NotFound(f"no user named {name!r}")
        return user

    async def _quotas(self, session: AsyncSession, user: User) -> UserQuotas:
        now = self._clock()
        today = day_start(now)
        tomorrow = today + timedelta(days=1)
        row = await session.get(UserQuota, user.id)
        own = dict(row.limits) if row is not None else {}
        turns = (await turn_usage(session, [user.id], today)).get(user.id)
        runs = (await code_runs(session, [user.id], today)).get(user.id)
        stored = (await stored_files(session, [user.id])).get(user.id)
        used: dict[str, float | None] = {
            SESSIONS: self._live_sessions(user.id) if self._live_sessions else None,
            TURNS_PER_DAY: turns.turns if turns else 0,
            TOKENS_PER_DAY: turns.tokens if turns else 0,
            CPU_SECONDS_PER_DAY: round(runs.cpu_seconds, 3) if runs else 0.0,
            STORAGE_BYTES: stored[1] if stored else 0,
        }
        defaults = self.defaults()
        return UserQuotas(
            user.id,
            user.name,
            [
                Quota(
                    name,
                    own[name] if name in own else defaults[name],
                    name in own,
                    used[name],
                    tomorrow if name in DAILY else None,
                    _FREES_WHEN.get(name),
                )
                for name in QUOTA_NAMES
            ],
        )
