"""`analyst usage`: per user, from the server's database; a bad --since is a usage error."""

from __future__ import annotations

import json

from sandbox_analyst.config import Settings
from tests.cli.conftest import stored_conversation


def test_usage_as_json_names_each_user(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_conversation(settings)

    result = analyst("usage", "--json")
    only = analyst("usage", "--user", "alice", "--since", "2020-01-01")
    table = analyst("usage")

    assert result.exit_code == 0, result.output
    (alice,) = json.loads(result.stdout)
    assert (alice["name"], alice["turns"], alice["executions"]) == ("alice", 1, 1)
    assert json.loads(analyst("usage", "--json", "--user", "alice").stdout)[0]["turns"] == 1
    assert only.exit_code == 0
    assert "alice" in table.stdout


def test_a_bad_date_and_an_unknown_user_are_errors(analyst, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    stored_conversation(settings)

    assert analyst("usage", "--since", "yesterday").exit_code == 2
    unknown = analyst("usage", "--user", "nobody")
    assert unknown.exit_code == 1
    assert "no user named 'nobody'" in unknown.output
