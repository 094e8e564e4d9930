"""Property-based run of the OpenAPI document (schemathesis) against a live server on
127.0.0.1: whatever it generates, the server never answers 5xx."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from tests.api.conftest import bearer
from tests.conftest import LiveServer


async def _seed(app_settings: Settings) -> str:
    """A user with a key for the generated requests."""
    async with Services.running(app_settings) as services:
        user = await services.users.create_user("fuzzer")
        return (await services.users.create_key(user.id)).secret


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, str]]:
    # Module-scoped: one server for every generated case, on the test database in use
    # (PostgreSQL-only failures, like NUL characters in text, must show up too).
    tmp = tmp_path_factory.mktemp("fuzz")
    base = os.environ.get("ANALYST_TEST_DATABASE_URL")
    schema = f"fuzz_{uuid.uuid4().hex[:12]}"
    if base:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in base else "?"
        url = f"{base}{separator}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp / 'analyst.db'}"
    app_settings = Settings(data_dir=tmp / "data", database_url=url, server={"max_upload_mb": 1})
    key = asyncio.run(_seed(app_settings))
    server = LiveServer(app_settings)
    server.start()
    try:
        schema_doc = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
        yield schema_doc, server.base_url, key
    finally:
        server.stop()
        if base:
            with psycopg.connect(base, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(fuzz_target: tuple[Any, str, str], mode: GenerationMode) -> None:
    api_schema, base_url, key = fuzz_target
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
