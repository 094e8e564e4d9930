"""Property-based run of the OpenAPI document (schemathesis) against a live server on
127.0.0.1: whatever it generates, the server never answers 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.api.conftest import SharedServer, bearer


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(shared_server: SharedServer, mode: GenerationMode) -> None:
    base_url = shared_server.server.base_url
    key = shared_server.keys["fuzzer"]
    api_schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_5xx(case: Any) -> None:
            response = case.call(base_url=base_url, headers=bearer(key), timeout=30)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:500]}"
            )

        try:
            no_5xx()
        except Unsatisfiable:
            # An operation without inputs (GET /api/health) has no invalid variants.
            assert mode is GenerationMode.NEGATIVE
