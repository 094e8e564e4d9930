"""Every error a person may see declares its code and HTTP status on its class; `public_error`
reads them, so a new error class is answered right without being registered anywhere."""

from __future__ import annotations

import pytest

from sandbox_analyst.config import ConfigError
from sandbox_analyst.llm import LLMRateLimitError
from sandbox_analyst.sandbox import SandboxError, TooManySessionsError
from sandbox_analyst.service import (
    PUBLIC_ERROR_TYPES,
    NotFound,
    PublicError,
    ValidationError,
    public_error,
)


class SessionQuotaReached(SandboxError):
    """A new error class, as another part of the product would add one."""

    code = "session_quota_reached"
    http_status = 429


def every_subclass(cls: type) -> list[type]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += every_subclass(sub)
    return found


@pytest.mark.parametrize(
    "error_class",
    [cls for family in PUBLIC_ERROR_TYPES for cls in every_subclass(family)],
    ids=lambda cls: cls.__name__,
)
def test_every_error_class_declares_a_code_and_a_status(error_class: type) -> None:
    assert isinstance(error_class.code, str)
    assert error_class.code
    assert 400 <= error_class.http_status < 600


def test_service_errors_keep_their_message_and_field() -> None:
    error = public_error(ValidationError("title is too long", field="title"))

    assert error == PublicError("validation_error", 422, "title is too long", "title")
    assert public_error(NotFound("no such file")) == PublicError("not_found", 404, "no such file")


def test_errors_of_the_other_layers_are_answered_by_their_class() -> None:
    busy = public_error(TooManySessionsError(8))
    assert busy is not None
    assert (busy.code, busy.http_status) == ("too_many_sessions", 429)
    assert "limit 8" in busy.message
    limited = LLMRateLimitError(provider="openai", model="m", base_url=None, cause="slow down")
    assert public_error(limited) == PublicError("upstream_error", 429, str(limited))
    assert public_error(ConfigError("no such provider")) == PublicError(
        "config", 503, "no such provider"
    )


def test_a_new_error_class_needs_nothing_but_its_attributes() -> None:
    error = public_error(SessionQuotaReached("you have 3 sandboxes running; end one"))

    assert error == PublicError(
        "session_quota_reached", 429, "you have 3 sandboxes running; end one"
    )


def test_an_error_that_declares_nothing_is_not_shown() -> None:
    assert public_error(KeyError("secret internals")) is None
    assert public_error(SystemExit(3)) is None
