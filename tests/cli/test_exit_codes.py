"""What `analyst` exits with: the codes scripts rely on, and the code an error calls for, from
the HTTP status its class declares."""

from __future__ import annotations

import pytest

from sandbox_analyst.cli.exit_codes import ExitCode, exit_code_for
from sandbox_analyst.sandbox import SandboxStartError, TooManySessionsError
from sandbox_analyst.service import Conflict, NotFound, Unauthorized, ValidationError


def test_the_codes_scripts_rely_on() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 130]
    assert ExitCode.INTERRUPTED == 128 + 2  # SIGINT, as shells report it


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (Conflict("a user named alice exists"), ExitCode.FAILED),
        (NotFound("no such user"), ExitCode.FAILED),
        (ValidationError("bad name", field="name"), ExitCode.FAILED),
        (Unauthorized("that key was revoked"), ExitCode.UNAVAILABLE),
        (TooManySessionsError(4), ExitCode.UNAVAILABLE),
        (SandboxStartError("the zygote died"), ExitCode.UNAVAILABLE),
        (RuntimeError("a bug"), ExitCode.FAILED),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value.name,
)
def test_an_error_picks_its_code_from_its_status(error: Exception, code: ExitCode) -> None:
    assert exit_code_for(error) is code
