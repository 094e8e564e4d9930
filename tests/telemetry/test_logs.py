"""Log lines as text or JSON, with the request's and the turn's ids from the context."""

from __future__ import annotations

import io
import json
import logging

from sandbox_analyst.telemetry import context
from sandbox_analyst.telemetry.logs import configure_logging
from tests.fixtures.logs import logging_into

log = logging.getLogger("sandbox_analyst.tests.logs")


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_carry_the_ids_of_the_current_request_and_turn() -> None:
    with logging_into("json") as stream:
        log.info("outside")
        request = context.request_id.set("req-1")
        turn = context.turn_id.set("turn-1")
        try:
            log.info("inside %d", 2, extra={"status": "complete", "tokens": 15})
        finally:
            context.turn_id.reset(turn)
            context.request_id.reset(request)
        log.debug("not at INFO")

    outside, inside = (json.loads(line) for line in lines(stream))
    assert outside["message"] == "outside"
    assert "request_id" not in outside
    assert outside["level"] == "info"
    assert outside["logger"] == "sandbox_analyst.tests.logs"
    assert inside["message"] == "inside 2"
    assert (inside["request_id"], inside["turn_id"]) == ("req-1", "turn-1")
    assert (inside["status"], inside["tokens"]) == ("complete", 15)
    assert inside["time"].endswith("+00:00")


def test_an_exception_is_one_json_line_with_its_traceback() -> None:
    with logging_into("json") as stream:
        try:
            raise ValueError("broken")
        except ValueError:
            log.exception("it failed")

    (line,) = lines(stream)
    record = json.loads(line)
    assert record["level"] == "error"
    assert "ValueError: broken" in record["exception"]


def test_text_lines_name_the_ids_at_the_end() -> None:
    with logging_into("text") as stream:
        token = context.turn_id.set("turn-7")
        try:
            log.warning("careful")
        finally:
            context.turn_id.reset(token)
        log.warning("plain")

    first, second = lines(stream)
    assert first.endswith("WARNING sandbox_analyst.tests.logs: careful [turn=turn-7]")
    assert second.endswith("WARNING sandbox_analyst.tests.logs: plain")


def test_configuring_again_replaces_the_handler() -> None:
    with logging_into("text") as first:
        second = io.StringIO()
        configure_logging("json", "INFO", stream=second)
        log.info("once")

    assert first.getvalue() == ""
    assert [json.loads(line)["message"] for line in lines(second)] == ["once"]


def test_request_logging_libraries_are_quiet_below_warnings() -> None:
    with logging_into("json") as stream:
        logging.getLogger("httpx").info("HTTP Request: GET https://example.invalid/?key=1")

    assert stream.getvalue() == ""
