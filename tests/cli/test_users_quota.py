"""`analyst users quota NAME ...`: an admin sets a user's own quotas (a number, a size,
"unlimited", "default", `--clear`) and, with no option, sees them with today's use and when
each resets (a turn refused by a quota exits non-zero: tests/cli/test_chat.py)."""

from __future__ import annotations

import json

import pytest

from sandbox_analyst.cli.exit_codes import ExitCode


@pytest.fixture
def run(analyst):  # type: ignore[no-untyped-def]
    """`analyst` (tests/cli/conftest.py), with a user alice."""
    assert analyst("users", "create", "alice").exit_code == 0
    return analyst


def quotas_of(run, name: str = "alice") -> dict[str, dict]:  # type: ignore[no-untyped-def]
    shown = run("users", "quota", name, "--json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["user"] == name
    return {quota["name"]: quota for quota in document["quotas"]}


def test_quotas_are_set_shown_and_cleared(run) -> None:  # type: ignore[no-untyped-def]
    before = quotas_of(run)
    assert not any(quota["own"] for quota in before.values())
    assert before["turns_per_day"]["limit"] is None

    changed = run(
        "users",
        "quota",
        "alice",
        "--turns-per-day",
        "20",
        "--tokens-per-day",
        "unlimited",
        "--cpu-seconds-per-day",
        "90.5",
        "--storage",
        "2GB",
        "--sessions",
        "3",
    )

    assert changed.exit_code == 0, changed.output
    assert "turns_per_day" in changed.stdout
    quotas = quotas_of(run)
    assert {name: (q["limit"], q["own"]) for name, q in quotas.items()} == {
        "sessions": (3, True),
        "turns_per_day": (20, True),
        "tokens_per_day": (None, True),
        "cpu_seconds_per_day": (90.5, True),
        "storage_bytes": (2_000_000_000, True),
    }
    assert quotas["turns_per_day"]["used"] == 0
    assert quotas["turns_per_day"]["resets_at"].endswith("T00:00:00+00:00")
    assert quotas["storage_bytes"]["resets_at"] is None

    assert run("users", "quota", "alice", "--storage-bytes", "512MiB").exit_code == 0
    assert quotas_of(run)["storage_bytes"]["limit"] == 512 * 1024 * 1024
    assert run("users", "quota", "alice", "--sessions", "default").exit_code == 0
    assert quotas_of(run)["sessions"]["own"] is False
    assert quotas_of(run)["turns_per_day"]["limit"] == 20  # the others stay

    assert run("users", "quota", "alice", "--clear").exit_code == 0
    assert not any(quota["own"] for quota in quotas_of(run).values())


def test_the_table_shows_limits_use_and_resets(run) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "quota", "alice", "--turns-per-day", "7").exit_code == 0

    shown = run("users", "quota", "alice")

    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.stdout.splitlines() if "turns_per_day" in line)
    assert "7" in row
    assert "user" in row
    assert "T00:00:00" in row
    storage = next(line for line in shown.stdout.splitlines() if "storage_bytes" in line)
    assert "unlimited" in storage
    assert "delete files" in storage


@pytest.mark.parametrize(
    "option", [("--turns-per-day", "many"), ("--storage", "2 parsecs"), ("--sessions", "0")]
)
def test_bad_values_exit_with_usage_and_change_nothing(run, option: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    refused = run("users", "quota", "alice", *option)
    assert refused.exit_code == ExitCode.USAGE, refused.output
    assert option[0] in refused.output
    assert not any(quota["own"] for quota in quotas_of(run).values())


def test_an_unknown_user_is_named(run) -> None:  # type: ignore[no-untyped-def]
    refused = run("users", "quota", "nobody", "--turns-per-day", "1")
    assert refused.exit_code == ExitCode.FAILED
    assert "nobody" in refused.output
