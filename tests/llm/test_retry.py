"""Retries: exponential backoff with jitter, Retry-After honoured, only before the first event."""

import pytest

from sandbox_analyst.llm import LLMRateLimitError, LLMUnavailableError, RetryPolicy, TextDelta
from sandbox_analyst.llm.retry import parse_retry_after
from sandbox_analyst.testing import Turn
from tests.llm.conftest import KINDS, QUESTION, collect


def test_backoff_doubles_with_jitter_up_to_the_cap():
    policy = RetryPolicy(max_retries=5, backoff=1.0, max_delay=3.0)
    for retry, ceiling in [(0, 1.0), (1, 2.0), (2, 3.0), (5, 3.0)]:
        delays = {policy.delay(retry) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


def test_retry_after_from_the_server_wins_over_backoff():
    policy = RetryPolicy(backoff=10.0)
    assert policy.delay(0, retry_after=0.25) == 0.25


def test_retry_after_headers_in_seconds_milliseconds_and_dates():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) < 0
    assert parse_retry_after({}) is None


@pytest.mark.parametrize("kind", KINDS)
async def test_429_with_retry_after_then_success(kind, fake, make_llm):
    fake.add_turns(Turn(text="done", error_status=429, error_times=2, retry_after=0.01))
    events = await collect(make_llm(kind, max_retries=3).stream(QUESTION))
    assert events[0] == TextDelta("done")
    assert len(fake.model_requests) == 3


@pytest.mark.parametrize("kind", KINDS)
async def test_server_errors_twice_then_success(kind, fake, make_llm):
    fake.add_turns(Turn(text="done", error_status=500, error_times=2))
    events = await collect(make_llm(kind, max_retries=2).stream(QUESTION))
    assert events[0] == TextDelta("done")
    assert len(fake.model_requests) == 3


@pytest.mark.parametrize("kind", KINDS)
async def test_rate_limit_retries_exhausted_names_provider_and_model(kind, fake, make_llm):
    fake.add_turns(Turn(text="never", error_status=429, error_times=10, retry_after=0))
    with pytest.raises(LLMRateLimitError) as caught:
        await collect(make_llm(kind, max_retries=2, model="big-model").stream(QUESTION))
    assert len(fake.model_requests) == 3
    assert str(caught.value).startswith(f"{kind} model 'big-model' at http://127.0.0.1:")
    assert "429" in str(caught.value)
    assert caught.value.status_code == 429


@pytest.mark.parametrize("kind", KINDS)
async def test_server_error_retries_exhausted(kind, fake, make_llm):
    fake.add_turns(Turn(error_status=503, error_times=10, error_message="overloaded, sorry"))
    with pytest.raises(LLMUnavailableError, match="overloaded, sorry") as caught:
        await collect(make_llm(kind, max_retries=1).stream(QUESTION))
    assert caught.value.provider == kind
    assert caught.value.model == "test-model"
    assert len(fake.model_requests) == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_no_retry_once_an_event_was_yielded(kind, fake, make_llm):
    # The server goes silent mid-stream, after the first text: retrying would repeat that text.
    fake.add_turns(Turn(text="one two three", hang_after=3), Turn(text="unused"))
    llm = make_llm(kind, max_retries=3, timeout=1.0)
    events = llm.stream(QUESTION)
    assert isinstance(await anext(events), TextDelta)
    with pytest.raises(LLMUnavailableError, match="timeout"):
        await collect(events)
    assert len(fake.model_requests) == 1
