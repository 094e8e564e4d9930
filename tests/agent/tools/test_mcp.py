"""The names MCP tools are offered under: `mcp__<server>__<tool>`, within what the model
providers accept (`^[a-zA-Z0-9_-]{1,64}$`), two long names kept apart."""

from __future__ import annotations

import re

import pytest

from sandbox_analyst.agent.tools import builtin_tools, coding_tools, offered_name

PROVIDER_RULE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@pytest.mark.parametrize(
    ("server", "tool", "expected"),
    [
        ("rates", "lookup_rate", "mcp__rates__lookup_rate"),
        ("search", "web.search", "mcp__search__web_search"),
        ("kb", "vector search/v2", "mcp__kb__vector_search_v2"),
        ("kb", "résumé", "mcp__kb__r_sum_"),
    ],
)
def test_a_tool_is_offered_under_its_server_and_name(server: str, tool: str, expected: str) -> None:
    assert offered_name(server, tool) == expected


def test_long_names_fit_the_providers_rule_and_stay_apart() -> None:
    first = offered_name("a" * 60, "t" * 80 + "1")
    second = offered_name("a" * 60, "t" * 80 + "2")

    assert PROVIDER_RULE.match(first)
    assert PROVIDER_RULE.match(second)
    assert first != second


def test_no_built_in_tool_can_clash() -> None:
    for name in [*builtin_tools().names(), *coding_tools().names()]:
        assert not name.startswith("mcp__")
