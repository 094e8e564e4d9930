"""A failed call ends in a specific error naming provider, model, endpoint and cause."""

import socket

import pytest

from sandbox_analyst.llm import (
    LLMAuthError,
    LLMError,
    LLMModelNotFoundError,
    LLMUnavailableError,
)
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.llm.conftest import KINDS, QUESTION, collect


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_wrong_key_is_an_auth_error_and_is_not_retried(kind, fake, make_llm):
    fake.add_turns(Turn(text="never"))
    llm = make_llm(kind, api_key="wrong-key", max_retries=3)
    with pytest.raises(LLMAuthError) as caught:
        await collect(llm.stream(QUESTION))
    assert len(fake.model_requests) == 1
    assert caught.value.status_code == 401
    assert not caught.value.retryable
    message = str(caught.value)
    assert message.startswith(f"{kind} model 'test-model' at http://127.0.0.1:")
    assert "authentication failed (401)" in message


def test_the_error_message_reads_as_one_sentence():
    error = LLMAuthError(
        provider="openai",
        model="gpt-x",
        base_url="http://127.0.0.1:1234/v1",
        cause="authentication failed (401): invalid API key",
        status_code=401,
    )
    assert str(error) == (
        "openai model 'gpt-x' at http://127.0.0.1:1234/v1: "
        "authentication failed (401): invalid API key"
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_an_unknown_model_is_model_not_found(kind, make_llm):
    with FakeLLMServer([Turn(text="never")], models=["known-model"]) as fake:
        base_url = fake.openai_base_url if kind == "openai" else fake.anthropic_base_url
        llm = make_llm(kind, base_url=base_url, model="no-such-model")
        with pytest.raises(LLMModelNotFoundError, match="no-such-model") as caught:
            await collect(llm.stream(QUESTION))
    assert caught.value.model == "no-such-model"
    assert len(fake.model_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_an_unreachable_server_is_unavailable_naming_the_url(kind, make_llm):
    url = f"http://127.0.0.1:{closed_port()}"
    llm = make_llm(kind, base_url=f"{url}/v1" if kind == "openai" else url, max_retries=1)
    with pytest.raises(LLMUnavailableError, match="unreachable") as caught:
        await collect(llm.stream(QUESTION))
    assert url in str(caught.value)
    assert caught.value.retryable


@pytest.mark.parametrize("kind", KINDS)
async def test_the_timeout_is_honoured(kind, fake, make_llm):
    fake.add_turns(Turn(text="too late", chunk_delay=30))
    llm = make_llm(kind, timeout=0.3, max_retries=0)
    with pytest.raises(LLMUnavailableError, match=r"0\.3 s timeout"):
        await collect(llm.stream(QUESTION))


@pytest.mark.parametrize("kind", KINDS)
async def test_an_exhausted_script_fails_clearly_instead_of_hanging(kind, fake, make_llm):
    with pytest.raises(LLMError, match="script exhausted"):
        await collect(make_llm(kind, max_retries=0).stream(QUESTION))


@pytest.mark.parametrize("kind", KINDS)
async def test_a_refused_request_is_a_bad_request_error(kind, fake, make_llm):
    fake.add_turns(Turn(error_status=400, error_message="context too long"))
    with pytest.raises(LLMError, match="bad request \\(400\\): context too long") as caught:
        await collect(make_llm(kind).stream(QUESTION))
    assert not caught.value.retryable
    assert len(fake.model_requests) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_cut_short_is_an_error_not_a_short_answer(kind, fake, make_llm):
    fake.add_turns(Turn(text="The mean is 4.5 and the median", drop_after=4))
    with pytest.raises(LLMUnavailableError, match="ended before the model finished"):
        await collect(make_llm(kind).stream(QUESTION))
