"""The Prometheus form of the measurements: events become samples, a failing listener costs
nothing else, and the shipped Grafana dashboard asks only for metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sandbox_analyst.telemetry import (
    ExecutionFinished,
    LLMCallFinished,
    TelemetryEvent,
    emit,
    prometheus,
    subscribe,
    unsubscribe,
)
from tests.fixtures.metrics import value

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"


def exposition(state: prometheus.LiveState | None = None) -> str:
    state = state or prometheus.LiveState(lambda: 3, lambda: {"default": 2, "nlp": 1}, lambda: 1)
    body, _ = prometheus.render(prometheus.app_registry(state), None)
    return body.decode()


def test_events_become_samples_and_live_state_is_read_at_scrape_time() -> None:
    prometheus.install()
    before = exposition()
    emit(ExecutionFinished("local", "python", "code", "ok", 0.2, 300 * 1024 * 1024))
    emit(LLMCallFinished("openai", "gpt-x", "ok", 1.5, 0.25, 120, 30))
    after = exposition()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    execution = {"backend": "local", "language": "python", "purpose": "code", "outcome": "ok"}
    assert moved("analyst_executions_total", **execution) == 1
    assert moved("analyst_execution_peak_memory_bytes_bucket", backend="local", le="+Inf") == 1
    assert (
        moved("analyst_execution_peak_memory_bytes_bucket", backend="local", le="2.68435456e+08")
        == 0
    )
    assert (
        moved("analyst_llm_tokens_total", provider="openai", model="gpt-x", direction="input")
        == 120
    )
    assert moved("analyst_llm_first_token_seconds_sum", provider="openai", model="gpt-x") == 0.25
    assert value(after, "analyst_sessions_live") == 3
    assert value(after, "analyst_sandbox_pool_ready", template="nlp") == 1
    assert value(after, "analyst_turns_running") == 1


def test_a_failing_listener_does_not_stop_the_others() -> None:
    seen: list[TelemetryEvent] = []

    def broken(event: TelemetryEvent) -> None:
        raise RuntimeError("a bug in a listener")

    subscribe(broken)
    subscribe(seen.append)
    try:
        emit(ExecutionFinished("local", "python", "code", "ok", 0.1, None))
    finally:
        unsubscribe(broken)
        unsubscribe(seen.append)

    assert len(seen) == 1


def test_the_grafana_dashboard_asks_only_for_metrics_that_exist() -> None:
    names = set()
    for family in text_string_to_metric_families(exposition()):
        names.update(sample.name for sample in family.samples)
        # A histogram with no observation yet has no samples: its families still count.
        names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count", "_total"))
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]

    used = {name for expr in exprs for name in re.findall(r"\banalyst_[a-z_]+", expr)}
    assert used, "the dashboard has no queries"
    assert used <= names, sorted(used - names)
