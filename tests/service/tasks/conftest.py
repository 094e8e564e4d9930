"""Tasks on real services (`model_services`, tests/fixtures/services.py): helpers to make a
user, follow a run's events and wait for its end."""

from __future__ import annotations

from sandbox_analyst.service import Principal, Services, TaskDetail, TaskRun


async def user(services: Services, name: str) -> Principal:
    record = await services.users.create_user(name)
    return Principal(user_id=record.id, name=record.name, is_admin=False)


async def events_of(run: TaskRun) -> list:
    """Every event of the run, from the first to `task_end`."""
    events, index = [], 0
    while (event := await run.next_event(index)) is not None:
        events.append(event)
        index += 1
    return events


async def finished(services: Services, principal: Principal, run: TaskRun) -> TaskDetail:
    await run.wait()
    return await services.tasks.get(principal, run.task_id)
